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
  /** Whose item it is: an admin may open anyone's, and may not act in the owner's name. */
  owner_id: string;
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

export type Permission = "view" | "download" | "edit" | "reshare";

/** A grant, as GET /shares/incoming shows it to its grantee. */
export interface Share {
  share_id: string;
  resource_type: "media" | "album";
  resource_id: string;
  owner_id: string;
  /** The owner's username (null when their account is gone). */
  owner_name?: string | null;
  granted_by: string;
  permissions: Permission[];
  created_at: string;
  expires_at: string | null;
  status: "active" | "expired";
}

export interface AlbumCover {
  renditions: Record<string, Rendition>;
}

export interface Album {
  album_id: string;
  owner_id: string;
  title: string;
  description: string;
  cover: AlbumCover | null;
  item_count: number;
}

/** An item (`media`) or an album (`album`) shared with the caller, and the grant it came through. */
export interface SharedResource {
  share: Share;
  media: Media | null;
  album: Album | null;
}

export interface SharedPage {
  items: SharedResource[];
  next_cursor: string | null;
}

export interface Notification {
  notification_id: string;
  kind: "share.granted" | "share.revoked";
  read_at: string | null;
  actor_id: string;
  actor_name: string;
  share_id: string;
}

export interface NotificationPage {
  items: Notification[];
  next_cursor: string | null;
  unread_count: number;
}

export interface DownloadLink {
  url: string;
  filename: string;
  expires_at: string;
}

export interface LibraryFilters {
  type?: MediaKind | "";
  status?: MediaStatus | "";
  q?: string;
  tag?: string;
  /** Calendar days (YYYY-MM-DD), both ends included: uploaded (UTC) and taken (the camera's clock). */
  createdFrom?: string;
  createdTo?: string;
  takenFrom?: string;
  takenTo?: string;
  sort?: "created" | "taken";
  order?: "asc" | "desc";
}

/** GET /media's query for these filters: a day range covers the whole of its last day. */
export function libraryQuery(filters: LibraryFilters, cursor: string | null, limit: number): URLSearchParams {
  const query = new URLSearchParams({ limit: String(limit) });
  const set = (name: string, value: string | undefined): void => {
    if (value) query.set(name, value);
  };
  set("type", filters.type);
  set("status", filters.status);
  set("q", filters.q);
  set("tag", filters.tag?.trim().toLowerCase());
  set("created_from", filters.createdFrom && `${filters.createdFrom}T00:00:00`);
  set("created_to", filters.createdTo && `${filters.createdTo}T23:59:59`);
  set("taken_from", filters.takenFrom && `${filters.takenFrom}T00:00:00`);
  set("taken_to", filters.takenTo && `${filters.takenTo}T23:59:59`);
  if (filters.sort && filters.sort !== "created") query.set("sort", filters.sort);
  if (filters.order && filters.order !== "desc") query.set("order", filters.order);
  set("cursor", cursor ?? undefined);
  return query;
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
    // Field problems the message does not already spell out are appended to it.
    const extra = this.problems
      .map((p) => `${p.field}: ${p.problem}`)
      .filter((text) => !this.message.includes(text));
    return extra.length === 0 ? this.message : `${this.message}: ${extra.join("; ")}`;
  }
}

/** The API's error answer as an ApiError (also for the anonymous link routes, which have no Api session). */
export async function apiError(response: Response): Promise<ApiError> {
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

  /** The signed-in user's id. */
  get userId(): string {
    return this.session.userId;
  }

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

  /** Any route, for the modules that keep their own calls (sharing_api.ts): same token, retry and errors. */
  call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.request(method, path, body);
  }

  listMedia(filters: LibraryFilters, cursor: string | null, limit = 24): Promise<MediaPage> {
    return this.request("GET", `/media?${libraryQuery(filters, cursor, limit)}`);
  }

  getMedia(mediaId: string): Promise<Media> {
    return this.request("GET", `/media/${encodeURIComponent(mediaId)}`);
  }

  editMedia(mediaId: string, edit: MediaEdit): Promise<Media> {
    return this.request("PATCH", `/media/${encodeURIComponent(mediaId)}`, edit);
  }

  downloadLink(mediaId: string): Promise<DownloadLink> {
    return this.request("GET", `/media/${encodeURIComponent(mediaId)}/download`);
  }

  listIncoming(cursor: string | null, limit = 24): Promise<SharedPage> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set("cursor", cursor);
    return this.request("GET", `/shares/incoming?${query}`);
  }

  listNotifications(cursor: string | null, limit = 100, unreadOnly = false): Promise<NotificationPage> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (unreadOnly) query.set("unread_only", "true");
    if (cursor) query.set("cursor", cursor);
    return this.request("GET", `/notifications?${query}`);
  }

  markAllNotificationsRead(): Promise<{ marked: number; unread_count: number }> {
    return this.request("POST", "/notifications/read-all");
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
