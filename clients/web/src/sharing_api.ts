// The sharing routes the console calls: grants on items and albums, the caller's own grants, albums, notifications,
// and the anonymous share-link routes (no token: only the link's, and its password in X-Link-Password).

import { Album, Api, ApiError, apiError, DownloadLink, MediaPage, Permission, Rendition } from "./api";

export type ResourceKind = "media" | "album";

/** What a grant is on: an item or an album. */
export interface ResourceRef {
  kind: ResourceKind;
  id: string;
}

export type GranteeType = "user" | "org" | "link";

/** A grant as its grantor (or the resource's owner) sees it; a link's `token` and `url` come once, on creation. */
export interface Grant {
  share_id: string;
  resource_type: ResourceKind;
  resource_id: string;
  owner_id: string;
  grantee: { type: GranteeType; id: string; name: string };
  permissions: Permission[];
  granted_by: string;
  parent_share_id: string | null;
  created_at: string;
  expires_at: string | null;
  status: "active" | "expired";
  link: { password_protected: boolean; max_uses: number | null; uses: number; views: number; downloads: number } | null;
  token: string | null;
  url: string | null;
}

export interface GrantPage {
  items: Grant[];
  next_cursor: string | null;
}

export type GranteeRequest = { type: "user"; username: string } | { type: "user"; email: string } | { type: "org"; org: string } | { type: "link" };

export interface ShareRequest {
  grantee: GranteeRequest;
  permissions: Permission[];
  expires_at?: string;
  password?: string;
  max_uses?: number;
}

/** PATCH /shares/{id} (functions/api/models/shares.py ShareEdit): only these; `expires_at: null` never expires.
 * A link's password and use limit are fixed when it is created. */
export interface ShareChanges {
  permissions?: Permission[];
  expires_at?: string | null;
}

/** An album as its owner sees it: `version` goes back with every edit and move. */
export interface OwnedAlbum extends Album {
  cover_media_id: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface AlbumPage {
  items: OwnedAlbum[];
  next_cursor: string | null;
}

export interface AlbumChanges {
  version: number;
  title?: string;
  description?: string;
  cover_media_id?: string | null;
}

export interface NotificationEntry {
  notification_id: string;
  kind: "share.granted" | "share.revoked";
  created_at: string;
  read_at: string | null;
  actor_id: string;
  actor_name: string;
  resource: { type: string; id: string; title: string };
  permissions: Permission[];
  share_id: string;
}

export interface NotificationEntryPage {
  items: NotificationEntry[];
  next_cursor: string | null;
  unread_count: number;
}

/** An item's public fields, as a link holder sees them. */
export interface LinkedItem {
  media_id: string;
  title: string;
  description: string;
  kind: "image" | "video";
  width: number | null;
  height: number | null;
  taken_at: string | null;
  placeholder: string | null;
  renditions: Record<string, Rendition>;
}

export interface OpenedLink {
  type: "media" | "album";
  download_allowed: boolean;
  media: LinkedItem | null;
  album: { title: string; description: string; cover: LinkedItem | null; items: LinkedItem[]; next_cursor: string | null } | null;
}

const seg = encodeURIComponent;

function paging(cursor: string | null, limit: number, extra: Record<string, string> = {}): string {
  const query = new URLSearchParams({ limit: String(limit), ...extra });
  if (cursor) query.set("cursor", cursor);
  return query.toString();
}

function sharesPath(resource: ResourceRef): string {
  return resource.kind === "album" ? `/albums/${seg(resource.id)}/shares` : `/media/${seg(resource.id)}/shares`;
}

/** The signed-in caller's sharing calls. */
export class SharingApi {
  constructor(readonly api: Api) {}

  share(resource: ResourceRef, request: ShareRequest): Promise<Grant> {
    return this.api.call("POST", sharesPath(resource), request);
  }

  sharesOf(resource: ResourceRef): Promise<{ items: Grant[] }> {
    return this.api.call("GET", sharesPath(resource));
  }

