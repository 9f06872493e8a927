// Albums: the caller's albums (#/albums, create one), and one album (#/albums/<id>): its items in order, added
// from the library, moved up and down, removed, one chosen as cover; rename, delete and share it. Every change
// is sent at the album's version, so a change made elsewhere meanwhile answers the API's 409 message.
// The same view opens an album shared with the caller read-only (#/shared/albums/<id>): its items only, each
// linking to the shared item page.

import type { Api, Media } from "./api";
import { cardPicture, h, replaceChildren } from "./dom";
import { moreButton, PagedList } from "./paging";
import { shareButton } from "./share_dialog";
import { sharedMediaHref } from "./shared";
import { errorText, type OwnedAlbum, type SharingApi } from "./sharing_api";

const ALBUM_ITEM_PAGES = 10;

function thumbnailOf(media: Media, name: string): HTMLElement {
  return cardPicture(media.renditions.thumbnail, name, media.kind);
}

function albumCard(album: OwnedAlbum): HTMLLIElement {
  return h(
    "li",
    { class: "card album", "data-album-id": album.album_id },
    h(
      "a",
      { href: `#/albums/${encodeURIComponent(album.album_id)}`, "aria-label": `${album.title}, ${album.item_count} items` },
      cardPicture(album.cover?.renditions.thumbnail, "", "album"),
      h("span", { class: "card-title" }, album.title),
      h("span", { class: "badge" }, `${album.item_count} item${album.item_count === 1 ? "" : "s"}`),
    ),
  );
}

/** Shows an outcome in a status line: the API's message as an alert, anything else politely. */
function say(line: HTMLElement, text: string, isError = false): void {
  line.setAttribute("role", isError ? "alert" : "status");
  line.className = isError ? "form-status error" : "form-status";
  line.textContent = text;
}

/** #/albums: the caller's albums, newest first, and a form to create one. */
export class AlbumsView {
  readonly root: HTMLElement;
  private readonly pages: PagedList<OwnedAlbum>;

  constructor(private readonly sharing: SharingApi) {
    const status = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
    const form = h(
      "form",
      { class: "album-create", "aria-labelledby": "album-create-heading" },
      h("h2", { id: "album-create-heading" }, "New album"),
      h("div", { class: "field" }, h("label", { for: "album-new-title" }, "Title"), h("input", { id: "album-new-title", name: "title", maxlength: 200 })),
      h("div", { class: "field" }, h("label", { for: "album-new-description" }, "Description (optional)"), h("input", { id: "album-new-description", name: "description" })),
      h("button", { type: "submit", class: "primary" }, "Create album"),
      status,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(form);
      say(status, "Creating…");
      this.sharing.createAlbum(String(data.get("title") ?? ""), String(data.get("description") ?? "")).then(
        (album) => {
          window.location.hash = `#/albums/${encodeURIComponent(album.album_id)}`;
        },
        (error: unknown) => say(status, errorText(error), true),
      );
    });
    const grid = h("ul", { class: "grid", "aria-label": "Your albums", "aria-busy": "false" });
    const message = h("p", { class: "message", role: "status" });
    const more = moreButton();
    this.root = h(
      "section",
      { class: "albums", "aria-labelledby": "albums-heading" },
      h("h1", { id: "albums-heading" }, "Albums"),
      form,
      message,
      grid,
      more,
    );
    this.pages = new PagedList({
      list: grid,
      more,
      status: { say: (text) => say(message, text), fail: (error) => say(message, errorText(error), true) },
      fetch: (cursor) => this.sharing.albums(cursor),
      render: albumCard,
      doneText: (count) => (count === 0 ? "No albums yet." : ""),
    });
  }

  dispose(): void {}

  reload(): Promise<void> {
    return this.pages.reload();
  }
}

/** #/albums/<id>: one of the caller's albums; with `readOnly`, an album shared with the caller (its items only). */
export class AlbumView {
  readonly root: HTMLElement;
  private album: OwnedAlbum | null = null;
  private items: Media[] = [];
  private readonly status: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly picker: HTMLElement;
  private busy = false;

  constructor(
    private readonly sharing: SharingApi,
    private readonly albumId: string,
    private readonly readOnly = false,
  ) {
    this.status = h("p", { class: "form-status album-status", role: "status", "aria-live": "polite", tabindex: -1 });
    this.list = h("ol", { class: "album-items", "aria-label": "Items in this album" });
    this.picker = h("div", { class: "album-picker" });
    this.root = h("section", { class: "album", "aria-labelledby": "album-heading" }, h("p", { role: "status" }, "Loading…"));
  }

  dispose(): void {}

  private get api(): Api {
    return this.sharing.api;
  }

  async load(): Promise<void> {
    try {
      const [album, items] = await Promise.all([this.sharing.album(this.albumId), this.loadItems()]);
      this.album = album;
      this.items = items;
      this.render();
    } catch (error) {
      replaceChildren(
        this.root,
        h("h1", { id: "album-heading" }, "Album"),
        h("p", { role: "alert", class: "error" }, errorText(error)),
        this.readOnly ? h("a", { href: "#/shared", class: "back" }, "Back to Shared with me") : h("a", { href: "#/albums", class: "back" }, "Back to albums"),
      );
    }
  }

