// The public link page (#/l/<token>): what a share link shares, for anyone holding it, signed in or not. A
// protected link asks for its password (the API answers 401 password_required without one); a wrong password,
// an unknown or used-up link (404) and a locked one (429) show the API's own message.

import { ApiError } from "./api";
import { cardPicture, h, replaceChildren } from "./dom";
import { downloadAction } from "./download";
import { errorText, type LinkClient, type LinkedItem, type OpenedLink } from "./sharing_api";

function itemName(item: LinkedItem): string {
  return item.title || (item.kind === "video" ? "Video" : "Photo");
}

export class LinkPage {
  readonly root: HTMLElement;
  private password: string | null = null;
  private opened: OpenedLink | null = null;

  constructor(
    private readonly links: LinkClient,
    private readonly token: string,
  ) {
    this.root = h("section", { class: "link-page", "aria-labelledby": "link-heading" }, h("p", { role: "status" }, "Opening the link…"));
  }

  dispose(): void {}

  async load(): Promise<void> {
    try {
      this.opened = await this.links.open(this.token, this.password);
      this.render(this.opened);
    } catch (error) {
      if (error instanceof ApiError && error.code === "password_required") this.askPassword(null);
      else if (this.password !== null) this.askPassword(errorText(error));
      else this.fail(errorText(error));
    }
  }

  private fail(message: string): void {
    replaceChildren(this.root, h("h1", { id: "link-heading" }, "Shared link"), h("p", { role: "alert", class: "error" }, message));
  }

  /** The password form; `problem` is the API's answer to the last password tried (a 404 or a 429). */
  private askPassword(problem: string | null): void {
    const form = h(
      "form",
      { class: "edit link-password", "aria-labelledby": "link-heading" },
      h("p", { id: "link-password-hint" }, "This link is protected. Enter the password its sender gave you."),
      h(
        "div",
        { class: "field" },
        h("label", { for: "link-password" }, "Password"),
        h("input", { id: "link-password", name: "password", type: "password", autocomplete: "current-password", required: true, "aria-describedby": "link-password-hint" }),
      ),
      problem ? h("p", { role: "alert", class: "error" }, problem) : null,
      h("button", { type: "submit", class: "primary" }, "Open"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.password = String(new FormData(form).get("password") ?? "");
      form.querySelector("button")?.setAttribute("disabled", "");
      void this.load();
    });
    replaceChildren(this.root, h("h1", { id: "link-heading" }, "Password needed"), form);
    form.querySelector<HTMLInputElement>("#link-password")?.focus();
  }

  private render(opened: OpenedLink): void {
    if (opened.type === "media" && opened.media) {
      const item = opened.media;
      const name = itemName(item);
      const preview = item.renditions.preview ?? item.renditions.thumbnail;
      replaceChildren(
        this.root,
        h("h1", { id: "link-heading" }, name),
        h(
          "figure",
          {},
          preview
            ? h("img", { class: "preview", src: preview.url, alt: name, width: preview.width, height: preview.height })
            : h("p", { class: "preview-missing" }, "No preview."),
        ),
        item.description ? h("p", {}, item.description) : null,
        opened.download_allowed ? h("p", { class: "actions" }, downloadAction(name, () => this.links.download(this.token, this.password), errorText)) : null,
      );
      return;
    }
    const album = opened.album;
    if (!album) return this.fail("This link shares nothing the console can show.");
    const grid = h("ul", { class: "grid", "aria-label": `Items of ${album.title}` });
    this.append(grid, album.items, opened.download_allowed);
    const more = h("button", { type: "button", class: "load-more", hidden: !album.next_cursor }, "Load more");
    let cursor = album.next_cursor;
    more.addEventListener("click", () => {
      more.setAttribute("disabled", "");
      this.links.open(this.token, this.password, cursor).then(
        (next) => {
          this.append(grid, next.album?.items ?? [], next.download_allowed);
          cursor = next.album?.next_cursor ?? null;
          more.hidden = !cursor;
        },
        (error: unknown) => more.after(h("p", { role: "alert", class: "error" }, errorText(error))),
      ).finally(() => more.removeAttribute("disabled"));
    });
    replaceChildren(
      this.root,
      h("h1", { id: "link-heading" }, album.title),
      album.description ? h("p", {}, album.description) : null,
      h("p", { class: "message" }, `${album.items.length}${album.next_cursor ? "+" : ""} item${album.items.length === 1 ? "" : "s"}`),
      grid,
      more,
    );
  }

  private append(grid: HTMLElement, items: LinkedItem[], downloads: boolean): void {
    for (const item of items) {
      const name = itemName(item);
      grid.append(
        h(
          "li",
          { class: "card shared", "data-media-id": item.media_id },
          cardPicture(item.renditions.thumbnail, name, item.kind),
          h("span", { class: "card-title" }, name),
          downloads ? downloadAction(name, () => this.links.downloadItem(this.token, this.password, item.media_id), errorText) : null,
        ),
      );
    }
  }
}
