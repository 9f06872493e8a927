// Notifications (#/notifications): what was shared with the caller or taken back, newest first, with the unread
// count; mark one read, or all of them. The header's count follows (onUnread).

import { h } from "./dom";
import { messageStatus, moreButton, PagedList } from "./paging";
import { errorText, type NotificationEntry, type SharingApi } from "./sharing_api";

// In the order they build on each other (the API sorts them by name).
const PERMISSION_ORDER = ["view", "download", "edit", "reshare"];

function sentence(n: NotificationEntry): string {
  const what = `${n.resource.type === "album" ? "the album " : ""}${n.resource.title}`;
  if (n.kind === "share.revoked") return `${n.actor_name} stopped sharing ${what} with you.`;
  const may = [...n.permissions].sort((a, b) => PERMISSION_ORDER.indexOf(a) - PERMISSION_ORDER.indexOf(b)).join(", ");
  return `${n.actor_name} shared ${what} with you${may ? ` (${may})` : ""}.`;
}

export class NotificationsView {
  readonly root: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly message: HTMLElement;
  private readonly count: HTMLElement;
  private readonly markAll: HTMLButtonElement;
  private readonly pages: PagedList<NotificationEntry>;

  constructor(
    private readonly sharing: SharingApi,
    private readonly onUnread: (count: number) => void,
  ) {
    this.list = h("ul", { class: "notifications", "aria-label": "Notifications", "aria-busy": "false" });
    this.message = h("p", { class: "message", role: "status" });
    this.count = h("p", { class: "unread-count", role: "status", "aria-live": "polite", tabindex: -1 });
    this.markAll = h("button", { type: "button" }, "Mark all read");
    this.markAll.addEventListener("click", () => void this.readAll());
    const more = moreButton();
    this.root = h(
      "section",
      { class: "notifications-page", "aria-labelledby": "notifications-heading" },
      h("h1", { id: "notifications-heading" }, "Notifications"),
      h("div", { class: "actions" }, this.count, this.markAll),
      this.message,
      this.list,
      more,
    );
    this.pages = new PagedList({
      list: this.list,
      more,
      status: messageStatus(this.message, errorText),
      fetch: async (cursor) => {
        const page = await this.sharing.notifications(cursor);
        this.showUnread(page.unread_count); // every page carries the unread count
        return page;
      },
      render: (n) => this.row(n),
      doneText: (count) => (count === 0 ? "No notifications yet." : ""),
    });
  }

  dispose(): void {}

  reload(): Promise<void> {
    return this.pages.reload();
  }

  private showUnread(count: number): void {
    this.count.textContent = count === 0 ? "Nothing unread." : `${count} unread`;
    this.markAll.disabled = count === 0;
    this.onUnread(count);
  }

  private row(n: NotificationEntry): HTMLLIElement {
    const text = sentence(n);
    const row = h(
      "li",
      { class: `notification${n.read_at ? "" : " unread"}`, "data-notification-id": n.notification_id, "data-share-id": n.share_id },
      h("span", { class: "notification-text" }, n.read_at ? null : h("span", { class: "visually-hidden" }, "Unread: "), text),
      h("time", { datetime: n.created_at }, new Date(n.created_at).toLocaleString()),
      n.kind === "share.granted" ? h("a", { href: "#/shared" }, "Open Shared with me") : null,
    );
    if (!n.read_at) {
      const status = h("span", { class: "row-status", role: "status" });
      const mark = h("button", { type: "button", "aria-label": `Mark read: ${text}` }, "Mark read");
      mark.addEventListener("click", () => {
        mark.setAttribute("disabled", "");
        this.sharing
          .markRead(n.notification_id)
          .then(async (read) => {
            row.replaceWith(this.row(read));
            // The count is the API's, not a local subtraction: other tabs may have read some too.
            const page = await this.sharing.notifications(null, 1);
            this.showUnread(page.unread_count);
            (this.list.querySelector<HTMLButtonElement>("li.unread button") ?? this.count).focus();
          })
          .catch((error: unknown) => {
            status.setAttribute("role", "alert");
            status.className = "row-status error";
            status.textContent = errorText(error);
            mark.removeAttribute("disabled");
          });
      });
      row.append(mark, status);
    }
    return row;
  }

  private async readAll(): Promise<void> {
    this.markAll.disabled = true;
    try {
      const result = await this.sharing.markAllRead();
      await this.reload();
      this.showUnread(result.unread_count);
    } catch (error) {
      this.message.setAttribute("role", "alert");
      this.message.textContent = errorText(error);
      this.markAll.disabled = false;
    }
  }
}