  private async loadItems(): Promise<Media[]> {
    const items: Media[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < ALBUM_ITEM_PAGES; page += 1) {
      const listing = await this.sharing.albumItems(this.albumId, cursor);
      items.push(...listing.items);
      cursor = listing.next_cursor;
      if (!cursor) break;
    }
    return items;
  }

  private render(): void {
    const album = this.album;
    if (!album) return;
    if (this.readOnly) {
      this.renderShared(album);
      return;
    }
    const deleteArea = h("div", { class: "danger" });
    const deleteButton = h("button", { type: "button" }, "Delete album");
    deleteButton.addEventListener("click", () => this.confirmDelete(deleteArea));
    replaceChildren(deleteArea, deleteButton);
    replaceChildren(
      this.root,
      h("a", { href: "#/albums", class: "back" }, "← Back to albums"),
      h("h1", { id: "album-heading" }, album.title),
      album.description ? h("p", { class: "album-description" }, album.description) : null,
      h("p", { class: "actions" }, shareButton(this.sharing, { kind: "album", id: album.album_id }, `album ${album.title}`)),
      this.status,
      h("h2", { id: "album-items-heading" }, `Items (${this.items.length})`),
      this.list,
      this.items.length === 0 ? h("p", { class: "message" }, "This album is empty: add items from your library below.") : null,
      this.addSection(),
      this.renameForm(album),
      deleteArea,
    );
    this.renderItems();
  }

  /** A shared album: what is in it, in order, nothing to change. */
  private renderShared(album: OwnedAlbum): void {
    const list = h(
      "ol",
      { class: "album-items shared-album-items", "aria-label": "Items in this album" },
      ...this.items.map((media) => {
        const name = media.title || media.filename;
        return h(
          "li",
          { class: "album-item", "data-media-id": media.media_id },
          h("a", { href: sharedMediaHref(media.media_id) }, thumbnailOf(media, name), h("span", { class: "card-title" }, name)),
        );
      }),
    );
    replaceChildren(
      this.root,
      h("a", { href: "#/shared", class: "back" }, "← Back to Shared with me"),
      h("h1", { id: "album-heading" }, album.title),
      album.description ? h("p", { class: "album-description" }, album.description) : null,
      h("p", { class: "shared-note" }, "Shared with you: you can look, not change it."),
      h("h2", { id: "album-items-heading" }, `Items (${this.items.length})`),
      list,
      this.items.length === 0 ? h("p", { class: "message" }, "Nothing in this album is shared with you yet.") : null,
    );
  }

  private renderItems(): void {
    const last = this.items.length - 1;
    replaceChildren(
      this.list,
      ...this.items.map((media, index) => {
        const name = media.title || media.filename;
        const button = (label: string, text: string, action: () => Promise<unknown>, disabled = false): HTMLButtonElement => {
          const b = h("button", { type: "button", "aria-label": `${label} ${name}`, disabled }, text);
          b.addEventListener("click", () => void this.change(action, `${label}: done.`, b));
          return b;
        };
        const isCover = this.album?.cover_media_id === media.media_id;
        return h(
          "li",
          { class: "album-item", "data-media-id": media.media_id },
          h("a", { href: `#/media/${encodeURIComponent(media.media_id)}` }, thumbnailOf(media, name), h("span", { class: "card-title" }, name)),
          isCover ? h("span", { class: "badge" }, "Cover") : null,
          h(
            "span",
            { class: "item-actions" },
            button("Move up", "↑ Up", () => this.move(index, index - 1), index === 0),
            button("Move down", "↓ Down", () => this.move(index, index + 1), index === last),
            button("Set as cover", "Cover", () => this.edit({ cover_media_id: media.media_id }), isCover),
            button("Remove", "Remove", () => this.sharing.removeFromAlbum(this.albumId, media.media_id)),
          ),
        );
      }),
    );
  }

  /** Move the item at `from` to position `to`: the API puts an item right after another (or first). */
  private move(from: number, to: number): Promise<unknown> {
    const album = this.album;
    const item = this.items[from];
    if (!album || !item) return Promise.resolve();
    const rest = this.items.filter((_, i) => i !== from);
    const after = to === 0 ? null : (rest[to - 1]?.media_id ?? null);
    return this.sharing.moveInAlbum(this.albumId, item.media_id, after, album.version);
  }

  private edit(changes: { title?: string; description?: string; cover_media_id?: string | null }): Promise<unknown> {
    if (!this.album) return Promise.resolve();
    return this.sharing.editAlbum(this.albumId, { version: this.album.version, ...changes });
  }

