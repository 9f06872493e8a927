// The partner pages (partners only): the media shared with the caller's organisation (GET /partner/media), and
// the organisation's analytics (analytics.ts). Items open read-only through Shared with me's item page, which
// knows the grant (GET /shares/incoming lists organisation grants to partners too).

import type { Api, SharedResource } from "./api";
import { ConsolePage, StatusLine } from "./admin";
import { AdminApi } from "./admin_api";
import { cardPicture, h } from "./dom";
import { downloadButton } from "./download";
import { moreButton, PagedList } from "./paging";
import { expiryText, permissionsText } from "./shared";

function partnerCard(api: Api, resource: SharedResource): HTMLLIElement | null {
  const { share, media, album } = resource;
  const terms = h(
    "span",
    { class: "shared-terms" },
    h("span", { class: "permissions" }, permissionsText(share)),
    h("span", { class: `expiry${share.status === "expired" ? " expired" : ""}` }, expiryText(share)),
  );
  if (!media) {
    const title = album?.title ?? "Album";
    return h(
      "li",
      { class: "card shared album", "data-album-id": share.resource_id },
      h("div", { class: "album-face" }, h("span", { class: "card-title" }, title), h("span", { class: "badge" }, `Album · ${album?.item_count ?? 0} items`)),
      terms,
    );
  }
  const name = media.title || media.filename;
  return h(
    "li",
    { class: "card shared", "data-media-id": media.media_id, "data-share-id": share.share_id },
    h(
      "a",
      { href: `#/shared/media/${encodeURIComponent(media.media_id)}`, "aria-label": name },
      cardPicture(media.renditions.thumbnail, name, media.kind),
      h("span", { class: "card-title" }, name),
    ),
    terms,
    share.permissions.includes("download") && share.status === "active" ? downloadButton(api, media.media_id, name) : null,
  );
}

/** Media shared with the organisation, newest grant first, "Load more" through next_cursor. */
export class PartnerMediaView implements ConsolePage {
  readonly root: HTMLElement;
  private readonly pages: PagedList<SharedResource>;

  constructor(
    private readonly api: Api,
    private readonly admin: AdminApi,
  ) {
    const grid = h("ul", { class: "grid", "aria-label": "Shared with your organisation", "aria-busy": "false" });
    const status = new StatusLine();
    const more = moreButton();
    this.root = h(
      "section",
      { class: "partner-page", "aria-labelledby": "partner-heading" },
      h("h1", { id: "partner-heading" }, "Partner media"),
      h("p", {}, "Photos, videos and albums shared with your organisation, newest share first."),
      status.el,
      grid,
      more,
    );
    this.pages = new PagedList({
      list: grid,
      more,
      status,
      fetch: (cursor) => this.admin.partnerMedia(cursor),
      render: (resource) => partnerCard(this.api, resource),
      doneText: (count) => (count === 0 ? "Nothing is shared with your organisation yet." : ""),
    });
  }

  load(): Promise<void> {
    return this.pages.reload();
  }
}
