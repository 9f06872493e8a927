// The library's bulk actions on the selected items: add tags, move to the trash, add to an album (or a new one),
// and share (the share dialog grants every selected item to the same person or organisation, one grant each).
// Every item is its own request, a few at a time; the summary counts what worked and quotes the API's message
// for what did not.

import type { Api, Media } from "./api";
import { h, replaceChildren } from "./dom";
import { ShareDialog } from "./share_dialog";
import { errorText, type OwnedAlbum, SharingApi } from "./sharing_api";

// Requests in flight at once: enough to feel quick, few enough not to swamp a small API.
const CONCURRENCY = 4;
// POST /albums/{id}/items takes at most this many ids (shared/domain/albums.py MAX_ADD).
const ALBUM_ADD_MAX = 50;
const ALBUM_PAGES = 10;
const NEW_ALBUM = "__new__";

/** What the bar needs from the grid: the selection in grid order, and ways to change it and refresh the grid. */
export interface SelectionSource {
  selected(): Media[];
  selectAllShown(): void;
  clear(): void;
  /** Reload the grid (the selection is cleared with it). */
  reload(): Promise<void>;
}

type Outcome = { ok: true } | { ok: false; message: string };
type Summary = { text: string; failed: boolean };

/** Run `work` on every item, at most CONCURRENCY at a time; one outcome per item, in order. */
async function settle<T>(items: T[], work: (item: T) => Promise<unknown>): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array<Outcome>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      try {
        await work(items[index] as T);
        outcomes[index] = { ok: true };
      } catch (error) {
        outcomes[index] = { ok: false, message: errorText(error) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
  return outcomes;
}

/** "2 tagged, 1 failed: <the API's message>", and whether anything failed. */
function summary(outcomes: Outcome[], done: string): Summary {
  const ok = outcomes.filter((o) => o.ok).length;
  const messages = [...new Set(outcomes.flatMap((o) => (o.ok ? [] : [o.message])))];
  const failed = outcomes.length - ok;
  const text = failed === 0 ? `${ok} ${done}.` : `${ok} ${done}, ${failed} failed: ${messages.join("; ")}`;
  return { text, failed: failed > 0 };
}

function parseTags(text: string): string[] {
  return text
    .split(",")
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean);
}

/** The bar above the grid: the selection's size, select all / clear, and the actions. */
export class BulkBar {
  readonly root: HTMLElement;
  private readonly count: HTMLElement;
  private readonly status: HTMLElement;
  private readonly actions: HTMLButtonElement[];
  private readonly shareButton: HTMLButtonElement;
  private readonly albumSelect: HTMLSelectElement;
  private readonly newAlbumField: HTMLElement;
  private readonly sharing: SharingApi;
  private albumsLoaded = false;
  private busy = false;
  private selectedCount = 0;

