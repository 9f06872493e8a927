// The share dialog of an item or an album: grant a person (username or email), a partner organisation or a link
// (password, use limit) some permissions until a date; the resource's current grants, each with Edit and Revoke.
// A link's token is shown once, in the answer that creates it: the dialog shows it then, with Copy buttons.
// Several items (the library's selection) are shared in one go: one grant per item, same grantee, permissions and
// expiry, and the outcome per item. A link shares one item or one album, so it is not offered for several items.
// The edit dialog changes a grant's permissions and expiry (PATCH /shares/{id}: all the API lets change).

import type { Permission } from "./api";
import { h, replaceChildren } from "./dom";
import {
  consoleLinkUrl,
  errorText,
  type Grant,
  type GranteeRequest,
  type ResourceRef,
  type ShareChanges,
  type ShareRequest,
  type SharingApi,
} from "./sharing_api";
import { expiryText, permissionsText } from "./shared";

const PERMISSIONS: [Permission, string][] = [
  ["view", "View"],
  ["download", "Download"],
  ["edit", "Edit"],
  ["reshare", "Reshare"],
];
const LINK_PERMISSIONS: Permission[] = ["view", "download"];

/** Who a grant is for, in words. */
export function granteeText(grant: Grant): string {
  if (grant.grantee.type === "link") {
    const link = grant.link;
    const terms = link
      ? [link.password_protected ? "password" : "no password", `${link.uses}${link.max_uses ? ` of ${link.max_uses}` : ""} uses`]
      : [];
    return `Link (${terms.join(", ")})`;
  }
  return grant.grantee.type === "org" ? `Organisation ${grant.grantee.name}` : grant.grantee.name;
}

/** The end of a chosen day, local time, as a UTC instant (a date input gives the day only). */
export function endOfDay(date: string): string {
  return new Date(`${date}T23:59:59`).toISOString();
}

/** The local day of an instant as a date input's value ("" for none). */
export function dateInputValue(iso: string | null): string {
  if (!iso) return "";
  const at = new Date(iso);
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
}

/** What an edit sends: the permissions when they differ, the expiry when the chosen day differs (none: never
 * expires); null when nothing changed. An unchanged day keeps the grant's exact end (it may not be end of day). */
export function shareChanges(grant: Grant, permissions: Permission[], expiryDate: string): ShareChanges | null {
  const wanted = [...new Set<Permission>(["view", ...permissions])];
  const changes: ShareChanges = {};
  const held = new Set(grant.permissions);
  if (wanted.length !== held.size || wanted.some((p) => !held.has(p))) changes.permissions = wanted;
  if (expiryDate !== dateInputValue(grant.expires_at)) changes.expires_at = expiryDate ? endOfDay(expiryDate) : null;
  return Object.keys(changes).length === 0 ? null : changes;
}

/** One item shared (the grant) or not (the API's message). */
export type ShareOutcome = { name: string; grant: Grant } | { name: string; error: string };

/** "Shared 2 items with bob." or "Shared 1 of 2 items with bob. Not shared: B (<the API's message>)". */
export function shareSummary(outcomes: ShareOutcome[]): { text: string; failed: boolean } {
  const shared = outcomes.flatMap((o) => ("grant" in o ? [o.grant] : []));
  const failed = outcomes.flatMap((o) => ("error" in o ? [o] : []));
  const noun = (n: number): string => `${n} item${n === 1 ? "" : "s"}`;
  const who = shared[0] ? ` with ${granteeText(shared[0])}` : "";
  if (failed.length === 0) return { text: `Shared ${noun(shared.length)}${who}.`, failed: false };
  const reasons = failed.map((o) => `${o.name} (${o.error})`).join("; ");
  if (shared.length === 0) return { text: `Nothing was shared. Not shared: ${reasons}`, failed: true };
  return { text: `Shared ${shared.length} of ${noun(outcomes.length)}${who}. Not shared: ${reasons}`, failed: true };
}

// Grants created at once for a selection: quick, without swamping a small API.
const SHARE_CONCURRENCY = 4;

