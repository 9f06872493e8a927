// The admin pages (admins only, functions/api/access.py): users and roles, settings with their history, and the
// moderation queue; analytics, audit and maintenance live in analytics.ts and admin_ops.ts. Every failed call
// shows the API's message next to what was tried.

import { AccountStatus, AdminApi, errorText, QueuedMedia, RealmUser, Role, Settings, SettingsChange } from "./admin_api";
import { cardPicture, formatBytes, h, replaceChildren } from "./dom";
import { moreButton, PagedList } from "./paging";

const MB = 1024 * 1024;
const USERS_PAGE = 20;

/** A page the shell shows and later replaces. */
export interface ConsolePage {
  readonly root: HTMLElement;
  load(): Promise<void>;
  dispose?(): void;
}

/** A status line: polite while things go well, an alert with the API's message when they do not. */
export class StatusLine {
  readonly el = h("p", { class: "message", role: "status" });

  say(text: string): void {
    this.el.setAttribute("role", "status");
    this.el.classList.remove("error");
    this.el.textContent = text;
  }

  fail(error: unknown): void {
    this.el.setAttribute("role", "alert");
    this.el.classList.add("error");
    this.el.textContent = errorText(error);
  }
}

/** A labelled form control in the console's `.field` layout. */
export function field(id: string, text: string, control: HTMLElement, hint?: string): HTMLElement {
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: id }, text), control, hint ? h("span", { id: hintId, class: "hint" }, hint) : null);
}

function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : "never";
}

// ---- Users ------------------------------------------------------------------------------------------------------

function userCard(admin: AdminApi, user: RealmUser): HTMLLIElement {
  const key = user.user_id.replace(/[^A-Za-z0-9_-]/g, "_");
  const status = new StatusLine();
  const summary = h("p", { class: "user-facts" });
  const showFacts = (): void => {
    summary.textContent = [
      user.email,
      `role ${user.role ?? "none"}${user.partner_org ? ` (${user.partner_org})` : ""}`,
      user.status.replace("_", " "),
      `last seen ${when(user.last_seen_at)}`,
    ].join(" · ");
  };
  showFacts();

  const role = h("select", { id: `role-${key}`, name: "role" });
  for (const value of ["user", "partner", "admin"]) role.append(h("option", { value, selected: user.role === value }, value));
  const org = h("input", { id: `org-${key}`, name: "partner_org", value: user.partner_org ?? "", maxlength: 255 });
  const roleForm = h(
    "form",
    { class: "inline-form", "aria-label": `Role of ${user.username}` },
    field(`role-${key}`, `Role of ${user.username}`, role),
    field(`org-${key}`, `Partner organisation of ${user.username}`, org, "partners only"),
    h("button", { type: "submit", "aria-label": `Change ${user.username}'s role` }, "Change role"),
  );
  roleForm.addEventListener("submit", (event) => {
    event.preventDefault();
    status.say("Saving…");
    const chosen = role.value as Role;
    admin.setRole(user.user_id, chosen, chosen === "partner" ? org.value.trim() : null).then(
      (changed) => {
        Object.assign(user, changed);
        showFacts();
        status.say(`Role saved: ${changed.role ?? "none"}. It applies from ${user.username}'s next sign-in.`);
      },
      (error: unknown) => status.fail(error),
    );
  });

  const suspend = h("button", { type: "button" });
  const showSuspend = (): void => {
    const suspended = user.status === "suspended";
    suspend.textContent = suspended ? "Reactivate" : "Suspend";
    suspend.setAttribute("aria-label", `${suspended ? "Reactivate" : "Suspend"} ${user.username}`);
  };
  showSuspend();
  suspend.addEventListener("click", () => {
    const next: AccountStatus = user.status === "suspended" ? "active" : "suspended";
    status.say("Saving…");
    admin.setStatus(user.user_id, next).then(
      (account) => {
        user.status = account.status;
        showFacts();
        showSuspend();
        status.say(account.status === "suspended" ? `${user.username} is suspended.` : `${user.username} is active again.`);
      },
      (error: unknown) => status.fail(error),
    );
  });

  const quota = h("input", { id: `quota-${key}`, name: "quota", type: "number", min: 1, step: 1, inputmode: "numeric" });
  const quotaForm = h(
    "form",
    { class: "inline-form", "aria-label": `Storage quota of ${user.username}`, novalidate: true },
    field(`quota-${key}`, `Storage quota of ${user.username} (MB)`, quota, "leave empty for the default quota"),
    h("button", { type: "submit", "aria-label": `Save ${user.username}'s quota` }, "Save quota"),
  );
  quotaForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (quota.validity.badInput) {
      // Not a number at all: the browser reports it as empty, which would mean "the default quota".
      status.fail(new Error("Enter the quota as a number of MB, or leave it empty for the default quota."));
      return;
    }
    const text = quota.value.trim();
    // MB to bytes here; bounds are the API's to judge (its message says what is allowed).
    const bytes = text === "" ? null : Math.round(Number(text) * MB);
    status.say("Saving…");
    admin.setQuota(user.user_id, bytes).then(
      (account) => status.say(`Quota saved: ${formatBytes(account.quota_bytes)}${bytes === null ? " (the default)" : ""}.`),
      (error: unknown) => status.fail(error),
    );
  });

  return h(
    "li",
    { class: "admin-user", "data-user-id": user.user_id, "data-username": user.username },
    h("h2", {}, user.username),
    summary,
    roleForm,
    h("div", { class: "inline-form" }, suspend),
    quotaForm,
    status.el,
  );
}

