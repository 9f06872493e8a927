// Uploads: pick files or folders (or drop them), declare each, send its bytes to storage with per-file and total
// progress, then poll the item until processing ends. Large files go in parts (upload_parts.ts): a dropped
// connection is retried, a paused upload resumes from what storage holds, even after a reload.
// The tracker outlives page changes, so an item still turns ready when the person has moved on.

import { Api, ApiError, Media, postToStorage, PresignedPost, UploadIssued } from "./api";
import { formatBytes, h } from "./dom";
import { EntryLike, MultipartUpload, ResumeStore, skipReason, UploadPaused, UploadStopped, walkEntries, WalkedFile } from "./upload_parts";

const FINAL = new Set(["ready", "failed", "rejected"]);
const POLL_MS = 1000;
const POLL_LIMIT_MS = 10 * 60 * 1000;
/** Files sent at once; the others wait in the queue. */
export const FILE_CONCURRENCY = 3;
/** Files up to this size are hashed (SHA-256) so the API can skip a duplicate; larger ones are not read twice. */
const HASH_LIMIT_BYTES = 64 * 1024 * 1024;

type MediaListener = (media: Media) => void;

function display(error: unknown): string {
  if (error instanceof ApiError) return error.display;
  return error instanceof Error ? error.message : String(error);
}

/** A counting semaphore: at most `size` holders at once, the rest wait in order. */
class Slots {
  private readonly waiting: (() => void)[] = [];

  constructor(private free: number) {}

  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    };
  }
}

/** One file's line in the panel: name, progress bar, state, and its buttons. */
class Row {
  readonly el: HTMLLIElement;
  private readonly progress: HTMLProgressElement;
  private readonly state: HTMLElement;
  private readonly actions: HTMLElement;
  sent = 0;
  /** The transfer is over (sent, duplicate, failed, cancelled): the batch counts it as done. */
  finished = false;
  /** Its bytes no longer count in the batch total (it failed or was cancelled). */
  dropped = false;
  cancelled = false;

  constructor(
    readonly file: File,
    readonly path: string,
    private readonly changed: () => void,
  ) {
    this.progress = h("progress", { max: 100, value: 0, "aria-label": `Upload progress of ${file.name}` });
    this.state = h("span", { class: "upload-state", role: "status" }, "Queued");
    this.actions = h("span", { class: "upload-actions" });
    this.el = h(
      "li",
      { class: "upload", "data-filename": file.name, "data-status": "queued" },
      h("span", { class: "upload-name" }, `${path} (${formatBytes(file.size)})`),
      this.progress,
      this.state,
      this.actions,
    );
  }

  show(text: string, status: string, alert = false): void {
    this.state.textContent = text;
    this.state.setAttribute("role", alert ? "alert" : "status");
    this.el.dataset.status = status;
  }

  setMediaId(mediaId: string): void {
    this.el.dataset.mediaId = mediaId;
  }

  progressTo(sent: number): void {
    this.sent = Math.min(sent, this.file.size);
    this.progress.value = this.file.size === 0 ? 100 : Math.round((this.sent / this.file.size) * 100);
    this.changed();
  }

  finish(dropped = false): void {
    this.finished = true;
    this.dropped = dropped;
    this.changed();
  }

  setActions(...buttons: HTMLButtonElement[]): void {
    this.actions.replaceChildren(...buttons);
  }
}

/** The total of the current batch: bytes sent of the batch's bytes, and files done of files picked. */
class BatchProgress {
  readonly el: HTMLElement;
  private readonly bar: HTMLProgressElement;
  private readonly files: HTMLElement;
  private readonly bytes: HTMLElement;
  private rows: Row[] = [];

  constructor() {
    this.bar = h("progress", { max: 100, value: 0, "aria-label": "Total upload progress" });
    this.files = h("span", { class: "upload-total-files", role: "status" });
    this.bytes = h("span", { class: "upload-total-bytes" });
    this.el = h("div", { class: "upload-total", hidden: true }, this.bar, this.files, this.bytes);
  }

