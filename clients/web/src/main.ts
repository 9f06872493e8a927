// The console's shell: configuration, sign-in, and hash routes (#/ the library, #/media/<id> an item).

import { Api } from "./api";
import { Session } from "./auth";
import { loadConfig } from "./config";
import { h, replaceChildren } from "./dom";
import { ItemView } from "./item";
import { LibraryView } from "./library";
import { UploadTracker } from "./uploads";

const main = document.getElementById("main") as HTMLElement;
const header = document.getElementById("top") as HTMLElement;

function showError(text: string): void {
  replaceChildren(main, h("h1", {}, "Media Vault"), h("p", { role: "alert", class: "error" }, text));
}

function signInScreen(session: Session, note?: string): void {
  replaceChildren(header, h("span", { class: "brand" }, "Media Vault"));
  const button = h("button", { type: "button", class: "primary" }, "Sign in");
  button.addEventListener("click", () => void session.signIn().catch((e: Error) => showError(e.message)));
  replaceChildren(
    main,
    h("h1", {}, "Media Vault"),
    note ? h("p", { role: "alert", class: "error" }, note) : null,
    h("p", {}, "Your photos and videos, private until you share them."),
    button,
  );
  button.focus();
}

async function start(): Promise<void> {
  const config = await loadConfig();
  const session = new Session(config);
  let returnTo: string | null = null;
  try {
    returnTo = await session.completeSignIn();
  } catch (error) {
    signInScreen(session, error instanceof Error ? error.message : String(error));
    return;
  }
  if (!session.signedIn) {
    signInScreen(session);
    return;
  }
  session.onExpired = (reason) => signInScreen(session, reason);

  const api = new Api(config.apiUrl, session);
  const uploads = new UploadTracker(api);
  const signOut = h("button", { type: "button" }, "Sign out");
  signOut.addEventListener("click", () => void session.signOut());
  replaceChildren(
    header,
    h("a", { href: "#/", class: "brand" }, "Media Vault"),
    h("span", { class: "who" }, `Signed in as ${session.username}`),
    signOut,
  );

  let library: LibraryView | null = null;
  const route = (): void => {
    if (window.location.hash === "#main") {
      main.focus(); // the skip link is not a route
      return;
    }
    library?.dispose();
    library = null;
    const item = /^#\/media\/([^/]+)$/.exec(window.location.hash);
    if (item) {
      const view = new ItemView(api, decodeURIComponent(item[1] ?? ""));
      replaceChildren(main, view.root);
      void view.load().then(() => main.focus());
    } else {
      const view = new LibraryView(api, uploads);
      library = view;
      replaceChildren(main, view.root);
      void view.reload();
    }
  };
  window.addEventListener("hashchange", route);
  if (returnTo && returnTo !== window.location.hash) window.location.hash = returnTo;
  else route();
}

start().catch((error: unknown) => showError(error instanceof Error ? error.message : String(error)));