  /** Change a grant's permissions or expiry (its grantor or the resource's owner); the grant as it now is. */
  editShare(shareId: string, changes: ShareChanges): Promise<Grant> {
    return this.api.call("PATCH", `/shares/${seg(shareId)}`, changes);
  }

  revoke(shareId: string): Promise<void> {
    return this.api.call("DELETE", `/shares/${seg(shareId)}`);
  }

  outgoing(cursor: string | null, limit = 20): Promise<GrantPage> {
    return this.api.call("GET", `/shares/outgoing?${paging(cursor, limit)}`);
  }

  albums(cursor: string | null, limit = 24): Promise<AlbumPage> {
    return this.api.call("GET", `/albums?${paging(cursor, limit)}`);
  }

  album(albumId: string): Promise<OwnedAlbum> {
    return this.api.call("GET", `/albums/${seg(albumId)}`);
  }

  createAlbum(title: string, description: string): Promise<OwnedAlbum> {
    return this.api.call("POST", "/albums", { title, description });
  }

  editAlbum(albumId: string, changes: AlbumChanges): Promise<OwnedAlbum> {
    return this.api.call("PATCH", `/albums/${seg(albumId)}`, changes);
  }

  deleteAlbum(albumId: string): Promise<void> {
    return this.api.call("DELETE", `/albums/${seg(albumId)}`);
  }

  albumItems(albumId: string, cursor: string | null, limit = 100): Promise<MediaPage> {
    return this.api.call("GET", `/albums/${seg(albumId)}/items?${paging(cursor, limit)}`);
  }

  addToAlbum(albumId: string, mediaIds: string[]): Promise<OwnedAlbum> {
    return this.api.call("POST", `/albums/${seg(albumId)}/items`, { media_ids: mediaIds });
  }

  /** Put an item right after `after` (null: first), at the album's current version. */
  moveInAlbum(albumId: string, mediaId: string, after: string | null, version: number): Promise<OwnedAlbum> {
    return this.api.call("PATCH", `/albums/${seg(albumId)}/items/${seg(mediaId)}`, { after, version });
  }

  removeFromAlbum(albumId: string, mediaId: string): Promise<void> {
    return this.api.call("DELETE", `/albums/${seg(albumId)}/items/${seg(mediaId)}`);
  }

  notifications(cursor: string | null, limit = 20): Promise<NotificationEntryPage> {
    return this.api.call("GET", `/notifications?${paging(cursor, limit)}`);
  }

  markRead(notificationId: string): Promise<NotificationEntry> {
    return this.api.call("POST", `/notifications/${seg(notificationId)}/read`);
  }

  markAllRead(): Promise<{ marked: number; unread_count: number }> {
    return this.api.call("POST", "/notifications/read-all");
  }
}

/** The anonymous link routes: no Authorization header, the password (when there is one) in X-Link-Password. */
export class LinkClient {
  constructor(private readonly baseUrl: string) {}

  private async get<T>(path: string, password: string | null): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      headers: password ? { "X-Link-Password": password } : {},
      cache: "no-store",
    });
    if (!response.ok) throw await apiError(response);
    return (await response.json()) as T;
  }

  open(token: string, password: string | null, cursor: string | null = null): Promise<OpenedLink> {
    return this.get(`/links/${seg(token)}?${paging(cursor, 50)}`, password);
  }

  /** The original of an item link. */
  download(token: string, password: string | null): Promise<DownloadLink> {
    return this.get(`/links/${seg(token)}/download`, password);
  }

  /** The original of one item of an album link. */
  downloadItem(token: string, password: string | null, mediaId: string): Promise<DownloadLink> {
    return this.get(`/links/${seg(token)}/items/${seg(mediaId)}/download`, password);
  }
}

/** The console's own page for a link token: this origin and path, route #/l/<token>. */
export function consoleLinkUrl(token: string): string {
  return `${window.location.origin}${window.location.pathname}#/l/${seg(token)}`;
}

/** The words a person reads for an error: the API's message when it answered. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.display;
  return error instanceof Error ? error.message : String(error);
}
