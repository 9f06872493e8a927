// The public API, and nothing else: every error surfaces as the API's own message.

import type { Session } from "./auth";

export type MediaStatus = "pending" | "processing" | "ready" | "failed" | "rejected";
export type MediaKind = "image" | "video";

export interface Rendition {
  url: string;
  width: number;
  height: number;
  content_type: string;
}

export interface Media {
  media_id: string;
  version: number;
  status: MediaStatus;
  kind: MediaKind;
  filename: string;
  content_type: string;
  size: number;
  width: number | null;
  height: number | null;
  title: string;
  description: string;
  tags: string[];
  taken_at: string | null;
  metadata: Record<string, unknown>;
  placeholder: string | null;
  failure_reason: string | null;
  created_at: string;
  updated_at: string;
  renditions: Record<string, Rendition>;
}

export interface MediaPage {
  items: Media[];
  next_cursor: string | null;
}

export interface PresignedPost {
  method: "POST";
  url: string;
  fields: Record<string, string>;
  expires_at: string;
}

export interface UploadIssued {
  media_id: string;
  upload?: PresignedPost | { method: string };
  duplicate?: boolean;
}

export interface MediaEdit {
  version: number;
  title?: string;
  description?: string;
  tags?: string[];
}

export interface LibraryFilters {
  type?: MediaKind | "";
  status?: MediaStatus | "";
  q?: string;
}

/** An error answered by the API: its status, code and message ({"code", "message"}). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: { field: string; problem: string }[] = [],
  ) {
    super(message);
  }

  /** The message a person reads: the API's, with any field problems it listed. */
  get display(): string {
    if (this.problems.length === 0) return this.message;
    return `${this.message}: ${this.problems.map((p) => `${p.field}: ${p.problem}`).join("; ")}`;
  }
}

async function apiError(response: Response): Promise<ApiError> {
  const body = (await response.json().catch(() => null)) as {
    code?: string;
    message?: string;
    Message?: string;
    errors?: { field: string; problem: string }[];
  } | null;
  const message = body?.message ?? body?.Message ?? `The API answered ${response.status} ${response.statusText}`;
  return new ApiError(response.status, body?.code ?? String(response.status), message, body?.errors ?? []);
}

export class Api {
  constructor(
    private readonly baseUrl: string,
    private readonly session: Session,
  ) {}

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const send = async (): Promise<Response> =>
      fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${await this.session.token()}`,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    let response = await send();
    if (response.status === 401 && this.session.signedIn) {
      // The token may have been refused for its age (clock skew, a sleeping laptop): refresh once, retry.
      await this.session.refresh();
      if (this.session.signedIn) response = await send();
    }
    if (!response.ok) throw await apiError(response);
    return (response.status === 204 ? undefined : await response.json()) as T;
  }

  listMedia(filters: LibraryFilters, cursor: string | null, limit = 24): Promise<MediaPage> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (filters.type) query.set("type", filters.type);
    if (filters.status) query.set("status", filters.status);
    if (filters.q) query.set("q", filters.q);
    if (cursor) query.set("cursor", cursor);
    return this.request("GET", `/media?${query}`);
  }

  getMedia(mediaId: string): Promise<Media> {
    return this.request("GET", `/media/${encodeURIComponent(mediaId)}`);
  }

  editMedia(mediaId: string, edit: MediaEdit): Promise<Media> {
    return this.request("PATCH", `/media/${encodeURIComponent(mediaId)}`, edit);
  }

  issueUpload(file: File): Promise<UploadIssued> {
    return this.request("POST", "/uploads", {
      filename: file.name,
      content_type: file.type || "application/octet-stream",
      size: file.size,
    });
  }
}

/** POST a file to a presigned POST target, reporting progress (0..1); storage errors are S3's XML messages. */
export function postToStorage(target: PresignedPost, file: File, onProgress: (fraction: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(target.fields)) form.append(name, value);
    form.append("file", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", target.url);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
        return;
      }
      const xml = new DOMParser().parseFromString(xhr.responseText, "application/xml");
      const message = xml.querySelector("Message")?.textContent ?? `Storage answered ${xhr.status}`;
      reject(new ApiError(xhr.status, xml.querySelector("Code")?.textContent ?? "storage_error", message));
    });
    xhr.addEventListener("error", () => reject(new Error("The upload could not reach storage (network error).")));
    xhr.send(form);
  });
}