/** Share every target with the same request, a few at a time; one outcome per target, in order. */
export async function shareEach(
  sharing: Pick<SharingApi, "share">,
  targets: { resource: ResourceRef; name: string }[],
  request: ShareRequest,
): Promise<ShareOutcome[]> {
  const outcomes = new Array<ShareOutcome>(targets.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < targets.length) {
      const index = next;
      next += 1;
      const target = targets[index] as { resource: ResourceRef; name: string };
      try {
        outcomes[index] = { name: target.name, grant: await sharing.share(target.resource, request) };
      } catch (error) {
        outcomes[index] = { name: target.name, error: errorText(error) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SHARE_CONCURRENCY, targets.length) }, worker));
  return outcomes;
}

function copyRow(id: string, label: string, value: string): HTMLElement {
  const input = h("input", { id, type: "text", readonly: true, value, class: "copy-value" });
  const status = h("span", { class: "copy-status", role: "status", "aria-live": "polite" });
  const button = h("button", { type: "button", "aria-label": `Copy ${label.toLowerCase()}` }, "Copy");
  button.addEventListener("click", () => {
    input.select();
    const done = (): void => {
      status.textContent = "Copied.";
    };
    // The clipboard API needs a secure context; the selection fallback covers plain-HTTP hosts.
    if (navigator.clipboard) navigator.clipboard.writeText(value).then(done, () => document.execCommand("copy") && done());
    else if (document.execCommand("copy")) done();
  });
  return h("div", { class: "field copy-row" }, h("label", { for: id }, label), h("div", { class: "copy-line" }, input, button, status));
}

/** What the dialog shares: one item or album, or several items (each its own grant). */
export interface ShareTarget {
  resource: ResourceRef;
  name: string;
}

/** A modal dialog (native <dialog>: focus stays inside, Escape closes) sharing one item or album, or several items. */
export class ShareDialog {
  readonly root: HTMLDialogElement;
  private readonly targets: ShareTarget[];
  private readonly form: HTMLFormElement;
  private readonly status: HTMLElement;
  private readonly result: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly listStatus: HTMLElement;

  constructor(
    private readonly sharing: SharingApi,
    resource: ResourceRef | ShareTarget[],
    name = "",
  ) {
    this.targets = Array.isArray(resource) ? resource : [{ resource, name }];
    const many = this.targets.length > 1;
    this.status = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
    this.result = h("div", { class: "share-result", hidden: true });
    this.list = h("ul", { class: "grant-list", "aria-labelledby": "share-existing-heading" });
    this.listStatus = h("p", { class: "message", role: "status" });
    this.form = this.buildForm(many);
    const close = h("button", { type: "button", class: "dialog-close" }, "Close");
    close.addEventListener("click", () => this.root.close());
    const heading = many ? `Share ${this.targets.length} items` : `Share ${this.targets[0]?.name ?? name}`;
    this.root = h(
      "dialog",
      { class: `share-dialog${many ? " share-many" : ""}`, "aria-labelledby": "share-heading" },
      h("h2", { id: "share-heading" }, heading),
      many ? h("p", { class: "share-items" }, `Each of ${this.targets.map((t) => t.name).join(", ")} gets its own share, with the same person, permissions and expiry.`) : null,
      this.form,
      this.status,
      this.result,
      many ? null : h("h3", { id: "share-existing-heading" }, "Who has access"),
      many ? h("p", { class: "message" }, "Each item keeps its own list of who has access: open an item to see, edit or revoke its shares, or use My shares.") : this.listStatus,
      many ? null : this.list,
      close,
    );
    this.root.addEventListener("close", () => this.root.remove());
  }

  /** One item or album: its resource (the only one). */
  private get resource(): ResourceRef {
    return (this.targets[0] as ShareTarget).resource;
  }

  /** Show it (modal) and load the current grants (of one resource). */
  open(): void {
    document.body.append(this.root);
    this.root.showModal();
    this.form.querySelector<HTMLInputElement>("input[name=grantee-type]:checked")?.focus();
    if (this.targets.length === 1) void this.loadGrants();
  }

