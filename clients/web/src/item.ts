// One item: its preview (a player for videos), what the API knows about it, a download of the original, and an edit
// form for title, description and tags. Its owner also gets the versions of the original, the trash, and AI
// descriptions. An item shared with the caller shows its grant, and only what the grant allows.

import { Api, ApiError, Media } from "./api";
import { formatBytes, h, replaceChildren } from "./dom";
import { downloadButton } from "./download";
import { ItemApi, ItemMedia } from "./item_api";
import { DescriptionPanel } from "./item_describe";
import { askFirst, statusLine, VersionsPanel } from "./item_versions";
import { shareButton } from "./share_dialog";
import { expiryText, permissionsText, type SharedAccess, type SharedDirectory } from "./shared";
import { SharingApi } from "./sharing_api";

function facts(media: Media): [string, string][] {
  const rows: [string, string][] = [
    ["File name", media.filename],
    ["Status", media.failure_reason ? `${media.status} (${media.failure_reason})` : media.status],
    ["Type", media.content_type],
    ["Size", formatBytes(media.size)],
  ];
  if (media.width && media.height) rows.push(["Dimensions", `${media.width} × ${media.height}`]);
  if (media.taken_at) rows.push(["Taken", media.taken_at]);
  rows.push(["Uploaded", new Date(media.created_at).toLocaleString()]);
  for (const [name, value] of Object.entries(media.metadata)) {
    if (value === null || typeof value === "object") continue;
    rows.push([name.replace(/_/g, " "), String(value)]);
  }
  return rows;
}

/** A still, or for a video a player: its web MP4 when processing made one, else the original when it may be fetched. */
function picture(api: Api, media: Media, name: string, mayDownload: boolean): HTMLElement {
  const preview = media.renditions.preview;
  if (media.kind === "video" && media.status === "ready") {
    const poster = media.renditions.poster;
    const web = media.renditions.web;
    if (web || mayDownload) {
      const player = h(
        "video",
        {
          class: "player",
          controls: true,
          preload: "metadata",
          poster: poster?.url,
          src: web?.url,
          width: web?.width ?? poster?.width,
          height: web?.height ?? poster?.height,
          "aria-label": `Video: ${name}`,
        },
        "Your browser cannot play this video; download it instead.",
      );
      // A browser-ready original gets no web MP4 of its own: play the original through a short-lived link.
      if (!web) {
        api.downloadLink(media.media_id).then(
          (link) => player.setAttribute("src", link.url),
          (error: unknown) => player.after(h("p", { role: "alert", class: "error" }, error instanceof ApiError ? error.display : String(error))),
        );
      }
      return player;
    }
    if (poster) return h("img", { class: "preview", src: poster.url, alt: name, width: poster.width, height: poster.height });
  }
  return preview
    ? h("img", { class: "preview", src: preview.url, alt: name, width: preview.width, height: preview.height })
    : h("p", { class: "preview-missing" }, media.status === "ready" ? "No preview." : `No preview yet (${media.status}).`);
}

/** What the picture shows: its renditions' paths (signed URLs differ on every read) and the item's state. */
function pictureKey(media: ItemMedia): string {
  const paths = Object.entries(media.renditions).map(([name, r]) => `${name}=${r.url.split("?")[0]}`);
  return [media.status, String(Boolean(media.trashed_at)), ...paths.sort()].join(" ");
}

export class ItemView {
  readonly root: HTMLElement;
  private media: ItemMedia | null = null;
  private access: SharedAccess | null = null;
  private readonly items: ItemApi;
  // Kept across renders, so their work in progress (an upload, a description on its way) survives a refresh.
  private versions: VersionsPanel | null = null;
  private description: DescriptionPanel | null = null;
  private readonly trashStatus = statusLine("form-status trash-status");

  /** `shared`: the item is opened from "Shared with me", and shown as its grant allows. */
  constructor(
    private readonly api: Api,
    private readonly mediaId: string,
    private readonly shared: SharedDirectory | null = null,
  ) {
    this.root = h("section", { class: "item", "aria-labelledby": "item-heading" }, h("p", { role: "status" }, "Loading…"));
    this.items = new ItemApi(api);
  }