  add(row: Row): void {
    if (this.rows.every((r) => r.finished)) this.rows = []; // the previous batch is over: a new one starts
    this.rows.push(row);
    this.render();
  }

  render(): void {
    const counted = this.rows.filter((r) => !r.dropped);
    const total = counted.reduce((sum, r) => sum + r.file.size, 0);
    const sent = counted.reduce((sum, r) => sum + r.sent, 0);
    const done = this.rows.filter((r) => r.finished).length;
    this.el.hidden = this.rows.length === 0;
    this.el.dataset.done = String(done === this.rows.length);
    this.bar.value = total === 0 ? (done === this.rows.length ? 100 : 0) : Math.round((sent / total) * 100);
    this.files.textContent = `${done} of ${this.rows.length} ${this.rows.length === 1 ? "file" : "files"}`;
    this.bytes.textContent = `${formatBytes(sent)} of ${formatBytes(total)}`;
  }
}

async function sha256Hex(file: File): Promise<string | undefined> {
  if (file.size > HASH_LIMIT_BYTES || !globalThis.crypto?.subtle) return undefined;
  try {
    const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
    return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
  } catch {
    return undefined; // deduplication is a nicety: the upload goes on without it
  }
}

export class UploadTracker {
  readonly panel: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly listeners = new Set<MediaListener>();
  private readonly slots = new Slots(FILE_CONCURRENCY);
  private readonly batch = new BatchProgress();
  private readonly resumable: ResumeStore;
  /** Items whose parts this page is sending or holds paused: picking the file again must not start a twin. */
  private readonly active = new Set<string>();

