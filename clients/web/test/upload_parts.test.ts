import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ApiError } from "../src/api";
import {
  DirectoryEntryLike,
  EntryLike,
  FileEntryLike,
  missingParts,
  MultipartUpload,
  PartError,
  PartsApi,
  planParts,
  PutPart,
  resumeKey,
  ResumeStore,
  retryAction,
  retryDelay,
  skipReason,
  UploadPaused,
  walkEntries,
} from "../src/upload_parts";

const MIB = 1024 * 1024;

describe("planParts", () => {
  it("cuts a file in parts of part_size, the last one shorter, numbered from 1", () => {
    assert.deepEqual(planParts(12 * MIB + 7, 5 * MIB), [
      { partNumber: 1, start: 0, end: 5 * MIB },
      { partNumber: 2, start: 5 * MIB, end: 10 * MIB },
      { partNumber: 3, start: 10 * MIB, end: 12 * MIB + 7 },
    ]);
  });

  it("makes no empty last part when the size is a multiple of the part size", () => {
    assert.equal(planParts(10 * MIB, 5 * MIB).length, 2);
  });
});

describe("missingParts", () => {
  const plan = planParts(16, 5); // 5, 5, 5, 1

  it("is every part when storage holds none", () => {
    assert.deepEqual(missingParts(plan, []), [1, 2, 3, 4]);
  });

  it("leaves out the parts the listing holds", () => {
    const stored = [
      { part_number: 1, etag: '"a"', size: 5 },
      { part_number: 3, etag: '"c"', size: 5 },
    ];
    assert.deepEqual(missingParts(plan, stored), [2, 4]);
  });

  it("sends again a part stored with another size than planned", () => {
    assert.deepEqual(missingParts(plan, [{ part_number: 4, etag: '"d"', size: 3 }]), [1, 2, 3, 4]);
  });
});

describe("retryDelay", () => {
  const backoff = { attempts: 4, baseMs: 500, maxMs: 3000 };

  it("doubles from the base, capped, and stops when the attempts are spent", () => {
    const middle = (): number => 0.5; // no jitter
    assert.deepEqual([1, 2, 3, 4].map((n) => retryDelay(n, backoff, middle)), [500, 1000, 2000, null]);
    assert.equal(retryDelay(3, { attempts: 10, baseMs: 500, maxMs: 1500 }, middle), 1500);
  });

  it("jitters by at most a fifth either way", () => {
    assert.equal(retryDelay(1, backoff, () => 0), 400);
    assert.equal(retryDelay(1, backoff, () => 0.999999), 600);
  });
});

describe("retryAction", () => {
  it("retries network drops, timeouts and server errors", () => {
    assert.equal(retryAction(new PartError(0, "network_error", "x")), "retry");
    assert.equal(retryAction(new PartError(503, "SlowDown", "x")), "retry");
    assert.equal(retryAction(new PartError(429, "x", "x")), "retry");
    assert.equal(retryAction(new TypeError("Failed to fetch")), "retry");
    assert.equal(retryAction(new ApiError(502, "bad_gateway", "x")), "retry");
  });

  it("signs again when storage refuses the signature (expired URL)", () => {
    assert.equal(retryAction(new PartError(403, "AccessDenied", "Request has expired")), "resign");
  });

  it("gives up on client errors", () => {
    assert.equal(retryAction(new PartError(400, "EntityTooSmall", "x")), "fail");
    assert.equal(retryAction(new ApiError(409, "conflict", "x")), "fail");
    assert.equal(retryAction(new Error("bug")), "fail");
  });
});

describe("resume keys", () => {
  const file = { name: "trip.mp4", size: 123, lastModified: 1700000000000 };

  it("name the person, size, modification time and name", () => {
    assert.equal(resumeKey("u1", file), "media-vault.upload:u1:123:1700000000000:trip.mp4");
    assert.notEqual(resumeKey("u1", file), resumeKey("u1", { ...file, lastModified: 1 }));
    assert.notEqual(resumeKey("u1", file), resumeKey("u2", file));
  });

  it("remember the media id only, and forget it", () => {
    const data = new Map<string, string>();
    const storage = {
      getItem: (k: string) => data.get(k) ?? null,
      setItem: (k: string, v: string) => void data.set(k, v),
      removeItem: (k: string) => void data.delete(k),
    };
    const store = new ResumeStore("u1", storage);
    assert.equal(store.get(file), null);
    store.remember(file, "m-1");
    assert.equal(store.get(file), "m-1");
    assert.deepEqual(JSON.parse([...data.values()][0]), { media_id: "m-1" });
    store.forget(file);
    assert.equal(store.get(file), null);
    data.set(resumeKey("u1", file), "not json");
    assert.equal(store.get(file), null);
  });
});