  async load(): Promise<void> {
    try {
      const [media, access] = await Promise.all([this.items.get(this.mediaId), this.shared?.access(this.mediaId)]);
      if (this.shared && !access) throw new Error("This item is not shared with you any more.");
      this.access = access ?? null;
      // Versions, the trash and descriptions are the owner's: a grant never allows them (the API checks again).
      if (!this.access) {
        // An admin sees anyone's versions, but only the owner makes or restores one (the API answers 404).
        const own = media.owner_id === this.api.userId;
        this.versions = new VersionsPanel(this.items, media, (changed) => this.render(changed), own);
        void this.versions.load();
      }
      this.description = new DescriptionPanel(this.items, media, !this.access);
      this.render(media);
    } catch (error) {
      replaceChildren(
        this.root,
        h("h1", { id: "item-heading" }, "Item"),
        h("p", { role: "alert", class: "error" }, error instanceof ApiError ? error.display : String(error instanceof Error ? error.message : error)),
        this.backLink(),
      );
    }
  }

  private render(media: ItemMedia): void {
    const previous = this.media;
    this.media = media;
    const name = media.title || media.filename;
    const trashed = Boolean(media.trashed_at);
    const dl = h("dl", { class: "facts" });
    const access = this.access;
    if (access) {
      dl.append(
        h("dt", {}, "Owner"),
        h("dd", { class: "owner" }, access.ownerName),
        h("dt", {}, "You may"),
        h("dd", {}, permissionsText(access.share)),
        h("dt", {}, "Shared until"),
        h("dd", {}, expiryText(access.share)),
      );
    }
    for (const [term, value] of facts(media)) dl.append(h("dt", {}, term), h("dd", {}, value));
    // The owner may do everything; a grantee only what the grant allows (the API checks again).
    // A trashed item is its owner's alone, and only to restore or delete (the API answers 409 to the rest).
    const may = (permission: "download" | "edit" | "reshare"): boolean =>
      !trashed && (!access || (access.share.status === "active" && access.share.permissions.includes(permission)));
    this.versions?.update(media);
    this.description?.update(media);
    // The player is kept while the same rendition plays, so a refresh (a description arriving) does not stop it.
    const figure = this.root.querySelector<HTMLElement>("figure.item-picture");
    const samePicture = figure && previous && pictureKey(previous) === pictureKey(media);
    const describable = !access || Boolean(media.ai_description?.text);
    const focused = document.activeElement;
    replaceChildren(
      this.root,
      this.backLink("← "),
      h("h1", { id: "item-heading" }, name),
      trashed ? h("p", { class: "trashed-state", role: "note" }, `In the trash since ${new Date(media.trashed_at ?? "").toLocaleString()}.`) : null,
      samePicture ? figure : h("figure", { class: "item-picture" }, picture(this.api, media, name, may("download"))),
      h(
        "p",
        { class: "actions" },
        may("download") ? downloadButton(this.api, media.media_id, name) : null,
        may("reshare") && (access || media.owner_id === this.api.userId) ? shareButton(new SharingApi(this.api), { kind: "media", id: media.media_id }, name) : null,
      ),
      access ? null : this.ownerActions(media, name),
      h("h2", {}, "Details"),
      dl,
      describable && this.description ? this.description.root : null,
      may("edit") ? this.editForm(media) : null,
      this.versions?.root,
    );
    // Kept panels were moved, which drops their focus: give it back (a keyboard user uploading a version).
    if (focused instanceof HTMLElement && focused !== document.activeElement && this.root.contains(focused)) focused.focus();
  }

