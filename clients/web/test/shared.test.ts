import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Permission, Share } from "../src/api";
import type { Api } from "../src/api";
import { expiryText, permissionsText, SharedDirectory } from "../src/shared";

function grant(overrides: Partial<Share> = {}): Share {
  return {
    share_id: "s1",
    resource_type: "media",
    resource_id: "m1",
    owner_id: "owner",
    granted_by: "owner",
    permissions: ["view"],
    created_at: "2026-01-01T00:00:00Z",
    expires_at: null,
    status: "active",
    ...overrides,
  };
}

describe("expiryText", () => {
  it("says Expired for an expired grant, whatever its date", () => {
    assert.equal(expiryText(grant({ status: "expired", expires_at: "2026-01-02T00:00:00Z" })), "Expired");
  });

  it("says No expiry for a grant without an end", () => {
    assert.equal(expiryText(grant()), "No expiry");
  });

  it("gives the end of an active grant in the reader's locale", () => {
    const at = "2026-03-04T05:06:07Z";
    assert.equal(expiryText(grant({ expires_at: at })), `Expires ${new Date(at).toLocaleString()}`);
  });
});

describe("permissionsText", () => {
  it("lists permissions in the order they build on each other, not the API's alphabetical order", () => {
    const sorted: Permission[] = ["download", "edit", "reshare", "view"];
    assert.equal(permissionsText(grant({ permissions: sorted })), "View, Download, Edit, Reshare");
  });

  it("lists only what the grant gives", () => {
    assert.equal(permissionsText(grant({ permissions: ["view", "edit"] })), "View, Edit");
    assert.equal(permissionsText(grant({ permissions: [] })), "");
  });
});

describe("SharedDirectory.ownerName", () => {
  const directory = new SharedDirectory({} as Api);

  it("names the owner as the listing does", async () => {
    assert.equal(await directory.ownerName(grant({ owner_name: "alice" })), "alice");
  });

  it("falls back to a short form of the id when the owner's account is gone", async () => {
    assert.equal(await directory.ownerName(grant({ owner_id: "0123456789abcdef", owner_name: null })), "user 01234567");
  });
});
