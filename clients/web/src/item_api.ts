// The item routes the item page needs beyond api.ts: versions of the original, trash, and AI descriptions.
// Same token, retry and error messages as every other call (Api.call).

import { Api, Media, UploadIssued } from "./api";

/** The AI description as GET /media/{id} shows it: pending while the analyzer works, then its text. */
export interface AiDescription {
  status?: "pending" | "ready" | "failed" | string;
  text?: string;
  provider?: string;
  model?: string;
  generated_at?: string;
  error?: string;
}

/** An item as its owner sees it, with the fields api.ts's Media leaves out. */
export interface ItemMedia extends Media {
  trashed_at: string | null;
  ai_description: AiDescription | null;
}

/** One stored version of an item's original (GET /media/{id}/versions). */
export interface OriginalVersion {
  version_id: string;
  size: number;
  last_modified: string;
  is_current: boolean;
}

const path = (mediaId: string): string => `/media/${encodeURIComponent(mediaId)}`;

export class ItemApi {
  constructor(readonly api: Api) {}

  get(mediaId: string): Promise<ItemMedia> {
    return this.api.getMedia(mediaId) as Promise<ItemMedia>;
  }

  /** Every version of the original, newest first (the owner's and admins' only). */
  async versions(mediaId: string): Promise<OriginalVersion[]> {
    const answer = await this.api.call<{ versions: OriginalVersion[] }>("GET", `${path(mediaId)}/versions`);
    return answer.versions;
  }

  /** Declare a replacement original: the answer says where to send its bytes. */
  issueVersion(mediaId: string, file: File): Promise<UploadIssued> {
    return this.api.call("POST", `${path(mediaId)}/versions`, {
      filename: file.name,
      content_type: file.type || "application/octet-stream",
      size: file.size,
    });
  }

  /** Make an older original current again (a copy of it becomes the newest version, then is processed). */
  restoreVersion(mediaId: string, versionId: string): Promise<ItemMedia> {
    return this.api.call("POST", `${path(mediaId)}/versions/${encodeURIComponent(versionId)}/restore`);
  }

  trash(mediaId: string): Promise<void> {
    return this.api.call("DELETE", path(mediaId));
  }

  restore(mediaId: string): Promise<ItemMedia> {
    return this.api.call("POST", `${path(mediaId)}/restore`);
  }

  /** Delete a trashed item for good. */
  purge(mediaId: string): Promise<void> {
    return this.api.call("DELETE", `/trash/${encodeURIComponent(mediaId)}`);
  }

  /** Ask for an AI description; it arrives later in the item's ai_description. */
  describe(mediaId: string): Promise<{ media_id: string; ai_description: AiDescription }> {
    return this.api.call("POST", `${path(mediaId)}/describe`);
  }
}

/** Wait `ms` milliseconds (between polls). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
