import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Api } from "../src/api";
import type { Session } from "../src/auth";
import { RolePages } from "../src/role_routes";
import { asElement, FakeElement, installDocument } from "./fake_dom";
import { installFetch, json } from "./fake_fetch";

const session = { signedIn: true, token: async () => "t", refresh: async () => {} } as unknown as Session;
const settled = () => new Promise((resolve) => setImmediate(resolve));

/** RolePages for a caller whose GET /me answers `me` (status, body). */
async function rolePages(status: number, me: unknown) {
  const document = installDocument();
  installFetch(() => json(status, me));
  const pages = new RolePages(new Api("http://api.test", session), "http://api.test", session);
  await settled();
  const [admin, partner] = pages.nav.map((a) => asElement<FakeElement>(a));
  return { pages, admin: admin!, partner: partner!, main: asElement<HTMLElement>(document.createElement("main")) };
}

describe("RolePages header links", () => {
  it("shows Admin, and only Admin, to an admin", async () => {
    const { admin, partner } = await rolePages(200, { role: "admin" });
    assert.deepEqual([admin.hidden, partner.hidden], [false, true]);
  });

  it("shows Partner, and only Partner, to a partner", async () => {
    const { admin, partner } = await rolePages(200, { role: "partner" });
    assert.deepEqual([admin.hidden, partner.hidden], [true, false]);
  });

  it("shows neither when /me fails", async () => {
    const { admin, partner } = await rolePages(500, { message: "down" });
    assert.deepEqual([admin.hidden, partner.hidden], [true, true]);
  });
});

describe("RolePages.route", () => {
  it("leaves other pages' hashes alone", async () => {
    const { pages, main, admin, partner } = await rolePages(200, { role: "admin" });
    for (const hash of ["#/library", "#/", "#/administrator", "#/admin/users/extra", "#/partnership"]) {
      assert.equal(pages.route(hash, main), null, hash);
    }
    assert.deepEqual([admin.hasAttribute("aria-current"), partner.hasAttribute("aria-current")], [false, false]);
  });

  it("opens no page for an unknown section, but marks which area the address is in", async () => {
    const { pages, main, admin, partner } = await rolePages(200, { role: "admin" });
    assert.equal(pages.route("#/admin/nosuch", main), null);
    assert.deepEqual([admin.hasAttribute("aria-current"), partner.hasAttribute("aria-current")], [true, false]);
    assert.equal(pages.route("#/partner/nosuch", main), null);
    assert.deepEqual([admin.hasAttribute("aria-current"), partner.hasAttribute("aria-current")], [false, true]);
  });
});
