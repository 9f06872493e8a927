// One item: its preview, what the API knows about it, a download of the original, and an edit form for title,
// description and tags. An item shared with the caller shows its grant, and only what the grant allows.

import { Api, ApiError, Media } from "./api";
import { formatBytes, h, replaceChildren } from "./dom";
import { downloadButton } from "./download";
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

export class ItemView {
  readonly root: HTMLElement;
  private media: Media | null = null;
  private access: SharedAccess | null = null;

  /** `shared`: the item is opened from "Shared with me", and shown as its grant allows. */
  constructor(
    private readonly api: Api,
    private readonly mediaId: string,
    private readonly shared: SharedDirectory | null = null,
  ) {
    this.root = h("section", { class: "item", "aria-labelledby": "item-heading" }, h("p", { role: "status" }, "Loading…"));
  }

  async load(): Promise<void> {
    try {
      const [media, access] = await Promise.all([this.api.getMedia(this.mediaId), this.shared?.access(this.mediaId)]);
      if (this.shared && !access) throw new Error("This item is not shared with you any more.");
      this.access = access ?? null;
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

  private render(media: Media): void {
    this.media = media;
    const name = media.title || media.filename;
    const preview = media.renditions.preview;
    const picture = preview
      ? h("img", { class: "preview", src: preview.url, alt: name, width: preview.width, height: preview.height })
      : h("p", { class: "preview-missing" }, media.status === "ready" ? "No preview." : `No preview yet (${media.status}).`);
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
    const may = (permission: "download" | "edit" | "reshare"): boolean =>
      !access || (access.share.status === "active" && access.share.permissions.includes(permission));
    replaceChildren(
      this.root,
      this.backLink("← "),
      h("h1", { id: "item-heading" }, name),
      h("figure", {}, picture),
      h(
        "p",
        { class: "actions" },
        may("download") ? downloadButton(this.api, media.media_id, name) : null,
        may("reshare") ? shareButton(new SharingApi(this.api), { kind: "media", id: media.media_id }, name) : null,
      ),
      h("h2", {}, "Details"),
      dl,
      may("edit") ? this.editForm(media) : null,
    );
  }

  private backLink(arrow = ""): HTMLAnchorElement {
    return this.shared
      ? h("a", { href: "#/shared", class: "back" }, `${arrow}Back to Shared with me`)
      : h("a", { href: "#/", class: "back" }, `${arrow}Back to the library`);
  }

  private editForm(media: Media): HTMLFormElement {
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
      const saved = await this.api.editMedia(this.media.media_id, {
        version: this.media.version,
        title: String(data.get("title") ?? ""),
        description: String(data.get("description") ?? ""),
        tags,
      });
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
