import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { cardPicture, formatBytes, h } from "../src/dom";
import { asElement, FakeElement, installDocument } from "./fake_dom";

describe("formatBytes", () => {
  it("shows bytes whole and larger units with one decimal", () => {
    assert.equal(formatBytes(0), "0 B");
    assert.equal(formatBytes(1023), "1023 B");
    assert.equal(formatBytes(1024), "1.0 KB");
    assert.equal(formatBytes(1536), "1.5 KB");
    assert.equal(formatBytes(5 * 1024 * 1024), "5.0 MB");
    assert.equal(formatBytes(3.25 * 1024 ** 3), "3.3 GB");
  });

  it("stops at GB rather than inventing a unit", () => {
    assert.equal(formatBytes(2 * 1024 ** 4), "2048.0 GB");
  });
});

describe("h", () => {
  beforeEach(() => installDocument());

  it("sets attributes, leaves out false and null ones, and appends children in order", () => {
    const el = asElement<FakeElement>(h("button", { type: "button", disabled: true, hidden: false, title: null, tabindex: 0 }, "Go", null, "!"));
    assert.equal(el.tagName, "button");
    assert.equal(el.getAttribute("type"), "button");
    assert.equal(el.getAttribute("disabled"), "");
    assert.equal(el.getAttribute("tabindex"), "0");
    assert.equal(el.hasAttribute("hidden"), false);
    assert.equal(el.hasAttribute("title"), false);
    assert.equal(el.textContent, "Go!");
  });

  it("turns on… attributes into listeners, not attributes", () => {
    let clicks = 0;
    const el = asElement<FakeElement>(h("button", { onclick: () => (clicks += 1) }));
    el.click();
    assert.equal(clicks, 1);
    assert.equal(el.hasAttribute("onclick"), false);
  });
});

describe("cardPicture", () => {
  beforeEach(() => installDocument());

  it("shows the thumbnail at its size, lazily, with the item's name as alt text", () => {
    const img = asElement<FakeElement>(cardPicture({ url: "https://cdn/t.jpg", width: 320, height: 240 }, "Harbour", "image"));
    assert.equal(img.tagName, "img");
    assert.deepEqual(
      [img.getAttribute("src"), img.getAttribute("alt"), img.getAttribute("width"), img.getAttribute("height"), img.getAttribute("loading")],
      ["https://cdn/t.jpg", "Harbour", "320", "240", "lazy"],
    );
  });

  it("shows a hidden-from-readers glyph by kind when there is no thumbnail", () => {
    const glyph = (kind: string) => asElement<FakeElement>(cardPicture(null, "x", kind));
    assert.equal(glyph("video").textContent, "▶");
    assert.equal(glyph("album").textContent, "▦");
    assert.equal(glyph("image").textContent, "…");
    assert.equal(glyph("image").getAttribute("aria-hidden"), "true");
  });
});