  private buildForm(many: boolean): HTMLFormElement {
    const kind = (value: string, label: string, checked = false, disabled = false, describedBy?: string): HTMLElement =>
      h(
        "label",
        { class: `choice${disabled ? " disabled" : ""}` },
        h("input", { type: "radio", name: "grantee-type", value, checked, disabled, "aria-describedby": describedBy }),
        ` ${label}`,
      );
    const permission = ([value, label]: [Permission, string]): HTMLElement =>
      h(
        "label",
        { class: `choice permission-${value}` },
        h("input", { type: "checkbox", name: "permission", value, checked: value === "view", disabled: value === "view" }),
        ` ${label}`,
      );
    const userFields = h(
      "div",
      { class: "field grantee-user" },
      h("label", { for: "share-user" }, "Username or email"),
      h("input", { id: "share-user", name: "user", autocomplete: "off", maxlength: 255 }),
    );
    const orgFields = h(
      "div",
      { class: "field grantee-org", hidden: true },
      h("label", { for: "share-org" }, "Organisation"),
      h("input", { id: "share-org", name: "org", autocomplete: "off", maxlength: 100, pattern: "[A-Za-z0-9._-]{1,100}" }),
    );
    const linkFields = h(
      "div",
      { class: "grantee-link", hidden: true },
      h(
        "div",
        { class: "field" },
        h("label", { for: "share-password" }, "Link password (optional)"),
        h("input", { id: "share-password", name: "password", type: "password", autocomplete: "new-password", minlength: 8, maxlength: 128, "aria-describedby": "share-password-hint" }),
        h("small", { id: "share-password-hint" }, "At least 8 characters; whoever opens the link is asked for it."),
      ),
      h(
        "div",
        { class: "field" },
        h("label", { for: "share-max-uses" }, "Maximum uses (optional)"),
        h("input", { id: "share-max-uses", name: "max_uses", type: "number", min: 1, max: 1000000, step: 1, inputmode: "numeric", "aria-describedby": "share-max-uses-hint" }),
        h("small", { id: "share-max-uses-hint" }, "Opens and downloads both count."),
      ),
    );
    // A link opens one item or one album: for several items, the way there is an album.
    const linkNote = many
      ? h(
          "small",
          { id: "share-link-note", class: "share-link-note" },
          `A link shares one item or one album. To share these ${this.targets.length} items by link, add them to an album (Add to album), then share the album by link.`,
        )
      : null;
    const form = h(
      "form",
      { class: "share-form", novalidate: true },
      h(
        "fieldset",
        {},
        h("legend", {}, "Share with"),
        kind("user", "A person", true),
        kind("org", "An organisation"),
        kind("link", "Anyone with a link", false, many, many ? "share-link-note" : undefined),
        linkNote,
      ),
      userFields,
      orgFields,
      linkFields,
      h("fieldset", {}, h("legend", {}, "They may"), ...PERMISSIONS.map(permission)),
      h(
        "div",
        { class: "field" },
        h("label", { for: "share-expiry" }, "Expires after (optional)"),
        h("input", { id: "share-expiry", name: "expiry", type: "date", "aria-describedby": "share-expiry-hint" }),
        h("small", { id: "share-expiry-hint" }, "The share stops working at the end of that day."),
      ),
      h("button", { type: "submit", class: "primary" }, many ? `Share ${this.targets.length} items` : "Share"),
    );
    form.addEventListener("change", (event) => {
      if ((event.target as HTMLInputElement).name !== "grantee-type") return;
      const type = new FormData(form).get("grantee-type");
      userFields.hidden = type !== "user";
      orgFields.hidden = type !== "org";
      linkFields.hidden = type !== "link";
      // A link allows view and download only.
      for (const box of form.querySelectorAll<HTMLInputElement>("input[name=permission]")) {
        const allowed = type !== "link" || LINK_PERMISSIONS.includes(box.value as Permission);
        (box.parentElement as HTMLElement).hidden = !allowed;
        if (!allowed) box.checked = false;
      }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.submit();
    });
    return form;
  }

  private request(): ShareRequest {
    const data = new FormData(this.form);
    const type = String(data.get("grantee-type"));
    let grantee: GranteeRequest;
    if (type === "org") grantee = { type: "org", org: String(data.get("org") ?? "").trim() };
    else if (type === "link") grantee = { type: "link" };
    else {
      const name = String(data.get("user") ?? "").trim();
      grantee = name.includes("@") ? { type: "user", email: name } : { type: "user", username: name };
    }
    const permissions: Permission[] = ["view", ...data.getAll("permission").map((p) => String(p) as Permission)];
    const request: ShareRequest = { grantee, permissions };
    const expiry = String(data.get("expiry") ?? "");
    if (expiry) request.expires_at = endOfDay(expiry);
    if (type === "link") {
      const password = String(data.get("password") ?? "");
      const maxUses = String(data.get("max_uses") ?? "").trim();
      if (password) request.password = password;
      if (maxUses) request.max_uses = Number(maxUses);
    }
    return request;
  }

