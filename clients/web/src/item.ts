// One item: its preview, what the API knows about it, and an edit form for title, description and tags.

import { Api, ApiError, Media } from "./api";
import { formatBytes, h, replaceChildren } from "./dom";

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

  constructor(
    private readonly api: Api,
    private readonly mediaId: string,
  ) {
    this.root = h("section", { class: "item", "aria-labelledby": "item-heading" }, h("p", { role: "status" }, "Loading…"));
  }

  async load(): Promise<void> {
    try {
      this.render(await this.api.getMedia(this.mediaId));
    } catch (error) {
      replaceChildren(
        this.root,
        h("h1", { id: "item-heading" }, "Item"),
        h("p", { role: "alert", class: "error" }, error instanceof ApiError ? error.display : String(error)),
        h("a", { href: "#/" }, "Back to the library"),
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
    for (const [term, value] of facts(media)) dl.append(h("dt", {}, term), h("dd", {}, value));
    replaceChildren(
      this.root,
      h("a", { href: "#/", class: "back" }, "← Back to the library"),
      h("h1", { id: "item-heading" }, name),
      h("figure", {}, picture),
      h("h2", {}, "Details"),
      dl,
      this.editForm(media),
    );
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