describe("skipReason", () => {
  it("takes photos and videos only", () => {
    assert.equal(skipReason({ name: "a.jpg", type: "image/jpeg" }), null);
    assert.equal(skipReason({ name: "a.mp4", type: "video/mp4" }), null);
    assert.equal(skipReason({ name: "notes.txt", type: "text/plain" }), "not a photo or video (text/plain)");
    assert.equal(skipReason({ name: "blob", type: "" }), "not a photo or video (unknown type)");
  });
});

// A fake entry tree: directories answer readEntries in batches of two, then [] (as browsers do, in batches).
function fileEntry(path: string): FileEntryLike<string> {
  return { isFile: true, isDirectory: false, name: path.split("/").pop() ?? path, fullPath: `/${path}`, file: (ok) => ok(path) };
}
function dirEntry(path: string, children: EntryLike[]): DirectoryEntryLike {
  return {
    isFile: false,
    isDirectory: true,
    name: path.split("/").pop() ?? path,
    fullPath: `/${path}`,
    createReader() {
      let offset = 0;
      return {
        readEntries(ok) {
          const batch = children.slice(offset, offset + 2);
          offset += batch.length;
          setTimeout(() => ok(batch), 0);
        },
      };
    },
  };
}

describe("walkEntries", () => {
  it("walks folders recursively, every batch of readEntries, keeping paths", async () => {
    const tree = [
      fileEntry("loose.jpg"),
      dirEntry("trip", [
        fileEntry("trip/a.jpg"),
        fileEntry("trip/b.jpg"),
        dirEntry("trip/day2", [fileEntry("trip/day2/c.mp4"), dirEntry("trip/day2/empty", [])]),
        fileEntry("trip/notes.txt"),
      ]),
    ];
    const walked = await walkEntries<string>(tree);
    assert.deepEqual(
      walked.map((w) => w.path),
      ["loose.jpg", "trip/a.jpg", "trip/b.jpg", "trip/day2/c.mp4", "trip/notes.txt"],
    );
    assert.equal(walked[3].file, "trip/day2/c.mp4");
  });

  it("reports an unreadable entry and goes on", async () => {
    const broken: FileEntryLike<string> = { ...fileEntry("bad.jpg"), file: (_ok, fail) => fail?.(new Error("gone")) };
    const errors: string[] = [];
    const walked = await walkEntries<string>([broken, fileEntry("good.jpg")], (path) => errors.push(path));
    assert.deepEqual(walked.map((w) => w.path), ["good.jpg"]);
    assert.deepEqual(errors, ["bad.jpg"]);
  });
});

/** A fake API for one multipart upload of `size` bytes in parts of `partSize`, holding `stored` already. */
function fakeUploadApi(size: number, partSize: number, stored: number[] = []) {
  const held = new Map<number, string>(stored.map((n) => [n, `"etag-${n}"`]));
  const calls: { method: string; path: string; body?: unknown }[] = [];
  const plan = planParts(size, partSize);
  const api: PartsApi = {
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      calls.push({ method, path, body });
      if (method === "GET" && path.endsWith("/parts")) {
        const parts = [...held.keys()].sort().map((n) => ({ part_number: n, etag: held.get(n), size: plan[n - 1].end - plan[n - 1].start }));
        return { part_size: partSize, part_count: plan.length, parts } as T;
      }
      if (method === "POST" && path.endsWith("/parts")) {
        const numbers = (body as { part_numbers: number[] }).part_numbers;
        const parts = numbers.map((n) => ({ part_number: n, size: plan[n - 1].end - plan[n - 1].start, url: `https://s3/part?partNumber=${n}` }));
        return { parts, expires_at: new Date(Date.now() + 3600_000).toISOString() } as T;
      }
      if (method === "POST" && path.endsWith("/complete")) return { media_id: "m1", status: "pending" } as T;
      throw new ApiError(404, "not_found", `no route ${method} ${path}`);
    },
  };
  const store: PutPart = async (url) => {
    const n = Number(new URL(url).searchParams.get("partNumber"));
    held.set(n, `"etag-${n}"`);
    return `"etag-${n}"`;
  };
  return { api, calls, held, store };
}

