// Multipart uploads for the console: part planning, signing, parallel PUTs with retry and backoff, resuming
// from the server's parts listing, and the bits of the upload panel that need no DOM (resume keys, folder walks).

import { ApiError, Media } from "./api";

/** Parts sent at once within one file. */
export const PART_CONCURRENCY = 3;
/** The API signs at most this many parts per call. */
export const MAX_SIGN_BATCH = 100;
/** A signed URL this close to its expiry is signed again before use. */
const EXPIRY_MARGIN_MS = 30_000;

/** The routes this module calls (Api.call satisfies it; tests pass a fake). */
export interface PartsApi {
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
}

export interface SignedPart {
  part_number: number;
  size: number;
  url: string;
}

export interface StoredPart {
  part_number: number;
  etag: string;
  size: number;
}

/** GET /uploads/{id}/parts */
export interface UploadProgress {
  part_size: number;
  part_count: number;
  parts: StoredPart[];
}

export interface PlannedPart {
  partNumber: number;
  start: number;
  end: number;
}

// ---------------------------------------------------------------------------------------------- pure logic

/** The byte ranges of a file cut in parts of partSize (the last one shorter), numbered from 1. */
export function planParts(fileSize: number, partSize: number): PlannedPart[] {
  if (partSize <= 0) throw new Error("part size must be positive");
  const parts: PlannedPart[] = [];
  for (let start = 0, n = 1; start < fileSize; start += partSize, n += 1) {
    parts.push({ partNumber: n, start, end: Math.min(start + partSize, fileSize) });
  }
  return parts;
}

/** The part numbers still to send: those the listing lacks, or holds with another size than planned. */
export function missingParts(plan: PlannedPart[], stored: StoredPart[]): number[] {
  const held = new Map(stored.map((part) => [part.part_number, part]));
  return plan
    .filter((part) => {
      const have = held.get(part.partNumber);
      return have === undefined || have.size !== part.end - part.start;
    })
    .map((part) => part.partNumber);
}

export interface Backoff {
  /** Attempts per part in all (the first one included). */
  attempts: number;
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { attempts: 4, baseMs: 500, maxMs: 8000 };

/**
 * How long to wait after failed attempt number `failed` (1 = the first attempt failed), or null when the
 * attempts are spent. Doubling from baseMs, capped at maxMs, with ±20% jitter (random() in [0, 1)).
 */
export function retryDelay(failed: number, backoff: Backoff = DEFAULT_BACKOFF, random: () => number = Math.random): number | null {
  if (failed >= backoff.attempts) return null;
  const plain = Math.min(backoff.maxMs, backoff.baseMs * 2 ** (failed - 1));
  return Math.round(plain * (0.8 + 0.4 * random()));
}

/** A part PUT that storage refused (status) or that never reached it (status 0). */
export class PartError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The upload was stopped on purpose (Cancel): nothing to retry. */
export class UploadStopped extends Error {
  constructor() {
    super("The upload was stopped.");
  }
}

/** What to do after a failed attempt: try again, sign the URL again first, or give up on this part. */
export function retryAction(error: unknown): "retry" | "resign" | "fail" {
  if (error instanceof UploadStopped) return "fail";
  if (error instanceof PartError) {
    if (error.status === 0) return "retry"; // the network dropped
    if (error.status === 403) return "resign"; // an expired (or otherwise refused) signature
    if (error.status === 408 || error.status === 429 || error.status >= 500) return "retry";
    return "fail";
  }
  if (error instanceof ApiError) return error.status >= 500 || error.status === 429 ? "retry" : "fail";
  return error instanceof TypeError ? "retry" : "fail"; // fetch's network failure is a TypeError
}

/** The file's identity across reloads (no contents read): who, name, size and modification time. */
export interface FileIdentity {
  name: string;
  size: number;
  lastModified: number;
}

export function resumeKey(userId: string, file: FileIdentity): string {
  return `media-vault.upload:${userId}:${file.size}:${file.lastModified}:${file.name}`;
}

/** Unfinished multipart uploads remembered in localStorage: the media id only, never a token or URL. */
export class ResumeStore {
  constructor(
    private readonly userId: string,
    private readonly storage: Pick<Storage, "getItem" | "setItem" | "removeItem"> | null = globalThis.localStorage ?? null,
  ) {}

