// My shares (#/shares/outgoing): the grants the caller made (GET /shares/outgoing), newest first, each with
// Edit (permissions and expiry: PATCH /shares/{id}) and Revoke; grants carry ids only, so each row looks up its
// item's or album's title.

import { h, replaceChildren } from "./dom";
import { messageStatus, moreButton, PagedList } from "./paging";
import { EditShareDialog, granteeText } from "./share_dialog";
import { errorText, type Grant, type SharingApi } from "./sharing_api";
import { expiryText, permissionsText } from "./shared";

export class MySharesView {
  readonly root: HTMLElement;
  private readonly message: HTMLElement;
  private readonly titles = new Map<string, Promise<string>>();
  private readonly pages: PagedList<{ grant: Grant; title: string }>;

  constructor(private readonly sharing: SharingApi) {
    const list = h("ul", { class: "grant-list outgoing", "aria-label": "My shares", "aria-busy": "false" });
    this.message = h("p", { class: "message", role: "status" });
    const more = moreButton();
    this.root = h(
      "section",
      { class: "my-shares", "aria-labelledby": "my-shares-heading" },
      h("h1", { id: "my-shares-heading" }, "My shares"),
      h(
        "p",
        {},
        "What you shared, newest first. Editing a share trims what was reshared from it to fit; revoking a share ends it at once, with everything reshared from it.",
      ),
      this.message,
      list,
      more,
    );
    this.pages = new PagedList({
      list,
      more,
      status: messageStatus(this.message, errorText),
      fetch: async (cursor) => {
        const page = await this.sharing.outgoing(cursor);
        const titles = await Promise.all(page.items.map((g) => this.title(g)));
        return { items: page.items.map((grant, i) => ({ grant, title: titles[i] ?? grant.resource_id })), next_cursor: page.next_cursor };
      },
      render: ({ grant, title }) => this.row(grant, title),
      doneText: (count) => (count === 0 ? "You have not shared anything." : ""),
    });
  }

  dispose(): void {}

  reload(): Promise<void> {
    return this.pages.reload();
  }

  private title(grant: Grant): Promise<string> {
    const key = `${grant.resource_type}:${grant.resource_id}`;
    let title = this.titles.get(key);
    if (!title) {
      const lookup =
        grant.resource_type === "album"
          ? this.sharing.album(grant.resource_id).then((a) => `Album ${a.title}`)
          : this.sharing.api.getMedia(grant.resource_id).then((m) => m.title || m.filename);
      // A title is a courtesy (the item may be gone): the row still shows and revokes without it.
      title = lookup.catch(() => `${grant.resource_type} ${grant.resource_id.slice(0, 8)}`);
      this.titles.set(key, title);
    }
    return title;
  }

  private row(grant: Grant, title: string): HTMLLIElement {
    const who = granteeText(grant);
    const href = grant.resource_type === "album" ? `#/albums/${encodeURIComponent(grant.resource_id)}` : `#/media/${encodeURIComponent(grant.resource_id)}`;
    const status = h("span", { class: "row-status", role: "status" });
    const edit = h("button", { type: "button", "aria-haspopup": "dialog", "aria-label": `Edit share of ${title} with ${who}` }, "Edit");
    const revoke = h("button", { type: "button", "aria-label": `Revoke share of ${title} with ${who}` }, "Revoke");
    const row = h(
      "li",
      { class: "grant", "data-share-id": grant.share_id, "data-resource-id": grant.resource_id },
      h("a", { href, class: "resource" }, title),
      h("span", { class: "grantee" }, who),
      h("span", { class: "permissions" }, permissionsText(grant)),
      h("span", { class: `expiry${grant.status === "expired" ? " expired" : ""}` }, expiryText(grant)),
      edit,
      revoke,
      status,
    );
    edit.addEventListener("click", () => {
      let replacement: HTMLLIElement | null = null;
      const dialog = new EditShareDialog(this.sharing, grant, title, (updated) => {
        replacement = this.row(updated, title);
        row.replaceWith(replacement);
        this.message.setAttribute("role", "status");
        this.message.textContent = `Share of ${title} with ${who} updated: ${permissionsText(updated)}, ${expiryText(updated).toLowerCase()}.`;
      });
      // Back to the row's Edit button (the new row's, once saved).
      dialog.root.addEventListener("close", () => (replacement?.querySelector<HTMLButtonElement>("button") ?? edit).focus());
      dialog.open();
    });
    revoke.addEventListener("click", () => {
      revoke.setAttribute("disabled", "");
      this.sharing.revoke(grant.share_id).then(
        () => {
          replaceChildren(row, h("span", { class: "revoked" }, `Revoked: ${title}, ${who}.`));
          this.message.setAttribute("role", "status");
          this.message.textContent = `Share of ${title} with ${who} revoked.`;
        },
        (error: unknown) => {
          status.setAttribute("role", "alert");
          status.className = "row-status error";
          status.textContent = errorText(error);
          revoke.removeAttribute("disabled");
        },
      );
    });
    return row;
  }
}
