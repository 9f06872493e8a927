import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { libraryQuery } from "../src/api";

describe("libraryQuery", () => {
  it("sends only the filters that are set, with the page size and cursor", () => {
    assert.equal(libraryQuery({ type: "image", status: "", q: "" }, "c1", 24).toString(), "limit=24&type=image&cursor=c1");
  });

  it("covers whole days: from the first second of the first day to the last second of the last", () => {
    const query = libraryQuery({ createdFrom: "2026-11-01", createdTo: "2026-11-30", takenFrom: "2019-07-14", takenTo: "2019-07-14" }, null, 10);
    assert.equal(query.get("created_from"), "2026-11-01T00:00:00");
    assert.equal(query.get("created_to"), "2026-11-30T23:59:59");
    assert.equal(query.get("taken_from"), "2019-07-14T00:00:00");
    assert.equal(query.get("taken_to"), "2019-07-14T23:59:59");
  });

  it("sends a tag as the API stores tags, and the order only when it is not the default", () => {
    const query = libraryQuery({ tag: "  Holiday ", sort: "taken", order: "asc" }, null, 10);
    assert.equal(query.get("tag"), "holiday");
    assert.deepEqual([query.get("sort"), query.get("order")], ["taken", "asc"]);
    assert.equal(libraryQuery({ sort: "created", order: "desc" }, null, 10).has("sort"), false);
  });
});