  get(file: FileIdentity): string | null {
    try {
      const raw = this.storage?.getItem(resumeKey(this.userId, file));
      const id = raw ? (JSON.parse(raw) as { media_id?: unknown }).media_id : null;
      return typeof id === "string" && id !== "" ? id : null;
    } catch {
      return null;
    }
  }

  remember(file: FileIdentity, mediaId: string): void {
    try {
      this.storage?.setItem(resumeKey(this.userId, file), JSON.stringify({ media_id: mediaId }));
    } catch {
      // A full or disabled storage only loses the resume-after-reload convenience.
    }
  }

  forget(file: FileIdentity): void {
    try {
      this.storage?.removeItem(resumeKey(this.userId, file));
    } catch {
      // see remember()
    }
  }
}

/** Why a picked file is not uploaded, or null when it is a photo or video. */
export function skipReason(file: { name: string; type: string }): string | null {
  if (file.type.startsWith("image/") || file.type.startsWith("video/")) return null;
  return file.type ? `not a photo or video (${file.type})` : "not a photo or video (unknown type)";
}

// Minimal shapes of the File and Directory Entries API (DataTransferItem.webkitGetAsEntry), fakeable in tests.
export interface EntryLike {
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly name: string;
  readonly fullPath: string;
}
export interface FileEntryLike<F> extends EntryLike {
  file(success: (file: F) => void, failure?: (error: unknown) => void): void;
}
export interface DirectoryEntryLike extends EntryLike {
  createReader(): { readEntries(success: (entries: EntryLike[]) => void, failure?: (error: unknown) => void): void };
}

export interface WalkedFile<F> {
  file: F;
  /** Path inside what was dropped, e.g. "trip/day1/a.jpg". */
  path: string;
}

/**
 * Every file under the dropped entries, folders walked recursively (readEntries answers in batches: it is
 * called until it answers none). An unreadable entry is reported through onError and left out.
 */
export async function walkEntries<F>(entries: EntryLike[], onError: (path: string, error: unknown) => void = () => undefined): Promise<WalkedFile<F>[]> {
  const out: WalkedFile<F>[] = [];
  const visit = async (entry: EntryLike): Promise<void> => {
    const path = entry.fullPath.replace(/^\/+/, "") || entry.name;
    try {
      if (entry.isFile) {
        const file = await new Promise<F>((resolve, reject) => (entry as FileEntryLike<F>).file(resolve, reject));
        out.push({ file, path });
      } else if (entry.isDirectory) {
        const reader = (entry as DirectoryEntryLike).createReader();
        for (;;) {
          const batch = await new Promise<EntryLike[]>((resolve, reject) => reader.readEntries(resolve, reject));
          if (batch.length === 0) break;
          for (const child of batch) await visit(child);
        }
      }
    } catch (error) {
      onError(path, error);
    }
  };
  for (const entry of entries) await visit(entry);
  return out;
}

// ---------------------------------------------------------------------------------------------- transport

/** A blob PUT to storage; resolves with the ETag response header (null when CORS hides it). */
export type PutPart = (url: string, body: Blob, onProgress: (loaded: number) => void, signal: AbortSignal) => Promise<string | null>;

/** PUT one part with XMLHttpRequest (fetch reports no upload progress); storage errors are S3's XML messages. */
export const putPart: PutPart = (url, body, onProgress, signal) =>
  new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new UploadStopped());
      return;
    }
    const xhr = new XMLHttpRequest();
    const onAbort = (): void => xhr.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    const settle = (): void => signal.removeEventListener("abort", onAbort);
    xhr.open("PUT", url);
    xhr.upload.addEventListener("progress", (event) => onProgress(event.loaded));
    xhr.addEventListener("load", () => {
      settle();
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(body.size);
        resolve(xhr.getResponseHeader("ETag"));
        return;
      }
      const xml = new DOMParser().parseFromString(xhr.responseText, "application/xml");
      const message = xml.querySelector("Message")?.textContent ?? `Storage answered ${xhr.status}`;
      reject(new PartError(xhr.status, xml.querySelector("Code")?.textContent ?? "storage_error", message));
    });
    xhr.addEventListener("error", () => {
      settle();
      reject(new PartError(0, "network_error", "The upload could not reach storage (network error)."));
    });
    xhr.addEventListener("timeout", () => {
      settle();
      reject(new PartError(0, "timeout", "Storage did not answer in time."));
    });
    xhr.addEventListener("abort", () => {
      settle();
      reject(new UploadStopped());
    });
    xhr.send(body);
  });

