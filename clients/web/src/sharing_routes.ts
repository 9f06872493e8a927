// The sharing pages' routes and header links, kept out of main.ts: #/albums, #/albums/<id>, #/shared/albums/<id>
// (an album shared with the caller, read-only), #/shares/outgoing, #/notifications, and #/l/<token> (the public link page, which needs no sign-in: see anonymousLinkPage).

import type { Api } from "./api";
import { AlbumsView, AlbumView } from "./albums";
import { h, replaceChildren } from "./dom";
import { LinkPage } from "./link_page";
import { MySharesView } from "./my_shares";
import { NotificationsView } from "./notifications";
import { LinkClient, SharingApi } from "./sharing_api";

interface View {
  dispose(): void;
}

/** The album id of a shared-album route (#/shared/albums/<id>), else null. */
export function sharedAlbumId(hash: string): string | null {
  const match = /^#\/shared\/albums\/([^/?#]+)$/.exec(hash);
  return match ? decodeURIComponent(match[1] ?? "") : null;
}

/** The token of a link-page route (#/l/<token>), else null. */
export function linkToken(hash: string): string | null {
  const match = /^#\/l\/([^/?#]+)$/.exec(hash);
  return match ? decodeURIComponent(match[1] ?? "") : null;
}

/** The link page for someone not signed in: a plain header, and only this page (leaving it asks to sign in). */
export function anonymousLinkPage(apiUrl: string, header: HTMLElement, main: HTMLElement, onLeave: () => void): void {
  replaceChildren(header, h("span", { class: "brand" }, "Media Vault"));
  const links = new LinkClient(apiUrl);
  const show = (): void => {
    const token = linkToken(window.location.hash);
    if (window.location.hash === "#main") return main.focus();
    if (token === null) {
      window.removeEventListener("hashchange", show);
      onLeave();
      return;
    }
    const page = new LinkPage(links, token);
    replaceChildren(main, page.root);
    void page.load().then(() => main.focus());
  };
  window.addEventListener("hashchange", show);
  show();
}

/** The signed-in sharing pages: their header links and their routes. */
export class SharingPages {
  readonly nav: HTMLAnchorElement[];
  private readonly sharing: SharingApi;
  private readonly links: LinkClient;
  private readonly badge: HTMLElement;

  constructor(
    api: Api,
    apiUrl: string,
    private readonly onUnread: (count: number) => void,
  ) {
    this.sharing = new SharingApi(api);
    this.links = new LinkClient(apiUrl);
    this.badge = h("span", { class: "count-badge", hidden: true });
    this.nav = [
      h("a", { href: "#/albums", "data-section": "albums" }, "Albums"),
      h("a", { href: "#/shares/outgoing", "data-section": "shares" }, "My shares"),
      h("a", { href: "#/notifications", "data-section": "notifications" }, "Notifications", this.badge),
    ];
  }

  /** The unread count on the Notifications link (main.ts's count, which it also shows on Shared with me). */
  showUnread(count: number): void {
    this.badge.hidden = count === 0;
    this.badge.textContent = count > 99 ? "99+" : String(count);
    this.badge.setAttribute("aria-label", `${count} unread`);
  }

  /** Open the page of a hash, if it is one of these; null otherwise. */
  route(hash: string, main: HTMLElement): View | null {
    const section = hash.startsWith("#/albums") ? "albums" : hash === "#/shares/outgoing" ? "shares" : hash === "#/notifications" ? "notifications" : "";
    for (const a of this.nav) a.toggleAttribute("aria-current", a.dataset.section === section);
    const album = /^#\/albums\/([^/]+)$/.exec(hash);
    const token = linkToken(hash);
    if (token !== null) return this.show(main, new LinkPage(this.links, token), (v) => v.load());
    if (album) return this.show(main, new AlbumView(this.sharing, decodeURIComponent(album[1] ?? "")), (v) => v.load());
    const sharedAlbum = sharedAlbumId(hash);
    if (sharedAlbum !== null) return this.show(main, new AlbumView(this.sharing, sharedAlbum, true), (v) => v.load());
    if (hash === "#/albums") return this.show(main, new AlbumsView(this.sharing), (v) => v.reload());
    if (hash === "#/shares/outgoing") return this.show(main, new MySharesView(this.sharing), (v) => v.reload());
    if (hash === "#/notifications") {
      return this.show(main, new NotificationsView(this.sharing, this.onUnread), (v) => v.reload());
    }
    return null;
  }

  private show<V extends View & { root: HTMLElement }>(main: HTMLElement, view: V, load: (view: V) => Promise<void>): V {
    replaceChildren(main, view.root);
    void load(view).then(() => main.focus());
    return view;
  }
}
