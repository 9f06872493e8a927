// Uploads: issue, POST to storage with per-file progress, then poll the item until processing ends.
// The tracker outlives page changes, so an item still turns ready when the person has moved on.

import { Api, ApiError, Media, postToStorage, PresignedPost } from "./api";
import { formatBytes, h } from "./dom";

const FINAL = new Set(["ready", "failed", "rejected"]);
const POLL_MS = 1000;
const POLL_LIMIT_MS = 10 * 60 * 1000;

type MediaListener = (media: Media) => void;

export class UploadTracker {
  readonly panel: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly listeners = new Set<MediaListener>();

  constructor(private readonly api: Api) {
    const input = h("input", { type: "file", id: "upload-files", multiple: true, accept: "image/*,video/*" });
    input.addEventListener("change", () => {
      const files = Array.from(input.files ?? []);
      input.value = "";
      for (const file of files) void this.upload(file);
    });
    this.list = h("ul", { class: "uploads", "aria-label": "Uploads" });
    this.panel = h(
      "section",
      { class: "upload-panel", "aria-labelledby": "upload-heading" },
      h("h2", { id: "upload-heading" }, "Upload"),
      h("label", { for: "upload-files" }, "Choose photos or videos to upload"),
      input,
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

  async upload(file: File): Promise<void> {
    const progress = h("progress", { max: 100, value: 0 });
    const state = h("span", { class: "upload-state", role: "status" }, "Starting…");
    const row = h("li", { class: "upload", "data-filename": file.name }, h("span", {}, `${file.name} (${formatBytes(file.size)})`), progress, state);
    progress.setAttribute("aria-label", `Upload progress of ${file.name}`);
    this.list.prepend(row);
    const show = (text: string, status: string): void => {
      state.textContent = text;
      row.dataset.status = status;
    };
    try {
      const issued = await this.api.issueUpload(file);
      if (issued.duplicate) {
        show("Already in your library", "duplicate");
        progress.value = 100;
        return;
      }
      if (issued.upload?.method !== "POST") {
        show("Files this large need the resumable upload, which the console does not do yet: use the CLI.", "error");
        return;
      }
      this.publish(await this.api.getMedia(issued.media_id));
      show("Uploading…", "uploading");
      await postToStorage(issued.upload as PresignedPost, file, (fraction) => {
        progress.value = Math.round(fraction * 100);
      });
      show("Processing…", "processing");
      const media = await this.poll(issued.media_id);
      show(media.status === "ready" ? "Ready" : `${media.status}: ${media.failure_reason ?? ""}`, media.status);
    } catch (error) {
      show(error instanceof ApiError ? error.display : String(error instanceof Error ? error.message : error), "error");
      row.querySelector(".upload-state")?.setAttribute("role", "alert");
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