// ---------------------------------------------------------------------------------------------- one upload

export interface MultipartOptions {
  put?: PutPart;
  sleep?: (ms: number) => Promise<void>;
  backoff?: Backoff;
  random?: () => number;
  concurrency?: number;
  /** Bytes the storage holds or has received so far for this file (parts done plus parts in flight). */
  onProgress?: (sent: number) => void;
  /** After each failed attempt that will be retried: which part, the error, the wait. */
  onRetry?: (partNumber: number, error: unknown, delayMs: number) => void;
}

/** Retries ran out (or storage refused for good): the upload can continue later from the parts listing. */
export class UploadPaused extends Error {
  constructor(
    message: string,
    readonly cause: unknown,
  ) {
    super(message);
  }
}

function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.display;
  if (error instanceof Error) return error.message;
  return String(error);
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One multipart upload of `file` to the declared item `mediaId`. run() sends the parts storage does not hold
 * yet (per the server's listing), then completes; it may be called again after it threw UploadPaused.
 */
export class MultipartUpload {
  private readonly put: PutPart;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private readonly concurrency: number;
  private controller = new AbortController();
  private readonly signed = new Map<number, SignedPart & { expires: number }>();
  private signing: Promise<void> | null = null;
  private readonly etags = new Map<number, string | null>();
  private readonly sent = new Map<number, number>();
  private plan: PlannedPart[] = [];
  private queue: number[] = [];

  constructor(
    private readonly api: PartsApi,
    readonly mediaId: string,
    private readonly file: Blob,
    private readonly options: MultipartOptions = {},
  ) {
    this.put = options.put ?? putPart;
    this.sleep = options.sleep ?? defaultSleep;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.random = options.random ?? Math.random;
    this.concurrency = options.concurrency ?? PART_CONCURRENCY;
  }

  private get base(): string {
    return `/uploads/${encodeURIComponent(this.mediaId)}`;
  }

  /** What storage already holds (404/409 as ApiError: the upload is gone or finished). */
  listParts(): Promise<UploadProgress> {
    return this.api.call("GET", `${this.base}/parts`);
  }

  /** Abandon the upload: in-flight parts stop, the server drops the parts and the pending item. */
  async abort(): Promise<void> {
    this.controller.abort();
    await this.api.call("DELETE", this.base);
  }

  /** Stop sending (in-flight PUTs are cancelled); run() rejects with UploadStopped. */
  stop(): void {
    this.controller.abort();
  }

  /** Send what is missing, then complete: the item as the API answers it (pending until processed). */
  async run(): Promise<Media> {
    if (this.controller.signal.aborted) this.controller = new AbortController();
    const listing = await this.listParts();
    this.plan = planParts(this.file.size, listing.part_size);
    if (this.plan.length !== listing.part_count) {
      throw new Error(`This file does not match the declared upload (${listing.part_count} parts expected, ${this.plan.length} planned).`);
    }
    this.etags.clear();
    this.sent.clear();
    const missing = new Set(missingParts(this.plan, listing.parts));
    for (const part of listing.parts) {
      if (!missing.has(part.part_number)) {
        this.etags.set(part.part_number, part.etag);
        this.sent.set(part.part_number, part.size);
      }
    }
    this.report();
    this.queue = [...missing];
    let failure: unknown = null;
    const worker = async (): Promise<void> => {
      while (failure === null && !this.controller.signal.aborted) {
        const next = this.queue.shift();
        if (next === undefined) return;
        try {
          await this.sendPart(next);
        } catch (error) {
          if (failure === null) failure = error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, Math.max(1, this.queue.length)) }, worker));
    if (this.controller.signal.aborted) throw new UploadStopped();
    if (failure !== null) throw new UploadPaused(messageOf(failure), failure);

    if ([...this.etags.values()].some((etag) => !etag)) {
      // Storage's CORS did not expose ETag: the listing has every part's.
      for (const part of (await this.listParts()).parts) this.etags.set(part.part_number, part.etag);
    }
    const parts = this.plan.map((part) => {
      const etag = this.etags.get(part.partNumber);
      if (!etag) throw new UploadPaused(`Part ${part.partNumber} is not in storage yet.`, null);
      return { part_number: part.partNumber, etag };
    });
    try {
      return await this.api.call<Media>("POST", `${this.base}/complete`, { parts });
    } catch (error) {
      // A part storage lost or a network drop: the next run lists again and sends what is missing.
      if (error instanceof ApiError && error.status !== 409 && error.status < 500) throw error;
      throw new UploadPaused(messageOf(error), error);
    }
  }

  private report(): void {
    let total = 0;
    for (const bytes of this.sent.values()) total += bytes;
    this.options.onProgress?.(total);
  }

  private async sendPart(partNumber: number): Promise<void> {
    const planned = this.plan[partNumber - 1];
    const body = this.file.slice(planned.start, planned.end);
    let resign = false;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const target = await this.urlFor(partNumber, resign);
        if (target.size !== body.size) throw new Error(`Part ${partNumber} is ${body.size} bytes; the server expects ${target.size}.`);
        const etag = await this.put(
          target.url,
          body,
          (loaded) => {
            this.sent.set(partNumber, Math.min(loaded, body.size));
            this.report();
          },
          this.controller.signal,
        );
        this.etags.set(partNumber, etag);
        this.sent.set(partNumber, body.size);
        this.report();
        return;
      } catch (error) {
        this.sent.set(partNumber, 0);
        this.report();
        if (this.controller.signal.aborted) throw new UploadStopped();
        const action = retryAction(error);
        const delay = action === "fail" ? null : retryDelay(attempt, this.backoff, this.random);
        if (delay === null) throw error;
        resign = action === "resign";
        this.options.onRetry?.(partNumber, error, delay);
        await this.sleep(delay);
        if (this.controller.signal.aborted) throw new UploadStopped();
      }
    }
  }

  /** A signed URL for the part, signing it (with the next unsigned parts, up to 100) when needed. */
  private async urlFor(partNumber: number, fresh: boolean): Promise<SignedPart> {
    const usable = (n: number): SignedPart | null => {
      const signed = this.signed.get(n);
      return signed !== undefined && signed.expires - Date.now() > EXPIRY_MARGIN_MS ? signed : null;
    };
    if (fresh) {
      this.signed.delete(partNumber);
      await this.sign([partNumber]);
    } else if (!usable(partNumber) && this.signing) {
      // Another worker is signing a batch that likely holds this part.
      await this.signing.catch(() => undefined);
    }
    const ready = usable(partNumber);
    if (ready) return ready;
    const batch = [partNumber, ...this.queue.filter((n) => n !== partNumber && !usable(n))].slice(0, MAX_SIGN_BATCH);
    const signing = this.sign(batch);
    this.signing = signing;
    try {
      await signing;
    } finally {
      if (this.signing === signing) this.signing = null;
    }
    const signed = this.signed.get(partNumber);
    if (!signed) throw new Error(`The server did not sign part ${partNumber}.`);
    return signed;
  }

  private async sign(partNumbers: number[]): Promise<void> {
    const answer = await this.api.call<{ parts: SignedPart[]; expires_at: string }>("POST", `${this.base}/parts`, {
      part_numbers: partNumbers,
    });
    const expires = Date.parse(answer.expires_at);
    for (const part of answer.parts) {
      this.signed.set(part.part_number, { ...part, expires: Number.isNaN(expires) ? Date.now() + 5 * 60_000 : expires });
    }
  }
}
