// The library: a grid of thumbnails, newest first, with filters and infinite scroll ("Load more"). Each tile paints
// its BlurHash first and fades the thumbnail in over it; tiles have checkboxes for the bulk actions (bulk.ts).

import { Api, ApiError, LibraryFilters, Media } from "./api";
import { blurHashCanvas } from "./blurhash";
import { BulkBar } from "./bulk";
import { cardPicture, h } from "./dom";
import { messageStatus, moreButton, PagedList } from "./paging";
import type { UploadTracker } from "./uploads";

const STATUS_LABEL: Record<string, string> = {
  pending: "Pending",
  processing: "Processing",
  ready: "Ready",
  failed: "Failed",
  rejected: "Rejected",
};

/** The thumbnail over its BlurHash (shown until the thumbnail has loaded), else the plain card picture. */
function tilePicture(media: Media, name: string): HTMLElement {
  const thumbnail = media.renditions.thumbnail;
  const picture = cardPicture(thumbnail, name, media.kind);
  const canvas = thumbnail && media.placeholder ? blurHashCanvas(media.placeholder, thumbnail.width / thumbnail.height) : null;
  if (!canvas || !(picture instanceof HTMLImageElement)) return picture;
  const reveal = (): void => picture.classList.add("loaded");
  if (picture.complete && picture.naturalWidth > 0) reveal();
  else picture.addEventListener("load", reveal, { once: true });
  return h("div", { class: "thumb" }, canvas, picture);
}

/** A tile: the item's link and, when `select` is given, a checkbox choosing it for the bulk actions. */
export function mediaCard(media: Media, select?: { checked: boolean; onChange: (checked: boolean) => void }): HTMLLIElement {
  const name = media.title || media.filename;
  let checkbox: HTMLInputElement | null = null;
  if (select) {
    const box = h("input", { type: "checkbox", class: "select", "aria-label": `Select ${name}`, checked: select.checked });
    box.addEventListener("change", () => select.onChange(box.checked));
    checkbox = box;
  }
  return h(
    "li",
    { class: select?.checked ? "card selected" : "card", "data-media-id": media.media_id, "data-status": media.status },
    checkbox,
    h(
      "a",
      { href: `#/media/${encodeURIComponent(media.media_id)}`, "aria-label": `${name}, ${STATUS_LABEL[media.status] ?? media.status}` },
      tilePicture(media, name),
      h("span", { class: "card-title" }, name),
      h("span", { class: `badge status-${media.status}` }, STATUS_LABEL[media.status] ?? media.status),
    ),
  );
}

const SORTS: [string, string][] = [
  ["created-desc", "Newest upload first"],
  ["created-asc", "Oldest upload first"],
  ["taken-desc", "Newest taken first"],
  ["taken-asc", "Oldest taken first"],
];

function dateField(id: string, label: string, value: string | undefined): HTMLElement {
  return h("div", { class: "field" }, h("label", { for: id }, label), h("input", { id, name: id, type: "date", value: value ?? "" }));
}

function select(id: string, label: string, options: [string, string][], value: string): HTMLElement {
  const el = h("select", { id, name: id });
  for (const [optionValue, text] of options) el.append(h("option", { value: optionValue, selected: optionValue === value }, text));
  return h("div", { class: "field" }, h("label", { for: id }, label), el);
}