export class UsersView implements ConsolePage {
  readonly root: HTMLElement;
  private readonly list = h("ul", { class: "admin-users", "aria-label": "Users", "aria-busy": "false" });
  private readonly status = new StatusLine();
  private readonly search = h("input", { id: "users-search", name: "search", type: "search", maxlength: 255 });
  private readonly previous = h("button", { type: "button" }, "Previous page");
  private readonly next = h("button", { type: "button" }, "Next page");
  private first = 0;

  constructor(private readonly admin: AdminApi) {
    const form = h(
      "form",
      { class: "filters", role: "search", "aria-label": "Search users" },
      field("users-search", "Username, email or name contains", this.search),
      h("button", { type: "submit" }, "Search"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.first = 0;
      void this.load();
    });
    this.previous.addEventListener("click", () => {
      this.first = Math.max(0, this.first - USERS_PAGE);
      void this.load();
    });
    this.next.addEventListener("click", () => {
      this.first += USERS_PAGE;
      void this.load();
    });
    this.root = h(
      "section",
      { class: "admin-page", "aria-labelledby": "users-heading" },
      h("h1", { id: "users-heading" }, "Users"),
      h("p", {}, "Roles apply from a user's next sign-in; a suspended account can no longer use the vault."),
      form,
      this.status.el,
      this.list,
      h("nav", { class: "pager", "aria-label": "Pages of users" }, this.previous, this.next),
    );
  }

  async load(): Promise<void> {
    this.status.say("Loading…");
    this.list.setAttribute("aria-busy", "true");
    try {
      const page = await this.admin.listUsers(this.search.value.trim(), this.first, USERS_PAGE);
      replaceChildren(this.list, ...page.users.map((user) => userCard(this.admin, user)));
      this.previous.disabled = this.first === 0;
      this.next.disabled = page.users.length < USERS_PAGE;
      this.status.say(page.users.length === 0 ? "No users match." : `Users ${this.first + 1}–${this.first + page.users.length}.`);
    } catch (error) {
      this.status.fail(error);
    } finally {
      this.list.setAttribute("aria-busy", "false");
    }
  }
}

// ---- Settings ---------------------------------------------------------------------------------------------------

type SettingName = Exclude<keyof Settings, "version">;

const SETTING_LABEL: Record<SettingName, string> = {
  moderation_threshold: "Moderation threshold (0 to 1)",
  auto_describe: "Describe every newly ready item",
  allowed_content_types: "Allowed content types (comma-separated)",
  max_image_bytes: "Largest image upload (bytes)",
  max_upload_bytes: "Largest video upload (bytes)",
  default_quota_bytes: "Default storage quota (bytes)",
  description_provider: "Description provider",
  trash_retention_days: "Days in the trash before deletion",
};

function shown(value: unknown): string {
  if (Array.isArray(value)) return value.join(", ");
  if (value === null || value === undefined) return "–";
  return String(value);
}

export class SettingsView implements ConsolePage {
  readonly root: HTMLElement;
  private readonly form: HTMLFormElement;
  private readonly controls = new Map<SettingName, HTMLInputElement | HTMLSelectElement>();
  private readonly status = new StatusLine();
  private readonly history: PagedList<SettingsChange>;
  private current: Settings | null = null;

