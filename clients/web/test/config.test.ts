import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { loadConfig } from "../src/config";
import { installFetch, json } from "./fake_fetch";

describe("loadConfig", () => {
  it("reads config.json fresh and drops trailing slashes from the URLs", async () => {
    const seen = installFetch(() => json(200, { apiUrl: "http://api.test/", issuer: "http://id.test/realms/mv/", clientId: "web" }));
    assert.deepEqual(await loadConfig(), { apiUrl: "http://api.test", issuer: "http://id.test/realms/mv", clientId: "web" });
    assert.equal(seen[0]?.url, "config.json");
  });

  it("names the missing settings", async () => {
    installFetch(() => json(200, { apiUrl: "http://api.test" }));
    await assert.rejects(loadConfig(), /config\.json needs apiUrl, issuer and clientId/);
  });

  it("reports the HTTP status when config.json cannot be fetched", async () => {
    installFetch(() => new Response("nope", { status: 404 }));
    await assert.rejects(loadConfig(), /config\.json: HTTP 404/);
  });
});
