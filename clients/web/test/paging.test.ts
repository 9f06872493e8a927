import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { messageStatus, moreButton, Page, PagedList } from "../src/paging";
import { asElement, FakeElement, installDocument } from "./fake_dom";

/** A fetch whose pages the test releases one by one, recording the cursors asked for. */
function heldPages<T>() {
  const asked: (string | null)[] = [];
  const waiting: { resolve(page: Page<T>): void; reject(error: unknown): void }[] = [];
  return {
    asked,
    fetch: (cursor: string | null) => {
      asked.push(cursor);
      return new Promise<Page<T>>((resolve, reject) => waiting.push({ resolve, reject }));
    },
    answer(page: Page<T>) {
      waiting.shift()?.resolve(page);
    },
    fail(error: unknown) {
      waiting.shift()?.reject(error);
    },
  };
}

function pagedList(pages: ReturnType<typeof heldPages<string>>) {
  const document = installDocument();
  const list = document.createElement("ul");
  const message = document.createElement("p");
  const more = asElement<FakeElement>(moreButton());
  const paged = new PagedList<string>({
    list: asElement(list),
    more: asElement(more),
    status: messageStatus(asElement(message), (error) => `Failed: ${String(error)}`),
    fetch: pages.fetch,
    render: (item) => (item === "skip" ? null : asElement(document.createElement("li"))),
    doneText: (count, hasMore) => `${count} shown${hasMore ? ", more to come" : ""}`,
  });
  return { paged, list, message, more };
}

describe("PagedList", () => {
  let pages: ReturnType<typeof heldPages<string>>;
  beforeEach(() => {
    pages = heldPages<string>();
  });

  it("is busy while the first page loads, then shows its cards and a Load more button", async () => {
    const { paged, list, message, more } = pagedList(pages);
    assert.equal(more.hidden, true);
    const loaded = paged.reload();
    assert.equal(list.getAttribute("aria-busy"), "true");
    assert.equal(message.textContent, "Loading…");
    pages.answer({ items: ["a", "b", "skip"], next_cursor: "c2" });
    await loaded;
    assert.equal(list.childElementCount, 2, "render's null is not appended");
    assert.equal(list.getAttribute("aria-busy"), "false");
    assert.equal(more.hidden, false);
    assert.equal(message.textContent, "2 shown, more to come");
    assert.equal(message.getAttribute("role"), "status");
  });

  it("loads the next page from the cursor on Load more, and hides the button on the last page", async () => {
    const { paged, list, message, more } = pagedList(pages);
    const first = paged.reload();
    pages.answer({ items: ["a"], next_cursor: "c2" });
    await first;
    more.click();
    more.click(); // a second click while the page loads asks for nothing more
    pages.answer({ items: ["b", "c"], next_cursor: null });
    await paged.loadMore();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(pages.asked, [null, "c2"]);
    assert.equal(list.childElementCount, 3);
    assert.equal(more.hidden, true);
    assert.equal(message.textContent, "3 shown");
    await paged.loadMore();
    assert.deepEqual(pages.asked, [null, "c2"], "nothing after the last page");
  });

  it("drops a page that arrives after a reload started", async () => {
    const { paged, list } = pagedList(pages);
    const stale = paged.reload();
    const fresh = paged.reload();
    pages.answer({ items: ["old-1", "old-2"], next_cursor: "old" });
    pages.answer({ items: ["new"], next_cursor: null });
    await Promise.all([stale, fresh]);
    assert.equal(list.childElementCount, 1);
    assert.equal(list.getAttribute("aria-busy"), "false");
  });

  it("turns the status into an alert with the described error when a page fails", async () => {
    const { paged, list, message } = pagedList(pages);
    const loaded = paged.reload();
    pages.fail(new Error("offline"));
    await loaded;
    assert.equal(message.getAttribute("role"), "alert");
    assert.equal(message.textContent, "Failed: Error: offline");
    assert.equal(list.getAttribute("aria-busy"), "false");
  });
});