  constructor(private readonly admin: AdminApi) {
    // novalidate: the API judges every value, and its message is the one shown.
    this.form = h("form", { class: "edit settings-form", "aria-labelledby": "settings-heading", novalidate: true });
    for (const name of Object.keys(SETTING_LABEL) as SettingName[]) {
      const id = `setting-${name}`;
      let control: HTMLInputElement | HTMLSelectElement;
      if (name === "auto_describe") {
        control = h("input", { id, name, type: "checkbox" });
        this.form.append(h("div", { class: "field checkbox" }, control, h("label", { for: id }, SETTING_LABEL[name])));
      } else {
        if (name === "description_provider") {
          control = h("select", { id, name }, h("option", { value: "offline" }, "offline"), h("option", { value: "bedrock" }, "bedrock"));
        } else {
          const numeric = name !== "allowed_content_types";
          control = h("input", { id, name, type: numeric ? "number" : "text", step: name === "moderation_threshold" ? "any" : 1 });
        }
        const hint = name.endsWith("_bytes") ? h("span", { class: "hint", id: `${id}-size`, "aria-live": "polite" }) : null;
        if (hint) {
          control.setAttribute("aria-describedby", hint.id);
          control.addEventListener("input", () => (hint.textContent = this.sizeHint(control.value)));
        }
        this.form.append(h("div", { class: "field" }, h("label", { for: id }, SETTING_LABEL[name]), control, hint));
      }
      this.controls.set(name, control);
    }
    this.form.append(h("button", { type: "submit" }, "Save settings"), this.status.el);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.save();
    });
    const rows = h("tbody");
    const historyStatus = new StatusLine();
    const more = moreButton("Older changes");
    this.history = new PagedList({
      list: rows,
      more,
      status: historyStatus,
      fetch: (cursor) => this.admin.settingsHistory(cursor).then((page) => ({ items: page.changes, next_cursor: page.next_cursor })),
      render: historyRow,
      doneText: (count) => (count === 0 ? "No changes yet." : ""),
      loadingText: null,
      ariaBusy: false,
    });
    this.root = h(
      "section",
      { class: "admin-page", "aria-labelledby": "settings-heading" },
      h("h1", { id: "settings-heading" }, "Settings"),
      this.form,
      h("h2", { id: "history-heading" }, "History"),
      historyStatus.el,
      h(
        "div",
        { class: "table-scroll", role: "region", "aria-labelledby": "history-heading", tabindex: 0 },
        h(
          "table",
          { class: "data history" },
          h(
            "thead",
            {},
            h("tr", {}, ...["Version", "When", "Who", "Changes"].map((title) => h("th", { scope: "col" }, title))),
          ),
          rows,
        ),
      ),
      more,
    );
  }

  private sizeHint(value: string): string {
    const bytes = Number(value);
    return value && Number.isFinite(bytes) && bytes > 0 ? formatBytes(bytes) : "";
  }

  async load(): Promise<void> {
    this.status.say("Loading…");
    try {
      this.fill(await this.admin.settings());
      this.status.say("");
    } catch (error) {
      this.status.fail(error);
    }
    await this.history.reload();
  }

  private fill(settings: Settings): void {
    this.current = settings;
    for (const [name, control] of this.controls) {
      const value = settings[name];
      if (control instanceof HTMLInputElement && control.type === "checkbox") control.checked = Boolean(value);
      else control.value = shown(value);
      control.dispatchEvent(new Event("input"));
    }
  }

  /** The settings whose control differs from what was loaded, as typed (numbers parsed when they parse). */
  private changes(settings: Settings): Record<string, unknown> {
    const changed: Record<string, unknown> = {};
    for (const [name, control] of this.controls) {
      let value: unknown;
      if (control instanceof HTMLInputElement && control.type === "checkbox") value = control.checked;
      else if (name === "allowed_content_types") value = control.value.split(",").map((t) => t.trim()).filter(Boolean);
      else if (control instanceof HTMLInputElement && control.type === "number") {
        const text = control.value.trim();
        value = text !== "" && Number.isFinite(Number(text)) ? Number(text) : text;
      } else value = control.value;
      if (shown(value) !== shown(settings[name]) || typeof value !== typeof settings[name]) changed[name] = value;
    }
    return changed;
  }

  private async save(): Promise<void> {
    const settings = this.current;
    if (!settings) return;
    const changed = this.changes(settings);
    if (Object.keys(changed).length === 0) {
      this.status.say("Nothing changed.");
      return;
    }
    this.status.say("Saving…");
    try {
      const saved = await this.admin.changeSettings({ version: settings.version, ...changed });
      this.fill(saved);
      this.status.say(`Saved: version ${saved.version}.`);
      await this.history.reload();
    } catch (error) {
      this.status.fail(error); // what was typed stays in the form
    }
  }
}

