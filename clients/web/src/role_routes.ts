// The admin and partner pages' routes and header links, kept out of main.ts: #/admin/<section> and
// #/partner[/analytics]. A header link shows only for the role GET /me reports (the API checks every call anyway:
// a page opened by hand without the role shows the API's 403 message).

import { ConsolePage, ModerationView, SettingsView, UsersView } from "./admin";
import { AdminApi, Role } from "./admin_api";
import { AuditView, MaintenanceView } from "./admin_ops";
import { AnalyticsView } from "./analytics";
import type { Api } from "./api";
import type { Session } from "./auth";
import { h, replaceChildren } from "./dom";
import { PartnerMediaView } from "./partner";

const ADMIN_SECTIONS: [string, string][] = [
  ["users", "Users"],
  ["moderation", "Moderation"],
  ["settings", "Settings"],
  ["analytics", "Analytics"],
  ["audit", "Audit log"],
  ["maintenance", "Maintenance"],
];
const PARTNER_SECTIONS: [string, string][] = [
  ["", "Media"],
  ["analytics", "Analytics"],
];

function sectionNav(label: string, base: string, sections: [string, string][], current: string): HTMLElement {
  return h(
    "nav",
    { class: "subnav", "aria-label": label },
    h(
      "ul",
      {},
      ...sections.map(([section, text]) =>
        h("li", {}, h("a", { href: section ? `${base}/${section}` : base, "aria-current": section === current ? "page" : null }, text)),
      ),
    ),
  );
}

/** The role pages: their header links (shown for the caller's role) and their routes. */
export class RolePages {
  readonly nav: HTMLAnchorElement[];
  private readonly admin: AdminApi;
  private readonly adminLink = h("a", { href: "#/admin/users", "data-section": "admin", hidden: true }, "Admin");
  private readonly partnerLink = h("a", { href: "#/partner", "data-section": "partner", hidden: true }, "Partner");

  constructor(
    private readonly api: Api,
    apiUrl: string,
    session: Session,
  ) {
    this.admin = new AdminApi(api, apiUrl, session);
    this.nav = [this.adminLink, this.partnerLink];
    this.admin.me().then(
      (account) => this.showFor(account.role),
      () => this.showFor("user"), // the links are a convenience: the pages themselves report errors
    );
  }

  private showFor(role: Role): void {
    this.adminLink.hidden = role !== "admin";
    this.partnerLink.hidden = role !== "partner";
  }

  /** Open the page of a hash, if it is one of these; null otherwise. */
  route(hash: string, main: HTMLElement): { dispose(): void } | null {
    const admin = /^#\/admin(?:\/([a-z]+))?$/.exec(hash);
    const partner = /^#\/partner(?:\/([a-z]+))?$/.exec(hash);
    this.adminLink.toggleAttribute("aria-current", admin !== null);
    this.partnerLink.toggleAttribute("aria-current", partner !== null);
    if (admin) {
      const section = admin[1] ?? "users";
      const page = this.adminPage(section);
      return page && this.show(main, sectionNav("Admin sections", "#/admin", ADMIN_SECTIONS, section), page);
    }
    if (partner) {
      const section = partner[1] ?? "";
      const page = section === "" ? new PartnerMediaView(this.api, this.admin) : section === "analytics" ? new AnalyticsView(this.admin, "partner") : null;
      return page && this.show(main, sectionNav("Partner sections", "#/partner", PARTNER_SECTIONS, section), page);
    }
    return null;
  }

  private adminPage(section: string): ConsolePage | null {
    switch (section) {
      case "users":
        return new UsersView(this.admin);
      case "moderation":
        return new ModerationView(this.admin);
      case "settings":
        return new SettingsView(this.admin);
      case "analytics":
        return new AnalyticsView(this.admin, "admin");
      case "audit":
        return new AuditView(this.admin);
      case "maintenance":
        return new MaintenanceView(this.admin);
      default:
        return null;
    }
  }

  private show(main: HTMLElement, nav: HTMLElement, page: ConsolePage): { dispose(): void } {
    replaceChildren(main, nav, page.root);
    void page.load().then(() => main.focus());
    return { dispose: () => page.dispose?.() };
  }
}
