import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ApiError } from "../src/api";
import { dateInputValue, endOfDay, shareChanges, shareEach, shareSummary } from "../src/share_dialog";
import type { Grant, ResourceRef, ShareRequest } from "../src/sharing_api";
import { sharedAlbumHref, sharedMediaHref } from "../src/shared";
import { sharedAlbumId } from "../src/sharing_routes";

function grant(overrides: Partial<Grant> = {}): Grant {
  return {
    share_id: "s1",
    resource_type: "media",
    resource_id: "m1",
    owner_id: "alice-id",
    grantee: { type: "user", id: "bob-id", name: "bob" },
    permissions: ["view"],
    granted_by: "alice-id",
    parent_share_id: null,
    created_at: "2026-01-01T00:00:00Z",
    expires_at: null,
    status: "active",
    link: null,
    token: null,
    url: null,
    ...overrides,
  };
}

describe("shareChanges", () => {
  it("is null when nothing changed (view is always held, whatever the form sends)", () => {
    assert.equal(shareChanges(grant({ permissions: ["download", "view"] }), ["download"], ""), null);
  });

  it("sends the permissions, view included, when they differ", () => {
    assert.deepEqual(shareChanges(grant(), ["download"], ""), { permissions: ["view", "download"] });
  });

  it("sends permissions taken away too", () => {
    assert.deepEqual(shareChanges(grant({ permissions: ["download", "reshare", "view"] }), ["download"], ""), {
      permissions: ["view", "download"],
    });
  });

  it("keeps an unchanged day's exact end: no expires_at is sent", () => {
    const at = new Date(2026, 5, 7, 14, 30).toISOString();
    assert.equal(shareChanges(grant({ expires_at: at }), [], dateInputValue(at)), null);
  });

  it("sends the end of a new day, and null when the day is cleared", () => {
    assert.deepEqual(shareChanges(grant(), [], "2030-02-03"), { expires_at: endOfDay("2030-02-03") });
    assert.deepEqual(shareChanges(grant({ expires_at: "2030-02-03T10:00:00Z" }), [], ""), { expires_at: null });
  });
});

describe("dateInputValue", () => {
  it("gives the local day of an instant, empty for none", () => {
    assert.equal(dateInputValue(null), "");
    assert.equal(dateInputValue(new Date(2026, 0, 9, 23, 59).toISOString()), "2026-01-09");
  });
});

describe("shareEach and shareSummary", () => {
  const targets = ["a", "b", "c"].map((id) => ({ resource: { kind: "media", id } as ResourceRef, name: `Photo ${id}` }));
  const request: ShareRequest = { grantee: { type: "user", username: "bob" }, permissions: ["view"] };

  it("shares every item with the same request, and says how many", async () => {
    const seen: [string, ShareRequest][] = [];
    const outcomes = await shareEach(
      {
        share: async (resource, body) => {
          seen.push([resource.id, body]);
          return grant({ resource_id: resource.id });
        },
      },
      targets,
      request,
    );
    assert.deepEqual(seen.map(([id]) => id).sort(), ["a", "b", "c"]);
    assert.ok(seen.every(([, body]) => body === request));
    assert.deepEqual(shareSummary(outcomes), { text: "Shared 3 items with bob.", failed: false });
  });

  it("keeps going past a refusal and quotes the API's message for that item", async () => {
    const outcomes = await shareEach(
      {
        share: async (resource) => {
          if (resource.id === "b") throw new ApiError(409, "conflict", "the item is processing; share it once it is ready");
          return grant({ resource_id: resource.id });
        },
      },
      targets,
      request,
    );
    assert.deepEqual(
      outcomes.map((o) => ("grant" in o ? o.grant.resource_id : o.error)),
      ["a", "the item is processing; share it once it is ready", "c"],
    );
    assert.deepEqual(shareSummary(outcomes), {
      text: "Shared 2 of 3 items with bob. Not shared: Photo b (the item is processing; share it once it is ready)",
      failed: true,
    });
  });

  it("says nothing was shared when every item was refused", () => {
    const summary = shareSummary([{ name: "Photo a", error: "no such user" }]);
    assert.deepEqual(summary, { text: "Nothing was shared. Not shared: Photo a (no such user)", failed: true });
  });
});

describe("shared album routes", () => {
  it("round-trips an album id through its hash", () => {
    assert.equal(sharedAlbumHref("a b/c"), "#/shared/albums/a%20b%2Fc");
    assert.equal(sharedAlbumId(sharedAlbumHref("a b/c")), "a b/c");
    assert.equal(sharedMediaHref("m1"), "#/shared/media/m1");
  });

  it("is not the owner's album route nor an item's", () => {
    assert.equal(sharedAlbumId("#/albums/x"), null);
    assert.equal(sharedAlbumId("#/shared/media/x"), null);
    assert.equal(sharedAlbumId("#/shared/albums/x/items"), null);
  });
});
