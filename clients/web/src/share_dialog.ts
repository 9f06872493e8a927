// The share dialog of an item or an album: grant a person (username or email), a partner organisation or a link
// (password, use limit) some permissions until a date; the resource's current grants, each with Revoke. A link's
// token is shown once, in the answer that creates it: the dialog shows it then, with Copy buttons.

import type { Permission } from "./api";
import { h, replaceChildren } from "./dom";
import { consoleLinkUrl, errorText, type Grant, type GranteeRequest, type ResourceRef, type ShareRequest, type SharingApi } from "./sharing_api";
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

/** A modal dialog (native <dialog>: focus stays inside, Escape closes) sharing one item or album. */
export class ShareDialog {
  readonly root: HTMLDialogElement;
  private readonly form: HTMLFormElement;
  private readonly status: HTMLElement;
  private readonly result: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly listStatus: HTMLElement;

  constructor(
    private readonly sharing: SharingApi,
    private readonly resource: ResourceRef,
    name: string,
  ) {
    this.status = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
    this.result = h("div", { class: "share-result", hidden: true });
    this.list = h("ul", { class: "grant-list", "aria-labelledby": "share-existing-heading" });
    this.listStatus = h("p", { class: "message", role: "status" });
    this.form = this.buildForm();
    const close = h("button", { type: "button", class: "dialog-close" }, "Close");
    close.addEventListener("click", () => this.root.close());
    this.root = h(
      "dialog",
      { class: "share-dialog", "aria-labelledby": "share-heading" },
      h("h2", { id: "share-heading" }, `Share ${name}`),
      this.form,
      this.status,
      this.result,
      h("h3", { id: "share-existing-heading" }, "Who has access"),
      this.listStatus,
      this.list,
      close,
    );
    this.root.addEventListener("close", () => this.root.remove());
  }

  /** Show it (modal) and load the current grants. */
  open(): void {
    document.body.append(this.root);
    this.root.showModal();
    this.form.querySelector<HTMLInputElement>("input[name=grantee-type]:checked")?.focus();
    void this.loadGrants();
  }

  private buildForm(): HTMLFormElement {
    const kind = (value: string, label: string, checked = false): HTMLElement =>
      h("label", { class: "choice" }, h("input", { type: "radio", name: "grantee-type", value, checked }), ` ${label}`);
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
    const form = h(
      "form",
      { class: "share-form", novalidate: true },
      h("fieldset", {}, h("legend", {}, "Share with"), kind("user", "A person", true), kind("org", "An organisation"), kind("link", "Anyone with a link")),
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
      h("button", { type: "submit", class: "primary" }, "Share"),
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

  private async submit(): Promise<void> {
    const button = this.form.querySelector<HTMLButtonElement>("button[type=submit]");
    button?.setAttribute("disabled", "");
    this.status.setAttribute("role", "status");
    this.status.className = "form-status";
    this.status.textContent = "Sharing…";
    this.result.hidden = true;
    try {
      // The API validates everything (names, password length, dates): its message is what the person reads.
      const grant = await this.sharing.share(this.resource, this.request());
      this.status.textContent = grant.grantee.type === "link" ? "Link created." : `Shared with ${granteeText(grant)}.`;
      if (grant.token) this.showLink(grant);
      (this.form.querySelector("#share-password") as HTMLInputElement).value = "";
      await this.loadGrants();
    } catch (error) {
      this.status.setAttribute("role", "alert");
      this.status.className = "form-status error";
      this.status.textContent = errorText(error);
    } finally {
      button?.removeAttribute("disabled");
    }
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
      revoke,
      status,
    );
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
