import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { erasureConfirmed, exportArchives, ExportProgress, exportStatusText } from "../src/account";

function progress(overrides: Partial<ExportProgress>): ExportProgress {
  return { job_id: "j1", status: "running", items_done: 0, items_total: 0, download_url: null, url_expires_in: null, error: null, ...overrides };
}

describe("exportArchives", () => {
  it("offers every volume the API lists, in its order", () => {
    const volumes = [
      { url: "https://s3/1", name: "export-001.zip" },
      { url: "https://s3/2", name: "export-002.zip" },
    ];
    assert.deepEqual(exportArchives(progress({ status: "done", download_url: "https://s3/1", volumes })), volumes);
  });

  it("falls back to the one download link, and offers nothing before the export is done", () => {
    assert.deepEqual(exportArchives(progress({ status: "done", download_url: "https://s3/x" })), [{ url: "https://s3/x", name: "media-vault-export.zip" }]);
    assert.deepEqual(exportArchives(progress({ status: "running" })), []);
  });
});

describe("exportStatusText", () => {
  it("says how far a running export is, once it knows the total", () => {
    assert.equal(exportStatusText(progress({ items_total: 0 })), "Exporting: counting your items…");
    assert.equal(exportStatusText(progress({ items_done: 3, items_total: 10 })), "Exporting: 3 of 10 items written…");
  });

  it("counts the archives of a finished export and gives a failure's reason", () => {
    assert.match(exportStatusText(progress({ status: "done", items_done: 2, download_url: "u" })), /2 items in 1 archive\./);
    assert.equal(exportStatusText(progress({ status: "failed", error: "boom" })), "The export failed: boom");
  });
});

describe("erasureConfirmed", () => {
  it("needs the exact username typed back", () => {
    assert.equal(erasureConfirmed("erin", "erin"), true);
    assert.equal(erasureConfirmed(" erin ", "erin"), true);
    assert.equal(erasureConfirmed("Erin", "erin"), false);
    assert.equal(erasureConfirmed("", ""), false);
  });
});
