import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { ApiError, DownloadLink } from "../src/api";
import { downloadAction } from "../src/download";
import { asElement, FakeElement, installDocument } from "./fake_dom";

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe("downloadAction", () => {
  let body: FakeElement;
  beforeEach(() => {
    body = installDocument().body;
  });

  it("labels the button with the item's name", () => {
    const action = asElement<FakeElement>(downloadAction("harbour.jpg", async () => ({ url: "", filename: "", expires_at: "" })));
    assert.equal(action.find("button")?.getAttribute("aria-label"), "Download harbour.jpg");
  });

  it("follows the short-lived URL with the API's filename, then removes the anchor", async () => {
    const clicked: { href: string | null; download: string | null }[] = [];
    const original = FakeElement.prototype.click;
    FakeElement.prototype.click = function (this: FakeElement) {
      if (this.tagName === "a") clicked.push({ href: this.getAttribute("href"), download: this.getAttribute("download") });
      original.call(this);
    };
    try {
      const link: DownloadLink = { url: "https://s3.test/o?sig=1", filename: "IMG 0001 (edited).jpg", expires_at: "2026-01-01T00:00:00Z" };
      const button = asElement<FakeElement>(downloadAction("Sunset", async () => link)).find("button")!;
      button.click();
      assert.equal(button.hasAttribute("disabled"), true, "no second request while one is out");
      await settled();
      assert.deepEqual(clicked, [{ href: "https://s3.test/o?sig=1", download: "IMG 0001 (edited).jpg" }]);
      assert.equal(body.childElementCount, 0);
      assert.equal(button.hasAttribute("disabled"), false);
    } finally {
      FakeElement.prototype.click = original;
    }
  });

  it("shows the API's message as an alert when the link is refused", async () => {
    const action = asElement<FakeElement>(
      downloadAction("Sunset", async () => {
        throw new ApiError(403, "forbidden", "This share does not allow downloads.");
      }),
    );
    action.find("button")!.click();
    await settled();
    const status = action.find("span")!;
    assert.deepEqual([status.getAttribute("role"), status.className, status.textContent], ["alert", "download-status error", "This share does not allow downloads."]);
  });
});
