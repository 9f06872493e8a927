// The versions of an item's original: a numbered list (oldest is 1), restoring an older one after a confirmation,
// and uploading a replacement. Either change starts processing again; the panel follows it to the end.

import { ApiError, postToStorage, PresignedPost } from "./api";
import { MultipartUpload, UploadPaused } from "./upload_parts";
import { formatBytes, h, replaceChildren } from "./dom";
import { ItemApi, ItemMedia, OriginalVersion, pause } from "./item_api";

const FINAL = new Set(["ready", "failed", "rejected"]);
const POLL_MS = 1000;
const POLL_LIMIT_MS = 10 * 60 * 1000;

/** The API's words for a failure, else the error's own. */
export function errorText(error: unknown): string {
  return error instanceof ApiError ? error.display : String(error instanceof Error ? error.message : error);
}

/** A status line that can turn into an alert (for errors) and back. */
export function statusLine(className: string): { el: HTMLElement; say(text: string): void; fail(error: unknown): void } {
  const el = h("p", { class: className, role: "status", "aria-live": "polite" });
  return {
    el,
    say(text: string): void {
      el.setAttribute("role", "status");
      el.className = className;
      el.textContent = text;
    },
    fail(error: unknown): void {
      el.setAttribute("role", "alert");
      el.className = `${className} error`;
      el.textContent = errorText(error);
    },
  };
}

/**
 * Ask before an action that cannot be taken back easily: `trigger` is swapped for the question with a confirm and
 * a cancel button (focus moves to cancel, the safe choice); either answer puts `trigger` back.
 */
export function askFirst(trigger: HTMLButtonElement, question: string, confirmLabel: string, onConfirm: () => void): void {
  const confirm = h("button", { type: "button", class: "danger-confirm" }, confirmLabel);
  const cancel = h("button", { type: "button" }, "Cancel");
  const box = h("span", { class: "confirm", role: "group", "aria-label": question }, h("span", {}, question), confirm, cancel);
  const done = (): void => {
    box.replaceWith(trigger);
    trigger.focus();
  };
  confirm.addEventListener("click", () => {
    done();
    onConfirm();
  });
  cancel.addEventListener("click", done);
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape") done();
  });
  trigger.replaceWith(box);
  cancel.focus();
}

/**
 * Poll the item until processing ends (bounded), telling `onStatus` whenever its status changes. Stops early, with
 * null, when `alive()` turns false (the person left the page).
 */
export async function followProcessing(
  items: ItemApi,
  mediaId: string,
  alive: () => boolean,
  onStatus: (media: ItemMedia) => void,
): Promise<ItemMedia | null> {
  const started = Date.now();
  let last = "";
  while (alive()) {
    const media = await items.get(mediaId);
    if (media.status !== last) {
      last = media.status;
      onStatus(media);
    }
    if (FINAL.has(media.status)) return media;
    if (Date.now() - started > POLL_LIMIT_MS) throw new Error("Processing is taking long; reload the page later to see the result.");
    await pause(POLL_MS);
  }
  return null;
}

export class VersionsPanel {
  readonly root: HTMLElement;
  private readonly list: HTMLTableSectionElement;
  private readonly status = statusLine("form-status versions-status");
  private readonly uploadForm: HTMLElement;
  private readonly progress: HTMLProgressElement;
  private media: ItemMedia;
  private busy = false;