  /** Run a change, then show the album as the API now has it; the API's message if it refused. */
  private async change(action: () => Promise<unknown>, done: string, focusAfter?: HTMLElement): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const label = focusAfter?.getAttribute("aria-label");
    say(this.status, "Saving…");
    try {
      await action();
      const [album, items] = await Promise.all([this.sharing.album(this.albumId), this.loadItems()]);
      this.album = album;
      this.items = items;
      this.render();
      say(this.status, done);
      // Keep the keyboard where it was: the same button of the (re-rendered) item, else the status line.
      if (label) {
        const again = [...this.root.querySelectorAll<HTMLButtonElement>("button")].find((b) => b.getAttribute("aria-label") === label && !b.disabled);
        (again ?? this.status).focus();
      }
    } catch (error) {
      say(this.status, errorText(error), true);
    } finally {
      this.busy = false;
    }
  }

  private renameForm(album: OwnedAlbum): HTMLFormElement {
    const form = h(
      "form",
      { class: "edit album-rename", "aria-labelledby": "album-rename-heading" },
      h("h2", { id: "album-rename-heading" }, "Rename"),
      h("div", { class: "field" }, h("label", { for: "album-title" }, "Album title"), h("input", { id: "album-title", name: "title", value: album.title, maxlength: 200 })),
      h(
        "div",
        { class: "field" },
        h("label", { for: "album-description" }, "Album description"),
        h("textarea", { id: "album-description", name: "description", rows: 2 }, album.description),
      ),
      h("button", { type: "submit" }, "Save album"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(form);
      void this.change(() => this.edit({ title: String(data.get("title") ?? ""), description: String(data.get("description") ?? "") }), "Album saved.");
    });
    return form;
  }

  private confirmDelete(area: HTMLElement): void {
    const yes = h("button", { type: "button", class: "danger-confirm" }, "Yes, delete it");
    const no = h("button", { type: "button" }, "Keep it");
    no.addEventListener("click", () => this.render());
    yes.addEventListener("click", () => {
      yes.setAttribute("disabled", "");
      this.sharing.deleteAlbum(this.albumId).then(
        () => {
          window.location.hash = "#/albums";
        },
        (error: unknown) => {
          say(this.status, errorText(error), true);
          yes.removeAttribute("disabled");
        },
      );
    });
    replaceChildren(area, h("p", { role: "alert" }, "Delete this album and its shares? Its items stay in your library."), yes, no);
    no.focus();
  }

  /** "Add from the library": ready items not in the album yet, chosen with checkboxes. */
  private addSection(): HTMLElement {
    const open = h("button", { type: "button", "aria-expanded": "false", "aria-controls": "album-picker" }, "Add from the library");
    this.picker.id = "album-picker";
    this.picker.hidden = true;
    open.addEventListener("click", () => {
      const show = this.picker.hidden;
      this.picker.hidden = !show;
      open.setAttribute("aria-expanded", String(show));
      if (show) void this.fillPicker();
    });
    return h("section", { class: "album-add", "aria-labelledby": "album-add-heading" }, h("h2", { id: "album-add-heading" }, "Add items"), open, this.picker);
  }

  private async fillPicker(cursor: string | null = null): Promise<void> {
    const inAlbum = new Set(this.items.map((m) => m.media_id));
    let choices = this.picker.querySelector<HTMLUListElement>("ul.picker-choices");
    let form = this.picker.querySelector<HTMLFormElement>("form");
    const status = h("p", { class: "form-status", role: "status" });
    if (!form || !choices || cursor === null) {
      choices = h("ul", { class: "picker-choices grid" });
      form = h(
        "form",
        { "aria-label": "Choose items to add" },
        h("fieldset", {}, h("legend", {}, "Your ready photos and videos"), choices),
        h("button", { type: "submit", class: "primary" }, "Add selected"),
      );
      const chosen = form;
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const ids = new FormData(chosen).getAll("media").map(String);
        if (ids.length === 0) {
          say(this.status, "Choose at least one item to add.", true);
          return;
        }
        void this.change(() => this.sharing.addToAlbum(this.albumId, ids), `${ids.length} item${ids.length === 1 ? "" : "s"} added.`);
      });
      replaceChildren(this.picker, form, status);
    } else {
      this.picker.append(status);
    }
    say(status, "Loading your library…");
    try {
      const page = await this.api.listMedia({ status: "ready" }, cursor, 24);
      for (const media of page.items) {
        if (inAlbum.has(media.media_id)) continue;
        const name = media.title || media.filename;
        choices.append(
          h(
            "li",
            { class: "card pick", "data-media-id": media.media_id },
            h("label", {}, h("input", { type: "checkbox", name: "media", value: media.media_id }), thumbnailOf(media, name), h("span", { class: "card-title" }, name)),
          ),
        );
      }
      say(status, choices.childElementCount === 0 ? "Everything ready in your library is already in this album." : "");
      if (page.next_cursor) {
        const next = page.next_cursor;
        const more = h("button", { type: "button", class: "load-more" }, "More from the library");
        more.addEventListener("click", () => {
          more.remove();
          void this.fillPicker(next);
        });
        this.picker.append(more);
      }
    } catch (error) {
      say(status, errorText(error), true);
    }
  }
}
