// What others shared with the caller (GET /shares/incoming): items and albums, whose they are, what the grant
// allows and until when. An item opens read-only in the item view unless its grant allows `edit`; an album opens
// read-only (#/shared/albums/<id>, sharing_routes.ts), and its items open in the item view through the album's grant.

import { Api, ApiError, MediaPage, Permission, Share, SharedResource } from "./api";
import { cardPicture, h } from "./dom";
import { downloadButton } from "./download";
import { messageStatus, moreButton, PagedList } from "./paging";

/** An item shared with the caller: the grant it came through and the owner's name. */
export interface SharedAccess {
  share: Share;
  ownerName: string;
}

const INCOMING_PAGES = 20;
const ALBUM_ITEM_PAGES = 10;

/** The caller's incoming grants by item, and the names of the people behind them. */
export class SharedDirectory {
  private readonly grants = new Map<string, Share>();
  // Albums shared with the caller, by album id: their grants reach the items in them.
  private readonly albumGrants = new Map<string, Share>();

  constructor(private readonly api: Api) {}

  /** Forget what was fetched (the shared page is being reloaded: new grants, new names). */
  reset(): void {
    this.grants.clear();
    this.albumGrants.clear();
  }

  remember(resource: SharedResource): void {
    if (resource.media) this.grants.set(resource.media.media_id, resource.share);
    else if (resource.share.resource_type === "album") this.albumGrants.set(resource.share.resource_id, resource.share);
  }

  /** The owner's username (listings of what is shared with the caller carry it), else a short form of their id. */
  async ownerName(share: Share): Promise<string> {
    return share.owner_name ?? `user ${share.owner_id.slice(0, 8)}`;
  }

  /** The grant an item is shared through, looked up in the incoming pages when this page did not list it. */
  async access(mediaId: string): Promise<SharedAccess | null> {
    let share = this.grants.get(mediaId);
    let cursor: string | null = null;
    for (let page = 0; !share && page < INCOMING_PAGES; page += 1) {
      const listing = await this.api.listIncoming(cursor, 100);
      for (const resource of listing.items) this.remember(resource);
      share = this.grants.get(mediaId);
      cursor = listing.next_cursor;
      if (!cursor) break;
    }
    share ??= await this.throughAlbum(mediaId);
    return share ? { share, ownerName: await this.ownerName(share) } : null;
  }

  /** The grant of a shared album holding the item (its grant is the item's), looked up album by album. */
  private async throughAlbum(mediaId: string): Promise<Share | undefined> {
    for (const [albumId, share] of this.albumGrants) {
      if (share.status !== "active") continue;
      let cursor: string | null = null;
      try {
        for (let page = 0; page < ALBUM_ITEM_PAGES; page += 1) {
          const query = new URLSearchParams({ limit: "100" });
          if (cursor) query.set("cursor", cursor);
          const listing: MediaPage = await this.api.call("GET", `/albums/${encodeURIComponent(albumId)}/items?${query.toString()}`);
          for (const media of listing.items) if (media.media_id === mediaId) return share;
          cursor = listing.next_cursor;
          if (!cursor) break;
        }
      } catch {
        // An album that is gone (or no longer shared) holds nothing: look in the next one.
      }
    }
    return undefined;
  }
}

const PERMISSION_LABEL: Record<Permission, string> = {
  view: "View",
  download: "Download",
  edit: "Edit",
  reshare: "Reshare",
};

/** "Expires …" or "No expiry", from a grant. */
export function expiryText(share: Share): string {
  if (share.status === "expired") return "Expired";
  return share.expires_at ? `Expires ${new Date(share.expires_at).toLocaleString()}` : "No expiry";
}

/** The permissions a grant gives, as words, in the order they build on each other (the API sorts by name). */
export function permissionsText(share: Share): string {
  return (Object.keys(PERMISSION_LABEL) as Permission[])
    .filter((p) => share.permissions.includes(p))
    .map((p) => PERMISSION_LABEL[p])
    .join(", ");
}