  private say(text: string, isError: boolean): void {
    this.status.setAttribute("role", isError ? "alert" : "status");
    this.status.className = isError ? "form-status error" : "form-status";
    this.status.textContent = text;
  }

  private async submit(): Promise<void> {
    const button = this.form.querySelector<HTMLButtonElement>("button[type=submit]");
    button?.setAttribute("disabled", "");
    this.say(this.targets.length > 1 ? `Sharing ${this.targets.length} items…` : "Sharing…", false);
    this.result.hidden = true;
    try {
      if (this.targets.length > 1) {
        await this.submitMany();
        return;
      }
      // The API validates everything (names, password length, dates): its message is what the person reads.
      const grant = await this.sharing.share(this.resource, this.request());
      this.say(grant.grantee.type === "link" ? "Link created." : `Shared with ${granteeText(grant)}.`, false);
      if (grant.token) this.showLink(grant);
      (this.form.querySelector("#share-password") as HTMLInputElement).value = "";
      await this.loadGrants();
    } catch (error) {
      this.say(errorText(error), true);
    } finally {
      button?.removeAttribute("disabled");
    }
  }

  /** One grant per item; every item is tried, and the outcome names the ones that were not shared and why. */
  private async submitMany(): Promise<void> {
    const outcomes = await shareEach(this.sharing, this.targets, this.request());
    const { text, failed } = shareSummary(outcomes);
    this.say(text, failed);
    replaceChildren(
      this.result,
      h(
        "ul",
        { class: "share-outcomes", "aria-label": "Outcome per item" },
        ...outcomes.map((o) =>
          h("li", { class: "grant" in o ? "shared-ok" : "shared-failed" }, "grant" in o ? `${o.name}: shared.` : `${o.name}: not shared. ${o.error}`),
        ),
      ),
    );
    this.result.hidden = false;
  }

  private showLink(grant: Grant): void {
    replaceChildren(
      this.result,
      h("p", { class: "once" }, "Copy the link now: it is shown only this once."),
      copyRow("share-console-url", "Console link page", consoleLinkUrl(grant.token ?? "")),
      grant.url ? copyRow("share-api-url", "API link", grant.url) : null,
    );
    this.result.hidden = false;
    this.result.querySelector<HTMLInputElement>("#share-console-url")?.focus();
  }

  private async loadGrants(): Promise<void> {
    this.listStatus.setAttribute("role", "status");
    this.listStatus.textContent = "Loading…";
    try {
      const { items } = await this.sharing.sharesOf(this.resource);
      replaceChildren(this.list, ...items.map((grant) => this.grantRow(grant)));
      this.listStatus.textContent = items.length === 0 ? "Only you." : "";
    } catch (error) {
      this.listStatus.setAttribute("role", "alert");
      this.listStatus.textContent = errorText(error);
    }
  }

  private grantRow(grant: Grant): HTMLLIElement {
    const who = granteeText(grant);
    const status = h("span", { class: "row-status", role: "status" });
    const edit = h("button", { type: "button", "aria-haspopup": "dialog", "aria-label": `Edit share with ${who}` }, "Edit");
    edit.addEventListener("click", () => {
      const dialog = new EditShareDialog(this.sharing, grant, this.targets[0]?.name ?? "", () => void this.loadGrants());
      dialog.root.addEventListener("close", () => (edit.isConnected ? edit : this.status).focus());
      dialog.open();
    });
    const revoke = h("button", { type: "button", "aria-label": `Revoke share with ${who}` }, "Revoke");
    revoke.addEventListener("click", () => {
      revoke.setAttribute("disabled", "");
      this.sharing.revoke(grant.share_id).then(
        () => void this.loadGrants(),
        (error: unknown) => {
          status.setAttribute("role", "alert");
          status.className = "row-status error";
          status.textContent = errorText(error);
          revoke.removeAttribute("disabled");
        },
      );
    });
    return h(
      "li",
      { class: "grant", "data-share-id": grant.share_id },
      h("span", { class: "grantee" }, who),
      h("span", { class: "permissions" }, permissionsText(grant)),
      h("span", { class: `expiry${grant.status === "expired" ? " expired" : ""}` }, expiryText(grant)),
      edit,
      revoke,
      status,
    );
  }
}