describe("MultipartUpload", () => {
  const blob = new Blob([new Uint8Array(16)]);
  const noWait = async (): Promise<void> => undefined;

  it("retries a dropped part, then completes with every part's ETag in order", async () => {
    const { api, calls, store } = fakeUploadApi(16, 5);
    const puts: number[] = [];
    let dropped = false;
    const put: PutPart = async (url, body, onProgress, signal) => {
      const n = Number(new URL(url).searchParams.get("partNumber"));
      puts.push(n);
      if (n === 2 && !dropped) {
        dropped = true;
        throw new PartError(0, "network_error", "dropped");
      }
      return store(url, body, onProgress, signal);
    };
    const progress: number[] = [];
    const upload = new MultipartUpload(api, "m1", blob, { put, sleep: noWait, onProgress: (sent) => progress.push(sent) });
    await upload.run();
    assert.deepEqual(puts.sort(), [1, 2, 2, 3, 4]);
    const complete = calls.find((c) => c.path.endsWith("/complete"));
    assert.deepEqual(complete?.body, {
      parts: [1, 2, 3, 4].map((n) => ({ part_number: n, etag: `"etag-${n}"` })),
    });
    const signs = calls.filter((c) => c.method === "POST" && c.path.endsWith("/parts"));
    assert.equal(signs.length, 1, "one sign call for the first batch");
    assert.equal(progress.at(-1), 16);
  });

  it("pauses when retries run out, and a second run sends only the missing parts", async () => {
    const { api, calls, store } = fakeUploadApi(16, 5);
    const puts: number[] = [];
    let online = false;
    const put: PutPart = async (url, body, onProgress, signal) => {
      const n = Number(new URL(url).searchParams.get("partNumber"));
      puts.push(n);
      if (n !== 1 && !online) throw new PartError(0, "network_error", "offline");
      return store(url, body, onProgress, signal);
    };
    const upload = new MultipartUpload(api, "m1", blob, { put, sleep: noWait, concurrency: 1, backoff: { attempts: 3, baseMs: 1, maxMs: 1 } });
    await assert.rejects(upload.run(), (error) => error instanceof UploadPaused && /offline/.test(error.message));
    assert.deepEqual(puts, [1, 2, 2, 2], "the first part, then three attempts of the second");
    assert.equal(calls.filter((c) => c.path.endsWith("/complete")).length, 0);

    online = true;
    puts.length = 0;
    await upload.run();
    assert.deepEqual(puts.sort(), [2, 3, 4], "part 1 is not sent again");
  });

  it("signs a part again when storage refuses its URL (403)", async () => {
    const { api, calls, store } = fakeUploadApi(6, 5);
    let refused = false;
    const put: PutPart = async (url, body, onProgress, signal) => {
      if (url.includes("partNumber=2") && !refused) {
        refused = true;
        throw new PartError(403, "AccessDenied", "Request has expired");
      }
      return store(url, body, onProgress, signal);
    };
    await new MultipartUpload(api, "m1", new Blob([new Uint8Array(6)]), { put, sleep: noWait }).run();
    const signs = calls.filter((c) => c.method === "POST" && c.path.endsWith("/parts")).map((c) => c.body);
    assert.deepEqual(signs, [{ part_numbers: [1, 2] }, { part_numbers: [2] }]);
  });

  it("takes the ETags from the listing when storage's CORS hides the header", async () => {
    const { api, calls, store } = fakeUploadApi(16, 5, [3]);
    const put: PutPart = async (url, body, onProgress, signal) => {
      await store(url, body, onProgress, signal);
      return null;
    };
    await new MultipartUpload(api, "m1", blob, { put, sleep: noWait }).run();
    const complete = calls.find((c) => c.path.endsWith("/complete"));
    assert.deepEqual(complete?.body, { parts: [1, 2, 3, 4].map((n) => ({ part_number: n, etag: `"etag-${n}"` })) });
    assert.deepEqual(
      calls.filter((c) => c.method === "POST" && c.path.endsWith("/parts")).map((c) => c.body),
      [{ part_numbers: [1, 2, 4] }],
      "part 3 was held already",
    );
  });

  it("signs at most 100 parts per call", async () => {
    const { api, calls, store } = fakeUploadApi(250, 1);
    await new MultipartUpload(api, "m1", new Blob([new Uint8Array(250)]), { put: store, sleep: noWait }).run();
    const signs = calls.filter((c) => c.method === "POST" && c.path.endsWith("/parts"));
    assert.ok(signs.length >= 3);
    assert.ok(signs.every((c) => (c.body as { part_numbers: number[] }).part_numbers.length <= 100));
  });

  it("gives up on a part storage refuses for good (400) without retrying", async () => {
    const { api } = fakeUploadApi(6, 5);
    let tries = 0;
    const put: PutPart = async () => {
      tries += 1;
      throw new PartError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size");
    };
    await assert.rejects(new MultipartUpload(api, "m1", new Blob([new Uint8Array(6)]), { put, sleep: noWait, concurrency: 1 }).run(), UploadPaused);
    assert.equal(tries, 1);
  });
});
