// The person's own account (#/account): export everything they store and did (POST /me/export, followed at
// GET /me/export/{job_id} until its archive can be downloaded), and erase their account (DELETE /me).
// The export being followed is remembered per person in localStorage (its id only), so leaving the page or
// reloading does not lose it: the API allows one export at a time and has no listing of them.

import type { Api } from "./api";
import { ConsolePage, StatusLine } from "./admin";
import { h } from "./dom";

export interface ExportVolume {
  url: string;
  name: string;
  size?: number | null;
}

export interface ExportProgress {
  job_id: string;
  status: "queued" | "running" | "done" | "failed";
  items_done: number;
  items_total: number;
  download_url: string | null;
  url_expires_in: number | null;
  error: string | null;
  volumes?: ExportVolume[] | null;
}

const POLL_MS = 2000;

/** The archives a finished export offers: every volume when the API lists them, else its one download link. */
export function exportArchives(progress: ExportProgress): ExportVolume[] {
  if (progress.volumes && progress.volumes.length > 0) return progress.volumes;
  return progress.download_url ? [{ url: progress.download_url, name: "media-vault-export.zip" }] : [];
}

/** What the progress line says of an export. */
export function exportStatusText(progress: ExportProgress): string {
  switch (progress.status) {
    case "queued":
      return "Export queued…";
    case "running":
      return progress.items_total > 0
        ? `Exporting: ${progress.items_done} of ${progress.items_total} items written…`
        : "Exporting: counting your items…";
    case "done": {
      const count = exportArchives(progress).length;
      return `Your export is ready: ${progress.items_done} items in ${count} archive${count === 1 ? "" : "s"}. Links work for a few minutes; come back for fresh ones.`;
    }
    default:
      return `The export failed: ${progress.error ?? "no reason was given"}`;
  }
}

/** Erasing needs the person's own username typed back, exactly. */
export function erasureConfirmed(typed: string, username: string): boolean {
  return username !== "" && typed.trim() === username;
}

export class AccountView implements ConsolePage {
  readonly root: HTMLElement;
  private readonly exportStatus = new StatusLine();
  private readonly progress = h("progress", { max: 1, value: 0, hidden: true, "aria-label": "Export progress" });
  private readonly archives = h("ul", { class: "export-archives", "aria-label": "Export archives" });
  private readonly exportButton = h("button", { type: "button", class: "primary" }, "Export my data");
  private readonly eraseStatus = new StatusLine();
  private timer: number | undefined;
  private disposed = false;

  constructor(
    private readonly api: Api,
    private readonly userId: string,
    private readonly username: string,
    private readonly signOut: () => void,
  ) {
    this.exportButton.addEventListener("click", () => void this.startExport());
    const confirmInput = h("input", { id: "erase-confirm", type: "text", autocomplete: "off", spellcheck: false });
    const eraseButton = h("button", { type: "button", class: "danger-confirm", disabled: true }, "Delete my account and data");
    confirmInput.addEventListener("input", () => {
      eraseButton.disabled = !erasureConfirmed(confirmInput.value, this.username);
    });
    eraseButton.addEventListener("click", () => void this.erase(eraseButton));
    this.root = h(
      "section",
      { class: "account-page", "aria-labelledby": "account-heading" },
      h("h1", { id: "account-heading" }, "Your account"),
      h(
        "section",
        { "aria-labelledby": "export-heading" },
        h("h2", { id: "export-heading" }, "Export your data"),
        h(
          "p",
          {},
          "A zip of every original (all versions), rendition and metadata, the shares you gave and received, your albums, notifications and the log of who opened your media.",
        ),
        this.exportButton,
        this.exportStatus.el,
        this.progress,
        this.archives,
      ),
      h(
        "section",
        { "aria-labelledby": "erase-heading", class: "danger-zone" },
        h("h2", { id: "erase-heading" }, "Delete your account"),
        h(
          "p",
          {},
          "Erases your originals with every version, renditions, items, shares both ways, links, albums and notifications. The audit log keeps a pseudonym instead of you. This cannot be undone.",
        ),
        h(
          "div",
          { class: "field" },
          h("label", { for: "erase-confirm" }, `Type your username (${this.username}) to confirm`),
          confirmInput,
        ),
        eraseButton,
        this.eraseStatus.el,
      ),
    );
  }

  private get storageKey(): string {
    return `media-vault.export.${this.userId}`;
  }

  async load(): Promise<void> {
    const jobId = localStorage.getItem(this.storageKey);
    if (jobId) await this.follow(jobId);
  }

  dispose(): void {
    this.disposed = true;
    window.clearTimeout(this.timer);
  }

  private async startExport(): Promise<void> {
    this.exportButton.disabled = true;
    this.archives.replaceChildren();
    try {
      const accepted = await this.api.call<{ job_id: string }>("POST", "/me/export");
      localStorage.setItem(this.storageKey, accepted.job_id);
      await this.follow(accepted.job_id);
    } catch (error) {
      this.exportStatus.fail(error);
      this.exportButton.disabled = false;
    }
  }

  private async follow(jobId: string): Promise<void> {
    if (this.disposed) return;
    let progress: ExportProgress;
    try {
      progress = await this.api.call<ExportProgress>("GET", `/me/export/${encodeURIComponent(jobId)}`);
    } catch (error) {
      // An export that is gone (finished long ago and cleaned up) is simply forgotten.
      localStorage.removeItem(this.storageKey);
      this.exportStatus.fail(error);
      this.exportButton.disabled = false;
      return;
    }
    this.exportStatus.say(exportStatusText(progress));
    this.progress.hidden = progress.status !== "running";
    this.progress.max = Math.max(progress.items_total, 1);
    this.progress.value = progress.items_done;
    if (progress.status === "queued" || progress.status === "running") {
      this.exportButton.disabled = true;
      this.timer = window.setTimeout(() => void this.follow(jobId), POLL_MS);
      return;
    }
    this.exportButton.disabled = false;
    if (progress.status === "failed") {
      this.exportStatus.fail(new Error(exportStatusText(progress)));
      localStorage.removeItem(this.storageKey);
      return;
    }
    this.archives.replaceChildren(
      ...exportArchives(progress).map((archive) =>
        h("li", {}, h("a", { href: archive.url, download: archive.name, rel: "noopener" }, `Download ${archive.name}`)),
      ),
    );
  }

  private async erase(button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    this.eraseStatus.say("Erasing your account…");
    try {
      await this.api.call("DELETE", "/me");
      localStorage.removeItem(this.storageKey);
      this.eraseStatus.say("Your account is closed and its data is being erased. Signing you out…");
      window.setTimeout(this.signOut, 1500);
    } catch (error) {
      this.eraseStatus.fail(error);
      button.disabled = false;
    }
  }
}