  /** Move to the trash; for a trashed item, restore or delete for good (after a confirmation). */
  private ownerActions(media: ItemMedia, name: string): HTMLElement {
    const box = h("div", { class: "owner-actions", role: "group", "aria-label": "Trash" });
    if (media.trashed_at) {
      const restore = h("button", { type: "button", class: "restore", "aria-label": `Restore ${name} from the trash` }, "Restore from trash");
      restore.addEventListener("click", () => void this.trashAction(restore, "Restored from the trash.", () => this.items.restore(media.media_id)));
      const purge = h("button", { type: "button", "aria-label": `Delete ${name} forever` }, "Delete forever");
      purge.addEventListener("click", () =>
        askFirst(purge, `Delete ${name} and every version of it for good? This cannot be undone.`, "Delete forever", () => void this.purge(purge)),
      );
      box.append(restore, purge);
    } else {
      const trash = h("button", { type: "button", class: "trash", "aria-label": `Move ${name} to the trash` }, "Move to trash");
      trash.addEventListener("click", () =>
        void this.trashAction(trash, "Moved to the trash.", async () => {
          await this.items.trash(media.media_id);
          return this.items.get(media.media_id);
        }),
      );
      box.append(trash);
    }
    box.append(this.trashStatus.el);
    return box;
  }

  private async trashAction(button: HTMLButtonElement, done: string, act: () => Promise<ItemMedia>): Promise<void> {
    button.disabled = true;
    this.trashStatus.say("");
    try {
      this.render(await act());
      this.trashStatus.say(done);
      // The button pressed is gone: focus its opposite, so the keyboard stays where the person works.
      this.root.querySelector<HTMLButtonElement>(".owner-actions button")?.focus();
    } catch (error) {
      this.trashStatus.fail(error);
      button.disabled = false;
    }
  }

  private async purge(button: HTMLButtonElement): Promise<void> {
    if (!this.media) return;
    button.disabled = true;
    this.trashStatus.say("Deleting…");
    try {
      await this.items.purge(this.media.media_id);
      window.location.hash = "#/";
    } catch (error) {
      this.trashStatus.fail(error);
      button.disabled = false;
    }
  }

  private backLink(arrow = ""): HTMLAnchorElement {
    return this.shared
      ? h("a", { href: "#/shared", class: "back" }, `${arrow}Back to Shared with me`)
      : h("a", { href: "#/", class: "back" }, `${arrow}Back to the library`);
  }

  private editForm(media: ItemMedia): HTMLFormElement {
    const status = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
    const form = h(
      "form",
      { class: "edit", "aria-labelledby": "edit-heading" },
      h("h2", { id: "edit-heading" }, "Edit"),
      h("div", { class: "field" }, h("label", { for: "edit-title" }, "Title"), h("input", { id: "edit-title", name: "title", value: media.title, maxlength: 200 })),
      h(
        "div",
        { class: "field" },
        h("label", { for: "edit-description" }, "Description"),
        h("textarea", { id: "edit-description", name: "description", rows: 3 }, media.description),
      ),
      h(
        "div",
        { class: "field" },
        h("label", { for: "edit-tags" }, "Tags"),
        h("input", { id: "edit-tags", name: "tags", value: media.tags.join(", "), "aria-describedby": "edit-tags-hint" }),
        h("small", { id: "edit-tags-hint" }, "Separate tags with commas."),
      ),
      h("button", { type: "submit" }, "Save changes"),
      status,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.save(form, status);
    });
    return form;
  }

  private async save(form: HTMLFormElement, status: HTMLElement): Promise<void> {
    if (!this.media) return;
    const data = new FormData(form);
    const tags = String(data.get("tags") ?? "")
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean);
    const button = form.querySelector("button");
    button?.setAttribute("disabled", "");
    status.setAttribute("role", "status");
    status.className = "form-status";
    status.textContent = "Saving…";
    try {
      const saved = (await this.api.editMedia(this.media.media_id, {
        version: this.media.version,
        title: String(data.get("title") ?? ""),
        description: String(data.get("description") ?? ""),
        tags,
      })) as ItemMedia;
      this.render(saved);
      const after = this.root.querySelector<HTMLElement>(".form-status");
      if (after) after.textContent = "Saved.";
    } catch (error) {
      // The API's own words, e.g. a stale version's 409; the form keeps what was typed.
      status.setAttribute("role", "alert");
      status.className = "form-status error";
      status.textContent = error instanceof ApiError ? error.display : String(error);
    } finally {
      button?.removeAttribute("disabled");
    }
  }
}