  constructor(private readonly api: Api) {
    this.resumable = new ResumeStore(api.userId);
    const input = h("input", { type: "file", id: "upload-files", multiple: true, accept: "image/*,video/*" });
    input.addEventListener("change", () => {
      const files = Array.from(input.files ?? []);
      input.value = "";
      this.addFiles(files.map((file) => ({ file, path: file.name })));
    });
    const folder = h("input", { type: "file", id: "upload-folder", multiple: true, webkitdirectory: true });
    folder.addEventListener("change", () => {
      const files = Array.from(folder.files ?? []);
      folder.value = "";
      this.addFiles(files.map((file) => ({ file, path: file.webkitRelativePath || file.name })));
    });
    const zone = h(
      "div",
      { class: "drop-zone", tabindex: 0, role: "button", "aria-label": "Drop photos, videos or folders here, or press Enter to choose files" },
      h("span", { "aria-hidden": "true" }, "Drop photos, videos or folders here"),
    );
    zone.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        input.click();
      }
    });
    zone.addEventListener("click", () => input.click());
    zone.addEventListener("dragenter", (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    });
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
      zone.classList.add("dragging");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("dragging");
      this.drop(event.dataTransfer);
    });
    this.list = h("ul", { class: "uploads", "aria-label": "Uploads" });
    this.panel = h(
      "section",
      { class: "upload-panel", "aria-labelledby": "upload-heading" },
      h("h2", { id: "upload-heading" }, "Upload"),
      zone,
      h(
        "div",
        { class: "upload-pickers" },
        h("div", { class: "field" }, h("label", { for: "upload-files" }, "Choose photos or videos to upload"), input),
        h("div", { class: "field" }, h("label", { for: "upload-folder" }, "Choose a folder to upload"), folder),
      ),
      this.batch.el,
      this.list,
    );
  }

  /** Hear about every item an upload creates or advances (pending -> processing -> ready). */
  subscribe(listener: MediaListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private publish(media: Media): void {
    for (const listener of this.listeners) listener(media);
  }

  /** Upload one file (queued behind the files already being sent). */
  upload(file: File): Promise<void> {
    return this.addFiles([{ file, path: file.name }])[0] ?? Promise.resolve();
  }

  /** Queue files: photos and videos are uploaded, anything else is listed as skipped. */
  addFiles(files: WalkedFile<File>[]): Promise<void>[] {
    const started: Promise<void>[] = [];
    for (const { file, path } of files) {
      const reason = skipReason(file);
      if (reason !== null) {
        this.skip(path, file.name, reason);
        continue;
      }
      const row = new Row(file, path, () => this.batch.render());
      this.list.prepend(row.el);
      this.batch.add(row);
      started.push(this.transfer(row));
    }
    return started;
  }

  private skip(path: string, name: string, reason: string): void {
    this.list.prepend(
      h(
        "li",
        { class: "upload skipped", "data-filename": name, "data-status": "skipped" },
        h("span", { class: "upload-name" }, path),
        h("span", { class: "upload-state", role: "status" }, `Skipped: ${reason}`),
      ),
    );
  }

  /** A drop: entries are taken synchronously (the DataTransfer empties after the event), folders walked after. */
  private drop(data: DataTransfer | null): void {
    if (!data) return;
    const entries: EntryLike[] = [];
    const loose: File[] = [];
    for (const item of Array.from(data.items ?? [])) {
      if (item.kind !== "file") continue;
      const entry = typeof item.webkitGetAsEntry === "function" ? item.webkitGetAsEntry() : null;
      if (entry) entries.push(entry as unknown as EntryLike);
      else {
        const file = item.getAsFile();
        if (file) loose.push(file);
      }
    }
    if (entries.length === 0 && loose.length === 0) loose.push(...Array.from(data.files ?? []));
    void walkEntries<File>(entries, (path) => this.skip(path, path.split("/").pop() ?? path, "could not be read")).then((walked) =>
      this.addFiles([...loose.map((file) => ({ file, path: file.name })), ...walked]),
    );
  }

  private async transfer(row: Row): Promise<void> {
    const file = row.file;
    const slot: { release: (() => void) | null } = { release: await this.slots.acquire() };
    try {
      row.show("Starting…", "starting");
      let upload = await this.continuation(row);
      if (!upload) {
        const sha256 = await sha256Hex(file);
        const issued = await this.api.call<UploadIssued>("POST", "/uploads", {
          filename: file.name,
          content_type: file.type || "application/octet-stream",
          size: file.size,
          ...(sha256 ? { sha256 } : {}),
        });
        row.setMediaId(issued.media_id);
        if (issued.duplicate) {
          row.show("Already in your library", "duplicate");
          row.progressTo(file.size);
          row.finish();
          return;
        }
        this.publish(await this.api.getMedia(issued.media_id));
        if (issued.upload?.method === "POST") {
          row.show("Uploading…", "uploading");
          await postToStorage(issued.upload as PresignedPost, file, (fraction) => row.progressTo(fraction * file.size));
          row.progressTo(file.size);
        } else if (issued.upload?.method === "MULTIPART") {
          this.resumable.remember(file, issued.media_id);
          upload = this.multipart(row, issued.media_id);
        } else {
          throw new Error(`The API answered an upload method the console does not know (${issued.upload?.method ?? "none"}).`);
        }
      }
      if (upload) {
        const media = await this.sendParts(row, upload, slot);
        if (media === null) return; // cancelled: the Cancel button shows the outcome
        row.progressTo(file.size);
        this.publish(media);
      }
      row.finish();
    } catch (error) {
      row.show(display(error), "error", true);
      row.setActions();
      row.finish(true);
      return;
    } finally {
      slot.release?.();
    }
    try {
      row.show("Processing…", "processing");
      const done = await this.poll(row.el.dataset.mediaId ?? "");
      row.show(done.status === "ready" ? "Ready" : `${done.status}: ${done.failure_reason ?? ""}`, done.status, done.status !== "ready");
    } catch (error) {
      row.show(display(error), "error", true);
    }
  }

  private multipart(row: Row, mediaId: string): MultipartUpload {
    row.setMediaId(mediaId);
    return new MultipartUpload(this.api, mediaId, row.file, {
      onProgress: (sent) => {
        if (row.el.dataset.status === "retrying") row.show("Uploading…", "uploading");
        row.progressTo(sent);
      },
      onRetry: (partNumber, error, delayMs) =>
        row.show(`Retrying part ${partNumber} in ${Math.max(1, Math.round(delayMs / 1000))} s (${display(error)})`, "retrying"),
    });
  }

  /** The unfinished upload of this very file remembered from an earlier visit, if the server still has it. */
  private async continuation(row: Row): Promise<MultipartUpload | null> {
    const mediaId = this.resumable.get(row.file);
    if (mediaId === null) return null;
    if (this.active.has(mediaId)) throw new Error("This file is already being uploaded (see above): Resume or Cancel it there.");
    const upload = this.multipart(row, mediaId);
    try {
      row.show("Continuing the earlier upload…", "starting");
      await upload.listParts();
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 409)) {
        this.resumable.forget(row.file); // gone or finished: declare it anew
        delete row.el.dataset.mediaId;
        return null;
      }
      throw error;
    }
    this.publish(await this.api.getMedia(mediaId));
    return upload;
  }

  /**
   * Send the parts; when retries run out the row pauses (its queue slot freed) until Resume or Cancel.
   * The item as completed, or null when cancelled.
   */
  private async sendParts(row: Row, upload: MultipartUpload, slot: { release: (() => void) | null }): Promise<Media | null> {
    const cancel = h("button", { type: "button", class: "upload-cancel", "aria-label": `Cancel upload of ${row.file.name}` }, "Cancel");
    let decide: ((choice: "resume" | "cancel") => void) | null = null;
    cancel.addEventListener("click", () => {
      if (row.cancelled) return;
      row.cancelled = true;
      cancel.disabled = true;
      row.show("Cancelling…", "cancelling");
      void upload.abort().then(
        () => {
          this.resumable.forget(row.file);
          row.show("Cancelled", "cancelled");
          row.setActions();
          row.finish(true);
        },
        (error: unknown) => {
          row.show(display(error), "error", true);
          row.setActions();
          row.finish(true);
        },
      );
      decide?.("cancel");
    });
    this.active.add(upload.mediaId);
    try {
      for (;;) {
        row.show("Uploading…", "uploading");
        row.setActions(cancel);
        try {
          const media = await upload.run();
          this.resumable.forget(row.file);
          row.setActions();
          return media;
        } catch (error) {
          if (row.cancelled || error instanceof UploadStopped) return null;
          if (!(error instanceof UploadPaused)) throw error;
          row.show(`Paused: ${error.message} Resume when the connection is back.`, "paused", true);
        }
        const resume = h("button", { type: "button", class: "upload-resume", "aria-label": `Resume upload of ${row.file.name}` }, "Resume");
        row.setActions(resume, cancel);
        slot.release?.();
        slot.release = null;
        const choice = await new Promise<"resume" | "cancel">((resolve) => {
          decide = resolve;
          resume.addEventListener("click", () => resolve("resume"), { once: true });
        });
        decide = null;
        if (choice === "cancel") return null;
        row.show("Waiting to resume…", "queued");
        row.setActions(cancel);
        slot.release = await this.slots.acquire();
        if (row.cancelled) return null;
      }
    } finally {
      this.active.delete(upload.mediaId);
    }
  }

  private async poll(mediaId: string): Promise<Media> {
    const started = Date.now();
    for (;;) {
      const media = await this.api.getMedia(mediaId);
      this.publish(media);
      if (FINAL.has(media.status)) return media;
      if (Date.now() - started > POLL_LIMIT_MS) throw new Error("Processing is taking long; the item will turn ready later.");
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}