  constructor(
    private readonly api: Api,
    private readonly source: SelectionSource,
  ) {
    this.sharing = new SharingApi(api);
    this.count = h("p", { class: "bulk-count", "aria-live": "polite" }, "No items selected.");
    this.status = h("p", { class: "form-status bulk-status", role: "status", "aria-live": "polite", tabindex: -1 });

    const selectAll = h("button", { type: "button" }, "Select all shown");
    selectAll.addEventListener("click", () => source.selectAllShown());
    const clear = h("button", { type: "button" }, "Clear selection");
    clear.addEventListener("click", () => source.clear());

    const tagInput = h("input", { id: "bulk-tags", name: "tags", autocomplete: "off", "aria-describedby": "bulk-tags-hint" });
    const tagButton = h("button", { type: "submit" }, "Add tags");
    const tagForm = h(
      "form",
      { class: "bulk-tags", "aria-label": "Add tags to the selected items" },
      h("div", { class: "field" }, h("label", { for: "bulk-tags" }, "Tags to add"), tagInput, h("small", { id: "bulk-tags-hint" }, "Separate tags with commas.")),
      tagButton,
    );
    tagForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const tags = parseTags(tagInput.value);
      if (tags.length === 0) {
        this.say("Type at least one tag to add.", true);
        return;
      }
      void this.run((items) => this.addTags(items, tags)).then((ok) => {
        if (ok) tagInput.value = "";
      });
    });

    // Filled from GET /albums when something is first selected; "New album…" is always last.
    this.albumSelect = h("select", { id: "bulk-album", name: "album" }, h("option", { value: "" }, "Select items first"));
    const newTitle = h("input", { id: "bulk-album-title", name: "title", maxlength: 200, autocomplete: "off" });
    this.newAlbumField = h("div", { class: "field", hidden: true }, h("label", { for: "bulk-album-title" }, "New album title"), newTitle);
    this.albumSelect.addEventListener("change", () => {
      this.newAlbumField.hidden = this.albumSelect.value !== NEW_ALBUM;
    });
    const albumButton = h("button", { type: "submit" }, "Add to album");
    const albumForm = h(
      "form",
      { class: "bulk-album", "aria-label": "Add the selected items to an album" },
      h("div", { class: "field" }, h("label", { for: "bulk-album" }, "Album"), this.albumSelect),
      this.newAlbumField,
      albumButton,
    );
    albumForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!this.albumSelect.value) {
        this.say("Choose an album (the list is still loading).", true);
        return;
      }
      void this.run((items) => this.addToAlbum(items, this.albumSelect.value, newTitle.value.trim())).then((ok) => {
        if (ok) newTitle.value = "";
      });
    });

    const trash = h("button", { type: "button", class: "bulk-trash" }, "Move to trash");
    trash.addEventListener("click", () => void this.run((items) => this.trash(items)));

    this.shareButton = h("button", { type: "button", "aria-haspopup": "dialog", "aria-describedby": "bulk-share-hint" }, "Share…");
    this.shareButton.addEventListener("click", () => this.share());

    this.actions = [clear, tagButton, albumButton, trash];
    this.root = h(
      "section",
      { class: "bulk-bar", "aria-label": "Selected items" },
      h("div", { class: "bulk-selection" }, this.count, selectAll, clear),
      h(
        "div",
        { class: "bulk-actions" },
        tagForm,
        albumForm,
        trash,
        h("div", { class: "field" }, this.shareButton, h("small", { id: "bulk-share-hint" }, "Share every selected item with a person or an organisation.")),
      ),
      this.status,
    );
    this.update(0);
  }

  /** The selection changed: its size, and which actions it allows. */
  update(count: number): void {
    this.selectedCount = count;
    this.count.textContent = count === 0 ? "No items selected." : `${count} selected.`;
    for (const button of this.actions) button.disabled = this.busy || count === 0;
    this.shareButton.disabled = this.busy || count === 0;
    if (count > 0 && !this.albumsLoaded) void this.loadAlbums();
  }

  private say(text: string, isError = false): void {
    this.status.setAttribute("role", isError ? "alert" : "status");
    this.status.className = isError ? "form-status bulk-status error" : "form-status bulk-status";
    this.status.textContent = text;
  }

  /** Run an action on the selection, refresh the grid, then say how it went; true when nothing failed. */
  private async run(action: (items: Media[]) => Promise<Summary>): Promise<boolean> {
    const items = this.source.selected();
    if (this.busy || items.length === 0) return false;
    this.busy = true;
    this.update(this.selectedCount);
    this.say("Working…");
    let outcome: Summary;
    try {
      outcome = await action(items);
      await this.source.reload();
    } catch (error) {
      outcome = { text: errorText(error), failed: true };
    } finally {
      this.busy = false;
    }
    this.update(this.selectedCount);
    this.say(outcome.text, outcome.failed);
    // The focused control may be gone (a card) or disabled now (an empty selection): keep the keyboard on the outcome.
    const active = document.activeElement;
    if (!active || active === document.body || (active instanceof HTMLButtonElement && active.disabled)) this.status.focus();
    return !outcome.failed;
  }

  /** Each item's tags plus the new ones, sent at the item's current version (a change made meanwhile is a 409). */
  private async addTags(items: Media[], tags: string[]): Promise<Summary> {
    const outcomes = await settle(items, async (item) => {
      const current = await this.api.getMedia(item.media_id);
      const merged = [...current.tags, ...tags.filter((t) => !current.tags.includes(t))];
      await this.api.editMedia(item.media_id, { version: current.version, tags: merged });
    });
    return summary(outcomes, "tagged");
  }

  private async trash(items: Media[]): Promise<Summary> {
    const outcomes = await settle(items, (item) => this.api.call("DELETE", `/media/${encodeURIComponent(item.media_id)}`));
    return summary(outcomes, "moved to the trash");
  }

  /** Add in grid order, ALBUM_ADD_MAX at a time; a refused batch counts each of its items as failed. */
  private async addToAlbum(items: Media[], choice: string, newTitle: string): Promise<Summary> {
    let albumId = choice;
    let title = this.albumSelect.selectedOptions[0]?.textContent ?? "";
    if (choice === NEW_ALBUM) {
      const album = await this.sharing.createAlbum(newTitle, "");
      albumId = album.album_id;
      title = album.title;
      this.albumsLoaded = false; // list it next time
    }
    const batches: Media[][] = [];
    for (let i = 0; i < items.length; i += ALBUM_ADD_MAX) batches.push(items.slice(i, i + ALBUM_ADD_MAX));
    const outcomes: Outcome[] = [];
    for (const batch of batches) {
      let result: Outcome = { ok: true };
      try {
        await this.sharing.addToAlbum(albumId, batch.map((m) => m.media_id));
      } catch (error) {
        result = { ok: false, message: errorText(error) };
      }
      outcomes.push(...batch.map(() => result));
    }
    return summary(outcomes, `added to ${title}`);
  }

  private share(): void {
    const items = this.source.selected();
    if (items.length === 0) return;
    const dialog = new ShareDialog(
      this.sharing,
      items.map((item) => ({ resource: { kind: "media" as const, id: item.media_id }, name: item.title || item.filename })),
    );
    dialog.root.addEventListener("close", () => this.shareButton.focus());
    dialog.open();
  }

  private async loadAlbums(): Promise<void> {
    this.albumsLoaded = true;
    if (!this.albumSelect.value) replaceChildren(this.albumSelect, h("option", { value: "" }, "Loading albums…"));
    const albums: OwnedAlbum[] = [];
    try {
      let cursor: string | null = null;
      for (let page = 0; page < ALBUM_PAGES; page += 1) {
        const listing = await this.sharing.albums(cursor, 100);
        albums.push(...listing.items);
        cursor = listing.next_cursor;
        if (!cursor) break;
      }
    } catch (error) {
      this.albumsLoaded = false;
      this.say(errorText(error), true); // a new album can still be made
    }
    // Keep what was chosen when it is still there; at first, the newest album.
    const chosen = this.albumSelect.value;
    replaceChildren(
      this.albumSelect,
      ...albums.map((album) => h("option", { value: album.album_id, selected: album.album_id === chosen }, album.title)),
      h("option", { value: NEW_ALBUM, selected: chosen === NEW_ALBUM }, "New album…"),
    );
    this.newAlbumField.hidden = this.albumSelect.value !== NEW_ALBUM;
  }
}