export class LibraryView {
  readonly root: HTMLElement;
  private readonly grid: HTMLUListElement;
  private readonly message: HTMLElement;
  private readonly cards = new Map<string, HTMLLIElement>();
  private readonly shown = new Map<string, Media>();
  private readonly selection = new Set<string>();
  private readonly bulk: BulkBar;
  private readonly pages: PagedList<Media>;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly api: Api,
    uploads: UploadTracker,
    private filters: LibraryFilters = {},
  ) {
    const form = h(
      "form",
      { class: "filters", role: "search", "aria-label": "Filter the library" },
      select("filter-type", "Type", [["", "All types"], ["image", "Photos"], ["video", "Videos"]], filters.type ?? ""),
      select(
        "filter-status",
        "Status",
        [["", "Any status"], ["pending", "Pending"], ["processing", "Processing"], ["ready", "Ready"], ["failed", "Failed"], ["rejected", "Rejected"]],
        filters.status ?? "",
      ),
      h("div", { class: "field" }, h("label", { for: "filter-q" }, "Search"), h("input", { id: "filter-q", name: "q", type: "search", value: filters.q ?? "", maxlength: 200 })),
      h("div", { class: "field" }, h("label", { for: "filter-tag" }, "Tag"), h("input", { id: "filter-tag", name: "tag", type: "text", value: filters.tag ?? "", maxlength: 50 })),
      dateField("filter-created-from", "Uploaded from", filters.createdFrom),
      dateField("filter-created-to", "Uploaded until", filters.createdTo),
      dateField("filter-taken-from", "Taken from", filters.takenFrom),
      dateField("filter-taken-to", "Taken until", filters.takenTo),
      select("filter-sort", "Sort", SORTS.map(([value, text]) => [value, text]), `${filters.sort ?? "created"}-${filters.order ?? "desc"}`),
      h("button", { type: "submit" }, "Apply filters"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const text = (name: string): string => String(data.get(name) ?? "").trim();
      const [sort, order] = text("filter-sort").split("-") as [LibraryFilters["sort"], LibraryFilters["order"]];
      this.filters = {
        type: text("filter-type") as LibraryFilters["type"],
        status: text("filter-status") as LibraryFilters["status"],
        q: text("q"),
        tag: text("tag"),
        createdFrom: text("filter-created-from"),
        createdTo: text("filter-created-to"),
        takenFrom: text("filter-taken-from"),
        takenTo: text("filter-taken-to"),
        sort,
        order,
      };
      void this.reload();
    });
    this.grid = h("ul", { class: "grid", "aria-label": "Your media", "aria-busy": "false" });
    this.message = h("p", { class: "message", role: "status" });
    const more = moreButton();
    this.bulk = new BulkBar(api, {
      selected: () => this.selected(),
      selectAllShown: () => this.setSelected([...this.cards.keys()], true),
      clear: () => this.setSelected([...this.selection], false),
      reload: () => this.reload(),
    });
    this.root = h(
      "section",
      { class: "library", "aria-labelledby": "library-heading" },
      h("h1", { id: "library-heading" }, "Library"),
      uploads.panel,
      form,
      this.bulk.root,
      this.message,
      this.grid,
      more,
    );
    this.pages = new PagedList({
      list: this.grid,
      more,
      status: {
        ...messageStatus(this.message, (error) => (error instanceof ApiError ? error.display : String(error))),
        // Shown, not announced: scrolling loads pages often.
        loading: (text) => {
          this.message.textContent = text;
          this.message.removeAttribute("role");
        },
      },
      fetch: (cursor) => this.api.listMedia(this.filters, cursor),
      render: (media) => this.place(media, "end"),
      doneText: (count) => (count === 0 ? "Nothing here yet: upload a photo or change the filters." : ""),
      infiniteScroll: true,
    });
    this.unsubscribe = uploads.subscribe((media) => this.show(media));
  }

  /** Stop listening (the view is being replaced). */
  dispose(): void {
    this.pages.dispose();
    this.unsubscribe();
  }

  async reload(): Promise<void> {
    this.cards.clear();
    this.shown.clear();
    this.selection.clear();
    this.bulk.update(0);
    await this.pages.reload();
  }

  /** The selected items, in grid order. */
  private selected(): Media[] {
    return [...this.grid.querySelectorAll<HTMLLIElement>(":scope > .card")].flatMap((card) => {
      const id = card.dataset.mediaId ?? "";
      return this.selection.has(id) ? (this.shown.get(id) ?? []) : [];
    });
  }

  private setSelected(ids: string[], checked: boolean): void {
    for (const id of ids) {
      if (checked) this.selection.add(id);
      else this.selection.delete(id);
      const card = this.cards.get(id);
      card?.classList.toggle("selected", checked);
      const box = card?.querySelector<HTMLInputElement>("input.select");
      if (box) box.checked = checked;
    }
    this.bulk.update(this.selection.size);
  }

  private matches(media: Media): boolean {
    if (this.filters.type && media.kind !== this.filters.type) return false;
    if (this.filters.status && media.status !== this.filters.status) return false;
    return !this.filters.q; // text matching is the API's: a fresh upload shows once it is reloaded
  }

  /** Show an item an upload created or advanced: replace its card, or add it first if it fits the filters. */
  private show(media: Media): void {
    if (this.cards.has(media.media_id) || this.matches(media)) {
      this.place(media, "start");
      if (this.cards.size > 0 && this.message.textContent?.startsWith("Nothing")) this.message.textContent = "";
    }
  }

  /** Replace an item's card, else add it first (`start`) or return it for the list to append (`end`). */
  private place(media: Media, where: "start" | "end"): HTMLLIElement | null {
    const id = media.media_id;
    const card = mediaCard(media, { checked: this.selection.has(id), onChange: (checked) => this.setSelected([id], checked) });
    const existing = this.cards.get(id);
    this.cards.set(id, card);
    this.shown.set(id, media);
    if (existing) existing.replaceWith(card);
    else if (where === "start") this.grid.prepend(card);
    else return card;
    return null;
  }
}
