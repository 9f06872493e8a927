import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Api, ApiError, apiError } from "../src/api";
import type { Session } from "../src/auth";
import { installFetch, json } from "./fake_fetch";

/** A session whose token changes on each refresh; `refreshSucceeds: false` ends it instead. */
function fakeSession(refreshSucceeds = true): Session & { refreshes: number } {
  const session = {
    refreshes: 0,
    signedIn: true,
    current: "token-1",
    async token() {
      return this.current;
    },
    async refresh() {
      this.refreshes += 1;
      if (refreshSucceeds) this.current = `token-${this.refreshes + 1}`;
      else this.signedIn = false;
    },
  };
  return session as unknown as Session & { refreshes: number };
}

describe("ApiError.display", () => {
  it("is the API's message when it lists no field problems", () => {
    assert.equal(new ApiError(404, "not_found", "No such item.").display, "No such item.");
  });

  it("appends field problems the message does not already spell out", () => {
    const error = new ApiError(400, "invalid", "The request is invalid", [
      { field: "title", problem: "too long" },
      { field: "tags", problem: "at most 20" },
    ]);
    assert.equal(error.display, "The request is invalid: title: too long; tags: at most 20");
  });

  it("does not repeat a problem already in the message", () => {
    const error = new ApiError(400, "invalid", "title: too long", [{ field: "title", problem: "too long" }]);
    assert.equal(error.display, "title: too long");
  });
});

describe("apiError", () => {
  it("maps the API's {code, message, errors} answer", async () => {
    const error = await apiError(json(409, { code: "version_conflict", message: "Edited elsewhere.", errors: [{ field: "version", problem: "stale" }] }));
    assert.deepEqual([error.status, error.code, error.message, error.problems], [409, "version_conflict", "Edited elsewhere.", [{ field: "version", problem: "stale" }]]);
  });

  it("takes API Gateway's capitalised Message, with the status as the code", async () => {
    const error = await apiError(json(403, { Message: "User is not authorized" }));
    assert.deepEqual([error.code, error.message], ["403", "User is not authorized"]);
  });

  it("falls back to the status line when the body is not JSON", async () => {
    const error = await apiError(new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" }));
    assert.deepEqual([error.status, error.code, error.message], [502, "502", "The API answered 502 Bad Gateway"]);
  });
});

describe("Api requests", () => {
  it("sends the session's bearer token and builds the listing query from the filters", async () => {
    const seen = installFetch(() => json(200, { items: [], next_cursor: null }));
    await new Api("http://api.test", fakeSession()).listMedia({ type: "video", status: "", q: "sea side" }, "c/1", 50);
    assert.equal(seen.length, 1);
    const url = new URL(seen[0]!.url);
    assert.equal(url.pathname, "/media");
    assert.deepEqual(Object.fromEntries(url.searchParams), { limit: "50", type: "video", q: "sea side", cursor: "c/1" });
    assert.equal(seen[0]!.headers.authorization, "Bearer token-1");
  });

  it("escapes ids in paths and sends edits as JSON", async () => {
    const seen = installFetch(() => json(200, {}));
    await new Api("http://api.test", fakeSession()).editMedia("a/b", { version: 3, title: "New" });
    assert.equal(seen[0]!.url, "http://api.test/media/a%2Fb");
    assert.equal(seen[0]!.method, "PATCH");
    assert.equal(seen[0]!.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(seen[0]!.body ?? ""), { version: 3, title: "New" });
  });

  it("refreshes once on a 401 and retries with the new token", async () => {
    const session = fakeSession();
    const seen = installFetch((request) => (request.headers.authorization === "Bearer token-1" ? json(401, { message: "expired" }) : json(200, { media_id: "m1" })));
    assert.deepEqual(await new Api("http://api.test", session).getMedia("m1"), { media_id: "m1" });
    assert.equal(session.refreshes, 1);
    assert.deepEqual(seen.map((r) => r.headers.authorization), ["Bearer token-1", "Bearer token-2"]);
  });

  it("does not retry when the refresh ended the session, and surfaces the API's 401", async () => {
    const session = fakeSession(false);
    const seen = installFetch(() => json(401, { code: "unauthorized", message: "Token expired." }));
    await assert.rejects(new Api("http://api.test", session).getMedia("m1"), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.deepEqual([error.status, error.code, error.message], [401, "unauthorized", "Token expired."]);
      return true;
    });
    assert.equal(seen.length, 1);
  });

  it("answers undefined for a 204", async () => {
    installFetch(() => new Response(null, { status: 204 }));
    assert.equal(await new Api("http://api.test", fakeSession()).call("DELETE", "/media/m1"), undefined);
  });
});