/** The read-only page of an album shared with the caller. */
export function sharedAlbumHref(albumId: string): string {
  return `#/shared/albums/${encodeURIComponent(albumId)}`;
}

/** The item page of an item shared with the caller (directly, or in a shared album). */
export function sharedMediaHref(mediaId: string): string {
  return `#/shared/media/${encodeURIComponent(mediaId)}`;
}

function sharedCard(api: Api, resource: SharedResource, ownerName: string): HTMLLIElement {
  const { share, media, album } = resource;
  const terms = h(
    "span",
    { class: "shared-terms" },
    h("span", { class: "owner" }, `From ${ownerName}`),
    h("span", { class: "permissions" }, permissionsText(share)),
    h("span", { class: `expiry${share.status === "expired" ? " expired" : ""}` }, expiryText(share)),
  );
  if (media) {
    const name = media.title || media.filename;
    const picture = cardPicture(media.renditions.thumbnail, name, media.kind);
    return h(
      "li",
      { class: "card shared", "data-media-id": media.media_id, "data-share-id": share.share_id },
      h(
        "a",
        { href: sharedMediaHref(media.media_id), "aria-label": `${name}, shared by ${ownerName}` },
        picture,
        h("span", { class: "card-title" }, name),
      ),
      terms,
      share.permissions.includes("download") && share.status === "active" ? downloadButton(api, media.media_id, name) : null,
    );
  }
  const title = album?.title ?? "Album";
  const count = album?.item_count ?? 0;
  return h(
    "li",
    { class: "card shared album", "data-album-id": share.resource_id, "data-share-id": share.share_id },
    h(
      "a",
      {
        href: sharedAlbumHref(share.resource_id),
        class: "album-face",
        "aria-label": `Album ${title}, ${count} item${count === 1 ? "" : "s"}, shared by ${ownerName}`,
      },
      cardPicture(album?.cover?.renditions.thumbnail, title, "album"),
      h("span", { class: "card-title" }, title),
      h("span", { class: "badge" }, `Album · ${count} item${count === 1 ? "" : "s"}`),
    ),
    terms,
  );
}

/** The "Shared with me" page: newest grant first, "Load more" (and scrolling) through next_cursor. */
export class SharedView {
  readonly root: HTMLElement;
  private readonly pages: PagedList<{ resource: SharedResource; ownerName: string }>;

  constructor(
    private readonly api: Api,
    private readonly directory: SharedDirectory,
  ) {
    const grid = h("ul", { class: "grid", "aria-label": "Shared with me", "aria-busy": "false" });
    const message = h("p", { class: "message", role: "status" });
    const more = moreButton();
    this.root = h(
      "section",
      { class: "shared-with-me", "aria-labelledby": "shared-heading" },
      h("h1", { id: "shared-heading" }, "Shared with me"),
      h("p", {}, "Photos, videos and albums other people shared with you, newest share first."),
      message,
      grid,
      more,
    );
    this.pages = new PagedList({
      list: grid,
      more,
      status: messageStatus(message, (error) => (error instanceof ApiError ? error.display : String(error))),
      fetch: async (cursor) => {
        const page = await this.api.listIncoming(cursor);
        const owners = await Promise.all(page.items.map((r) => this.directory.ownerName(r.share)));
        return { items: page.items.map((resource, i) => ({ resource, ownerName: owners[i] ?? "" })), next_cursor: page.next_cursor };
      },
      render: ({ resource, ownerName }) => {
        this.directory.remember(resource);
        return sharedCard(this.api, resource, ownerName);
      },
      doneText: (count) => (count === 0 ? "Nothing is shared with you yet." : ""),
      infiniteScroll: true,
    });
  }

  dispose(): void {
    this.pages.dispose();
  }

  async reload(): Promise<void> {
    this.directory.reset();
    await this.pages.reload();
  }
}