function historyRow(change: SettingsChange): HTMLTableRowElement {
  const changes = h("ul", { class: "changes" });
  for (const [name, { old, new: now }] of Object.entries(change.changes)) {
    changes.append(h("li", {}, h("code", {}, name), `: ${shown(old)} → ${shown(now)}`));
  }
  return h(
    "tr",
    { "data-version": change.version },
    h("th", { scope: "row" }, String(change.version)),
    h("td", {}, when(change.changed_at)),
    h("td", {}, change.changed_by.username),
    h("td", {}, changes),
  );
}

// ---- Moderation -------------------------------------------------------------------------------------------------

function queuedCard(admin: AdminApi, item: QueuedMedia): HTMLLIElement {
  const name = item.title || item.filename;
  const status = new StatusLine();
  const key = item.media_id;
  const reason = h("textarea", { id: `reason-${key}`, name: "reason", rows: 2, maxlength: 1000 });
  const approve = h("button", { type: "button", "aria-label": `Approve ${name}` }, "Approve");
  const reject = h("button", { type: "button", class: "destructive", "aria-label": `Reject ${name}` }, "Reject");
  const card = h(
    "li",
    { class: "card moderation-item", "data-media-id": item.media_id },
    cardPicture(item.renditions.thumbnail ?? item.renditions.preview, name, item.kind),
    h("h2", { class: "card-title" }, name),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Score"),
      h("dd", {}, item.score === null ? "–" : item.score.toFixed(2)),
      h("dt", {}, "Flagged"),
      h("dd", {}, when(item.flagged_at)),
      h("dt", {}, "Owner"),
      h("dd", {}, item.owner_id),
      h("dt", {}, "Labels"),
      h("dd", {}, shown(item.moderation?.labels)),
    ),
    item.second_look ? h("span", { class: "badge" }, "Owner asked for a second look") : null,
    field(`reason-${key}`, `Reason for ${name}`, reason, "shown to the owner; needed to reject"),
    h("div", { class: "actions" }, approve, reject),
    status.el,
  );
  const decide = (decision: "approve" | "reject"): void => {
    approve.disabled = reject.disabled = true;
    status.say("Saving…");
    admin.decide(item.media_id, decision, reason.value).then(
      (outcome) => {
        card.dataset.decided = decision;
        status.say(decision === "approve" ? `Approved: ${name} is no longer flagged.` : `Rejected: ${name} is ${outcome.status}.`);
      },
      (error: unknown) => {
        approve.disabled = reject.disabled = false;
        status.fail(error);
      },
    );
  };
  approve.addEventListener("click", () => decide("approve"));
  reject.addEventListener("click", () => decide("reject"));
  return card;
}

export class ModerationView implements ConsolePage {
  readonly root: HTMLElement;
  private readonly pages: PagedList<QueuedMedia>;

  constructor(private readonly admin: AdminApi) {
    const grid = h("ul", { class: "grid moderation", "aria-label": "Awaiting review", "aria-busy": "false" });
    const status = new StatusLine();
    const more = moreButton();
    const refresh = h("button", { type: "button" }, "Refresh");
    refresh.addEventListener("click", () => void this.load());
    this.root = h(
      "section",
      { class: "admin-page", "aria-labelledby": "moderation-heading" },
      h("h1", { id: "moderation-heading" }, "Moderation queue"),
      h("p", {}, "Flagged items, newest flag first. Approving unflags an item; rejecting removes its renditions. The owner is told either way."),
      refresh,
      status.el,
      grid,
      more,
    );
    this.pages = new PagedList({
      list: grid,
      more,
      status,
      fetch: (cursor) => this.admin.moderationQueue(cursor),
      render: (item) => queuedCard(this.admin, item),
      doneText: (count) => (count === 0 ? "Nothing awaits review." : ""),
    });
  }

  load(): Promise<void> {
    return this.pages.reload();
  }
}
