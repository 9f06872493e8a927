// The console's shell: configuration, sign-in, and hash routes (#/ the library, #/media/<id> an item,
// #/shared what others shared with me, #/shared/media/<id> one of those items, #/account export and erasure). Share emails link to #/shared.
// Albums, My shares, Notifications and the public link page (#/l/<token>, no sign-in) are in sharing_routes.ts.
// The admin (#/admin/<section>) and partner (#/partner[/analytics]) pages are in role_routes.ts.

import { AccountView } from "./account";
import { Api } from "./api";
import { Session } from "./auth";
import { loadConfig } from "./config";
import { h, replaceChildren } from "./dom";
import { ItemView } from "./item";
import { LibraryView } from "./library";
import { RolePages } from "./role_routes";
import { SharedDirectory, SharedView } from "./shared";
import { anonymousLinkPage, linkToken, SharingPages } from "./sharing_routes";
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
    // The public link page (#/l/<token>) is for anyone holding the link: no sign-in.
    if (linkToken(window.location.hash) !== null) anonymousLinkPage(config.apiUrl, header, main, () => signInScreen(session));
    // A reload keeps no tokens: a live identity-server session signs the person back in without a page.
    else if (!(await session.trySilentSignIn().catch(() => false))) signInScreen(session);
    return;
  }
  session.onExpired = (reason) => signInScreen(session, reason);

  const api = new Api(config.apiUrl, session);
  const uploads = new UploadTracker(api);
  const shared = new SharedDirectory(api);
  const signOut = h("button", { type: "button" }, "Sign out");
  signOut.addEventListener("click", () => void session.signOut());
  const unread = h("span", { class: "unread-badge", hidden: true });
  const sharing = new SharingPages(api, config.apiUrl, (count) => showUnread(count));
  const roles = new RolePages(api, config.apiUrl, session);
  const links = {
    library: h("a", { href: "#/" }, "Library"),
    shared: h("a", { href: "#/shared" }, "Shared with me", unread),
    account: h("a", { href: "#/account" }, "Account"),
  };
  replaceChildren(
    header,
    h("a", { href: "#/", class: "brand" }, "Media Vault"),
    h("nav", { "aria-label": "Console" }, links.library, links.shared, ...sharing.nav, ...roles.nav, links.account),
    h("span", { class: "who" }, `Signed in as ${session.username}`),
    signOut,
  );
  const showUnread = (count: number): void => {
    unread.hidden = count === 0;
    unread.textContent = count > 99 ? "99+" : String(count);
    unread.setAttribute("aria-label", `${count} unread notification${count === 1 ? "" : "s"}`);
    sharing.showUnread(count);
  };
  const refreshUnread = (): void => {
    api.listNotifications(null, 1, true).then(
      (page) => showUnread(page.unread_count),
      () => showUnread(0), // the badge is a hint: the pages themselves report errors
    );
  };

  let current: { dispose(): void } | null = null;
  const route = (): void => {
    if (window.location.hash === "#main") {
      main.focus(); // the skip link is not a route
      return;
    }
    current?.dispose();
    current = null;
    const hash = window.location.hash;
    const item = /^#\/(shared\/)?media\/([^/]+)$/.exec(hash);
    const onShared = hash === "#/shared" || hash.startsWith("#/shared/");
    links.library.toggleAttribute("aria-current", !onShared);
    links.shared.toggleAttribute("aria-current", onShared);
    links.account.toggleAttribute("aria-current", hash === "#/account");
    if (hash === "#/account") {
      const view = new AccountView(api, session.userId, session.username, () => void session.signOut());
      current = view;
      links.library.removeAttribute("aria-current");
      replaceChildren(main, view.root);
      void view.load();
      return;
    }
    const rolePage = roles.route(hash, main);
    if (rolePage) {
      current = rolePage;
      for (const link of [links.library, ...sharing.nav]) link.removeAttribute("aria-current");
      return;
    }
    const sharingPage = sharing.route(hash, main);
    if (sharingPage) {
      current = sharingPage;
      links.library.removeAttribute("aria-current");
      if (!hash.startsWith("#/notifications")) refreshUnread();
      return;
    }
    if (item) {
      const view = new ItemView(api, decodeURIComponent(item[2] ?? ""), item[1] ? shared : null);
      replaceChildren(main, view.root);
      void view.load().then(() => main.focus());
      refreshUnread();
    } else if (hash === "#/shared") {
      const view = new SharedView(api, shared);
      current = view;
      replaceChildren(main, view.root);
      // Seeing the page is reading what was shared: the badge clears.
      void view.reload().then(() => api.markAllNotificationsRead().then((r) => showUnread(r.unread_count), refreshUnread));
    } else {
      const view = new LibraryView(api, uploads);
      current = view;
      replaceChildren(main, view.root);
      void view.reload();
      refreshUnread();
    }
  };
  window.addEventListener("hashchange", route);
  if (returnTo && returnTo !== window.location.hash) window.location.hash = returnTo;
  else route();
}

start().catch((error: unknown) => showError(error instanceof Error ? error.message : String(error)));