  /** `onChanged` hears the item whenever a version change moves it on (processing, then ready). */
  constructor(
    private readonly items: ItemApi,
    media: ItemMedia,
    private readonly onChanged: (media: ItemMedia) => void,
    /** False for an admin looking at someone else's item: the list only, no upload or restore. */
    private readonly changeable = true,
  ) {
    this.media = media;
    this.list = h("tbody");
    const input = h("input", { type: "file", id: "version-file", accept: media.kind === "video" ? "video/*" : "image/*" });
    input.addEventListener("change", () => {
      const file = input.files?.[0];
      input.value = "";
      if (file) void this.uploadVersion(file);
    });
    this.progress = h("progress", { max: 100, value: 0, hidden: true, "aria-label": "Upload progress of the new version" });
    this.uploadForm = h(
      "div",
      { class: "field version-upload" },
      h("label", { for: "version-file" }, "Upload a new version"),
      input,
      h("small", { id: "version-file-hint" }, "The current file stays as an older version you can restore."),
      this.progress,
    );
    input.setAttribute("aria-describedby", "version-file-hint");
    this.root = h(
      "section",
      { class: "versions", "aria-labelledby": "versions-heading" },
      h("h2", { id: "versions-heading" }, "Versions"),
      h(
        "table",
        { class: "versions-table" },
        h("caption", { class: "visually-hidden" }, "Versions of the original, newest first"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Version"), h("th", { scope: "col" }, "Saved"), h("th", { scope: "col" }, "Size"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Action")))),
        this.list,
      ),
      this.uploadForm,
      this.status.el,
    );
  }

  /** The item as the page shows it now (a trashed item changes no versions). */
  update(media: ItemMedia): void {
    this.media = media;
    this.uploadForm.hidden = Boolean(media.trashed_at) || !this.changeable;
  }

  async load(): Promise<void> {
    try {
      this.show(await this.items.versions(this.media.media_id));
    } catch (error) {
      this.status.fail(error);
    }
  }

  private show(versions: OriginalVersion[]): void {
    const count = versions.length;
    replaceChildren(
      this.list,
      ...versions.map((version, index) => {
        const number = count - index; // newest first: the oldest is version 1
        const when = new Date(version.last_modified).toLocaleString();
        const restore = h("button", { type: "button", "aria-label": `Restore version ${number}` }, "Restore");
        restore.addEventListener("click", () =>
          askFirst(restore, `Make version ${number} (${when}) the current one?`, `Yes, restore version ${number}`, () => void this.restore(version.version_id, number)),
        );
        return h(
          "tr",
          { "data-version": number, "data-current": version.is_current ? "true" : "false" },
          h("th", { scope: "row" }, `Version ${number}`, version.is_current ? h("span", { class: "badge" }, "current") : null),
          h("td", {}, h("time", { datetime: version.last_modified }, when)),
          h("td", {}, formatBytes(version.size)),
          h("td", {}, version.is_current || this.media.trashed_at || !this.changeable ? null : restore),
        );
      }),
    );
  }

  private async restore(versionId: string, number: number): Promise<void> {
    await this.change(`Restoring version ${number}…`, `Version ${number} is current again`, async () => {
      this.onChanged(await this.items.restoreVersion(this.media.media_id, versionId));
    });
  }

  private async uploadVersion(file: File): Promise<void> {
    await this.change(`Uploading ${file.name}…`, "The new version is current", async () => {
      const issued = await this.items.issueVersion(this.media.media_id, file);
      this.progress.hidden = false;
      this.progress.value = 0;
      if (issued.upload?.method === "MULTIPART") {
        await this.sendInParts(issued.media_id, file);
        return;
      }
      await postToStorage(issued.upload as PresignedPost, file, (fraction) => {
        this.progress.value = Math.round(fraction * 100);
      });
    });
  }

  /** A large version goes in parts, as a large upload does (upload_parts.ts): each part is retried with backoff,
   * and once more from the parts listing (only what storage lacks) before the page gives up with the reason. */
  private async sendInParts(mediaId: string, file: File): Promise<void> {
    const upload = new MultipartUpload(this.items.api, mediaId, file, {
      onProgress: (sent) => {
        this.progress.value = Math.round((sent / Math.max(file.size, 1)) * 100);
      },
    });
    try {
      await upload.run();
    } catch (error) {
      if (!(error instanceof UploadPaused)) throw error;
      this.status.say(`The connection dropped (${error.message}); continuing…`);
      await upload.run();
    }
  }

  /** Run one version change, then follow processing and list the versions again. */
  private async change(starting: string, finished: string, start: () => Promise<void>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.root.setAttribute("aria-busy", "true");
    this.status.say(starting);
    try {
      await start();
      this.status.say("Processing…");
      const media = await followProcessing(this.items, this.media.media_id, () => this.root.isConnected, this.onChanged);
      if (!media) return;
      await this.load();
      if (media.status === "ready") this.status.say(`${finished}.`);
      else this.status.fail(new Error(`Processing ended ${media.status}${media.failure_reason ? `: ${media.failure_reason}` : ""}.`));
    } catch (error) {
      this.status.fail(error);
    } finally {
      this.busy = false;
      this.progress.hidden = true;
      this.root.setAttribute("aria-busy", "false");
    }
  }
}