/** A modal dialog changing one grant's permissions and expiry (all PATCH /shares/{id} allows); `onSaved` gets the
 * grant as the API now has it. The API's message (a reshare granting more than held, a past date) is shown. */
export class EditShareDialog {
  readonly root: HTMLDialogElement;
  private readonly form: HTMLFormElement;
  private readonly status: HTMLElement;

  constructor(
    private readonly sharing: SharingApi,
    private readonly grant: Grant,
    title: string,
    private readonly onSaved: (grant: Grant) => void,
  ) {
    const who = granteeText(grant);
    const isLink = grant.grantee.type === "link";
    const allowed = isLink ? LINK_PERMISSIONS : PERMISSIONS.map(([p]) => p);
    const permission = ([value, label]: [Permission, string]): HTMLElement | null =>
      allowed.includes(value)
        ? h(
            "label",
            { class: `choice permission-${value}` },
            h("input", { type: "checkbox", name: "permission", value, checked: value === "view" || grant.permissions.includes(value), disabled: value === "view" }),
            ` ${label}`,
          )
        : null;
    const link = grant.link;
    this.status = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
    this.form = h(
      "form",
      { class: "share-edit-form", novalidate: true },
      h("fieldset", {}, h("legend", {}, "They may"), ...PERMISSIONS.map(permission)),
      h(
        "div",
        { class: "field" },
        h("label", { for: "share-edit-expiry" }, "Expires after"),
        h("input", { id: "share-edit-expiry", name: "expiry", type: "date", value: dateInputValue(grant.expires_at), "aria-describedby": "share-edit-expiry-hint" }),
        h("small", { id: "share-edit-expiry-hint" }, "The share stops working at the end of that day; leave it empty for no expiry."),
      ),
      isLink && link
        ? h(
            "p",
            { class: "link-terms" },
            `This link has ${link.password_protected ? "a password" : "no password"} and ${link.max_uses ? `a limit of ${link.max_uses} uses (${link.uses} used)` : "no use limit"}. ` +
              "A link's password and use limit are set when it is created: to change them, create a new link and revoke this one.",
          )
        : null,
      h("button", { type: "submit", class: "primary" }, "Save changes"),
    );
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.save();
    });
    const cancel = h("button", { type: "button", class: "dialog-close" }, "Cancel");
    cancel.addEventListener("click", () => this.root.close());
    this.root = h(
      "dialog",
      { class: "share-dialog share-edit", "aria-labelledby": "share-edit-heading" },
      h("h2", { id: "share-edit-heading" }, title ? `Edit share of ${title} with ${who}` : `Edit share with ${who}`),
      this.form,
      this.status,
      cancel,
    );
    this.root.addEventListener("close", () => this.root.remove());
  }

  open(): void {
    document.body.append(this.root);
    this.root.showModal();
    this.form.querySelector<HTMLInputElement>("input[name=permission]:not([disabled])")?.focus();
  }

  private say(text: string, isError: boolean): void {
    this.status.setAttribute("role", isError ? "alert" : "status");
    this.status.className = isError ? "form-status error" : "form-status";
    this.status.textContent = text;
  }

  private async save(): Promise<void> {
    const data = new FormData(this.form);
    const changes = shareChanges(
      this.grant,
      data.getAll("permission").map((p) => String(p) as Permission),
      String(data.get("expiry") ?? ""),
    );
    if (!changes) {
      this.say("Nothing changed.", false);
      return;
    }
    const button = this.form.querySelector<HTMLButtonElement>("button[type=submit]");
    button?.setAttribute("disabled", "");
    this.say("Saving…", false);
    try {
      const updated = await this.sharing.editShare(this.grant.share_id, changes);
      this.onSaved(updated);
      this.root.close();
    } catch (error) {
      this.say(errorText(error), true);
    } finally {
      button?.removeAttribute("disabled");
    }
  }
}

/** A "Share" button that opens the dialog for a resource. */
export function shareButton(sharing: SharingApi, resource: ResourceRef, name: string): HTMLButtonElement {
  const button = h("button", { type: "button", class: "share", "aria-haspopup": "dialog" }, "Share");
  button.addEventListener("click", () => {
    const dialog = new ShareDialog(sharing, resource, name);
    dialog.root.addEventListener("close", () => button.focus());
    dialog.open();
  });
  return button;
}
