import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { beforeEach, describe, it } from "node:test";

import { Session, SignInError } from "../src/auth";
import type { ConsoleConfig } from "../src/config";
import { installFetch, json, SeenRequest } from "./fake_fetch";

const CONFIG: ConsoleConfig = { apiUrl: "http://api.test", issuer: "http://id.test/realms/mv", clientId: "media-vault-web" };
const DISCOVERY = {
  authorization_endpoint: "http://id.test/auth",
  token_endpoint: "http://id.test/token",
  end_session_endpoint: "http://id.test/logout",
};

function base64url(text: string): string {
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** An unsigned JWT with these claims (the console reads claims; the API verifies signatures). */
function jwt(claims: Record<string, unknown>): string {
  return `${base64url(JSON.stringify({ alg: "none" }))}.${base64url(JSON.stringify(claims))}.sig`;
}

const nowS = () => Math.floor(Date.now() / 1000);

/** The browser globals auth.ts touches: location, history, timers and sessionStorage. */
function installBrowser(search = "") {
  const browser = {
    assigned: [] as string[],
    replaced: [] as string[],
    timers: [] as number[],
    storage: new Map<string, string>(),
  };
  (globalThis as Record<string, unknown>).window = {
    location: { origin: "http://console.test", pathname: "/", search, hash: "#/albums", assign: (url: string) => browser.assigned.push(url) },
    history: { replaceState: (_state: unknown, _title: string, url: string) => browser.replaced.push(url) },
    setTimeout: (_fn: () => void, ms: number) => browser.timers.push(ms),
    clearTimeout: () => {},
  };
  (globalThis as Record<string, unknown>).sessionStorage = {
    getItem: (key: string) => browser.storage.get(key) ?? null,
    setItem: (key: string, value: string) => browser.storage.set(key, value),
    removeItem: (key: string) => browser.storage.delete(key),
  };
  return browser;
}

/** An identity server: discovery, and a token endpoint answering `tokens(form)`. */
function installIdentity(tokens: (form: URLSearchParams) => Response): SeenRequest[] {
  return installFetch((request) => {
    if (request.url === `${CONFIG.issuer}/.well-known/openid-configuration`) return json(200, DISCOVERY);
    if (request.url === DISCOVERY.token_endpoint) return tokens(new URLSearchParams(request.body ?? ""));
    return json(404, {});
  });
}

/** Start a sign-in, then come back with the state and a code: the pending sign-in and the session. */
async function redirectedBack(answer: (form: URLSearchParams) => Response, state?: string) {
  let browser = installBrowser();
  installIdentity(answer);
  await new Session(CONFIG).signIn();
  const pending = JSON.parse([...browser.storage.values()][0] ?? "{}") as { state: string; verifier: string; nonce: string };
  const storage = browser.storage;
  browser = installBrowser(`?code=abc&state=${state ?? pending.state}`);
  for (const [k, v] of storage) browser.storage.set(k, v);
  return { browser, pending, session: new Session(CONFIG) };
}

describe("signIn (PKCE)", () => {
  beforeEach(() => installIdentity(() => json(500, {})));

  it("sends an S256 challenge of the verifier it keeps, with a state, a nonce and this origin as redirect", async () => {
    const browser = installBrowser();
    await new Session(CONFIG).signIn();
    const pending = JSON.parse([...browser.storage.values()][0] ?? "{}") as { state: string; verifier: string; nonce: string; returnTo: string };
    const url = new URL(browser.assigned[0] ?? "");
    const params = Object.fromEntries(url.searchParams);
    assert.equal(`${url.origin}${url.pathname}`, DISCOVERY.authorization_endpoint);
    const expected = createHash("sha256").update(pending.verifier).digest("base64url");
    assert.equal(params.code_challenge, expected);
    assert.equal(params.code_challenge_method, "S256");
    assert.deepEqual([params.client_id, params.response_type, params.redirect_uri], ["media-vault-web", "code", "http://console.test/"]);
    assert.deepEqual([params.state, params.nonce], [pending.state, pending.nonce]);
    assert.equal(pending.returnTo, "#/albums");
  });

  it("makes a fresh, URL-safe, 64-character verifier (48 random bytes) each time", async () => {
    const verifiers = [];
    for (let i = 0; i < 2; i += 1) {
      const browser = installBrowser();
      await new Session(CONFIG).signIn();
      verifiers.push((JSON.parse([...browser.storage.values()][0] ?? "{}") as { verifier: string }).verifier);
    }
    for (const v of verifiers) assert.match(v, /^[A-Za-z0-9_-]{64}$/);
    assert.notEqual(verifiers[0], verifiers[1]);
  });
});

describe("completeSignIn", () => {
  it("is not a sign-in answer without code or error", async () => {
    installBrowser("?tab=1");
    assert.equal(await new Session(CONFIG).completeSignIn(), null);
  });

  it("trades the code and the kept verifier for tokens, clears the address bar and schedules a refresh", async () => {
    let form = new URLSearchParams();
    const { browser, pending, session } = await redirectedBack((f) => {
      form = f;
      return json(200, { access_token: jwt({ preferred_username: "alice", exp: nowS() + 300 }), expires_in: 300, refresh_token: "r1" });
    });
    assert.equal(await session.completeSignIn(), "#/albums");
    assert.deepEqual(Object.fromEntries(form), {
      client_id: "media-vault-web",
      grant_type: "authorization_code",
      code: "abc",
      redirect_uri: "http://console.test/",
      code_verifier: pending.verifier,
    });
    assert.deepEqual(browser.replaced, ["/"]);
    assert.equal(browser.storage.size, 0, "the one-time verifier is gone");
    assert.equal(session.signedIn, true);
    assert.equal(session.username, "alice");
    assert.deepEqual(browser.timers, [270_000], "refreshed 30 s before expiry");
  });

  it("refuses an answer whose state is not this window's", async () => {
    const { session } = await redirectedBack(() => json(200, {}), "forged");
    await assert.rejects(session.completeSignIn(), (e: unknown) => e instanceof SignInError && /does not belong to this window/.test(e.message));
    assert.equal(session.signedIn, false);
  });

  it("refuses an ID token whose nonce does not match, and stays signed out", async () => {
    const { session } = await redirectedBack(() =>
      json(200, { access_token: jwt({ exp: nowS() + 300 }), expires_in: 300, id_token: jwt({ nonce: "someone-else" }) }),
    );
    await assert.rejects(session.completeSignIn(), /did not match this sign-in/);
    assert.equal(session.signedIn, false);
  });

  it("shows the identity server's error description", async () => {
    installBrowser("?error=access_denied&error_description=User+cancelled");
    await assert.rejects(new Session(CONFIG).completeSignIn(), (e: unknown) => e instanceof SignInError && e.message === "User cancelled");
  });
});

describe("token expiry", () => {
  async function signedIn(exp: number, refreshAnswer: (form: URLSearchParams) => Response) {
    let first = true;
    const { session } = await redirectedBack((form) => {
      if (first && form.get("grant_type") === "authorization_code") {
        first = false;
        return json(200, { access_token: jwt({ exp }), expires_in: exp - nowS(), refresh_token: "r1" });
      }
      return refreshAnswer(form);
    });
    await session.completeSignIn();
    return session;
  }

  it("hands out the current token while it has more than 30 s left", async () => {
    let refreshes = 0;
    const session = await signedIn(nowS() + 120, () => {
      refreshes += 1;
      return json(500, {});
    });
    assert.equal(JSON.parse(atob((await session.token()).split(".")[1] ?? "")).exp > nowS() + 100, true);
    assert.equal(refreshes, 0);
  });

  it("refreshes first when the token has less than 30 s left", async () => {
    const fresh = jwt({ exp: nowS() + 300, preferred_username: "alice" });
    let form = new URLSearchParams();
    const session = await signedIn(nowS() + 10, (f) => {
      form = f;
      return json(200, { access_token: fresh, expires_in: 300 });
    });
    assert.equal(await session.token(), fresh);
    assert.deepEqual([form.get("grant_type"), form.get("refresh_token")], ["refresh_token", "r1"]);
  });

  it("ends the session and says why when the refresh is refused", async () => {
    const session = await signedIn(nowS() + 10, () => json(400, { error: "invalid_grant", error_description: "Session not active" }));
    const reasons: string[] = [];
    session.onExpired = (reason) => reasons.push(reason);
    await assert.rejects(session.token(), /Your session has ended/);
    assert.deepEqual(reasons, ["Session not active"]);
    assert.equal(session.signedIn, false);
  });
});

describe("silent sign-in after a reload (prompt=none)", () => {
  /** A tab that was on #/albums asks the identity server silently; the answer comes back as `search`. */
  async function silentlyRedirected(search: (state: string) => string) {
    let browser = installBrowser();
    installIdentity(() => json(200, { access_token: jwt({ preferred_username: "alice", exp: nowS() + 300 }), expires_in: 300 }));
    assert.equal(await new Session(CONFIG).trySilentSignIn(), true);
    const url = new URL(browser.assigned[0] ?? "");
    const pending = JSON.parse(browser.storage.get("media-vault.sign-in") ?? "{}") as { state: string };
    const storage = browser.storage;
    browser = installBrowser(search(pending.state));
    for (const [k, v] of storage) browser.storage.set(k, v);
    return { browser, url, session: new Session(CONFIG) };
  }

  it("asks with prompt=none, once per tab", async () => {
    const { url, browser, session } = await silentlyRedirected((state) => `?error=login_required&state=${state}`);
    assert.equal(url.searchParams.get("prompt"), "none");
    assert.equal(url.searchParams.get("code_challenge_method"), "S256");
    assert.equal(await session.completeSignIn(), null);
    assert.equal(await session.trySilentSignIn(), false, "no second check: the sign-in screen shows instead");
    assert.equal(browser.assigned.length, 0);
  });

  it("takes no session for an answer, not as an error, and puts back the page the person was on", async () => {
    const { browser, session } = await silentlyRedirected((state) => `?error=login_required&error_description=Login+required&state=${state}`);
    assert.equal(await session.completeSignIn(), null);
    assert.equal(session.signedIn, false);
    assert.deepEqual(browser.replaced, ["/", "/#/albums"]);
  });

  it("signs in from a live session and allows the next reload to check again", async () => {
    const { browser, session } = await silentlyRedirected((state) => `?code=abc&state=${state}`);
    assert.equal(await session.completeSignIn(), "#/albums");
    assert.equal(session.username, "alice");
    assert.equal(browser.storage.has("media-vault.silent-checked"), false);
  });

  it("still reports a real error of a silent request", async () => {
    const { session } = await silentlyRedirected((state) => `?error=invalid_request&error_description=Invalid+parameter%3A+prompt&state=${state}`);
    await assert.rejects(session.completeSignIn(), /Invalid parameter: prompt/);
  });

  it("does not sign a person back in silently after they signed out", async () => {
    const browser = installBrowser();
    installIdentity(() => json(500, {}));
    const session = new Session(CONFIG);
    await session.signOut();
    assert.equal(await session.trySilentSignIn(), false);
    assert.equal(browser.assigned.filter((u) => u.startsWith(DISCOVERY.authorization_endpoint)).length, 0);
  });
});
