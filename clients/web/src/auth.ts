// OpenID Connect authorization code flow with PKCE (RFC 7636) for the public web client.
// Tokens live in memory only; the one-time PKCE verifier and state survive the redirect in sessionStorage.

import type { ConsoleConfig } from "./config";

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint: string;
}

interface TokenReply {
  access_token: string;
  expires_in: number;
  refresh_token?: string;
  id_token?: string;
  error?: string;
  error_description?: string;
}

interface PendingSignIn {
  state: string;
  verifier: string;
  nonce: string;
  returnTo: string;
  /** prompt=none: a check for a live identity-server session, which must never show a login page. */
  silent?: boolean;
}

const PENDING_KEY = "media-vault.sign-in";
// Set while this tab needs no silent check: one was made, or the person signed out; cleared by a sign-in.
const SILENT_DONE_KEY = "media-vault.silent-checked";
// What a prompt=none request answers when only the person can go on (OIDC Core 3.1.2.6).
const INTERACTION_NEEDED = new Set(["login_required", "interaction_required", "consent_required", "account_selection_required"]);
const REFRESH_MARGIN_S = 30; // refresh this long before the access token expires

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(byteCount = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(byteCount)));
}

async function s256(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split(".")[1] ?? "";
  const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0)))) as Record<string, unknown>;
}

export class SignInError extends Error {}

/** The signed-in session: the tokens, kept fresh, and who they belong to. */
export class Session {
  private accessToken: string | null = null;
  private refreshToken: string | null = null;
  private idToken: string | null = null;
  private refreshTimer: number | undefined;
  private discovery: Discovery | null = null;
  /** Called when the session ends on its own (refresh refused). */
  onExpired: (reason: string) => void = () => {};

  constructor(private readonly config: ConsoleConfig) {}

  get signedIn(): boolean {
    return this.accessToken !== null;
  }

  /** The preferred_username of the signed-in user. */
  get username(): string {
    if (!this.accessToken) return "";
    const claims = jwtClaims(this.accessToken);
    return String(claims.preferred_username ?? claims.sub ?? "");
  }

  /** The signed-in user's id (the token's subject), which items name as their owner_id. */
  get userId(): string {
    if (!this.accessToken) return "";
    return String(jwtClaims(this.accessToken).sub ?? "");
  }

  private get redirectUri(): string {
    return `${window.location.origin}/`;
  }

  private async endpoints(): Promise<Discovery> {
    if (!this.discovery) {
      const response = await fetch(`${this.config.issuer}/.well-known/openid-configuration`);
      if (!response.ok) throw new SignInError(`The identity server answered ${response.status}.`);
      this.discovery = (await response.json()) as Discovery;
    }
    return this.discovery;
  }

  /**
   * After a reload the tokens (kept in memory only) are gone but the identity server's session may live on:
   * ask it without showing anything (prompt=none), once per tab. False when that check was already made.
   */
  async trySilentSignIn(returnTo = window.location.hash): Promise<boolean> {
    if (sessionStorage.getItem(SILENT_DONE_KEY) !== null) return false;
    sessionStorage.setItem(SILENT_DONE_KEY, "1");
    await this.signIn(returnTo, true);
    return true;
  }

  /** Go to the identity server's login page; it comes back to this origin with a code. */
  async signIn(returnTo = window.location.hash, silent = false): Promise<void> {
    const pending: PendingSignIn = { state: randomString(), verifier: randomString(48), nonce: randomString(), returnTo };
    if (silent) pending.silent = true;
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
    const { authorization_endpoint } = await this.endpoints();
    const params = new URLSearchParams({
      client_id: this.config.clientId,
      response_type: "code",
      scope: "openid",
      redirect_uri: this.redirectUri,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await s256(pending.verifier),
      code_challenge_method: "S256",
    });
    if (silent) params.set("prompt", "none");
    window.location.assign(`${authorization_endpoint}?${params}`);
  }

  /** Finish a sign-in if this page load is the redirect back; returns the hash to show, or null. */
  async completeSignIn(): Promise<string | null> {
    const query = new URLSearchParams(window.location.search);
    if (!query.has("code") && !query.has("error")) return null;
    const raw = sessionStorage.getItem(PENDING_KEY);
    sessionStorage.removeItem(PENDING_KEY);
    // The code and state leave the address bar (and history) at once.
    window.history.replaceState(null, "", window.location.pathname);
    const pending = raw ? (JSON.parse(raw) as PendingSignIn) : null;
    if (query.has("error")) {
      // A silent check that found no session is not a failure: the person signs in when they choose to.
      if (pending?.silent && INTERACTION_NEEDED.has(query.get("error") ?? "")) {
        window.history.replaceState(null, "", window.location.pathname + pending.returnTo); // the page they were on
        return null;
      }
      throw new SignInError(query.get("error_description") ?? query.get("error") ?? "Sign-in failed.");
    }
    if (!pending || query.get("state") !== pending.state) {
      throw new SignInError("This sign-in answer does not belong to this window; please sign in again.");
    }
    const reply = await this.tokenRequest({
      grant_type: "authorization_code",
      code: query.get("code") ?? "",
      redirect_uri: this.redirectUri,
      code_verifier: pending.verifier,
    });
    if (reply.id_token && jwtClaims(reply.id_token).nonce !== pending.nonce) {
      this.clear();
      throw new SignInError("The identity server's answer did not match this sign-in; please sign in again.");
    }
    sessionStorage.removeItem(SILENT_DONE_KEY); // signed in: the next reload may check silently again
    return pending.returnTo;
  }

  /** A valid access token: refreshed first when it is about to expire. */
  async token(): Promise<string> {
    if (!this.accessToken) throw new SignInError("Not signed in.");
    const exp = Number(jwtClaims(this.accessToken).exp ?? 0);
    if (exp * 1000 - Date.now() < REFRESH_MARGIN_S * 1000) await this.refresh();
    if (!this.accessToken) throw new SignInError("Your session has ended; please sign in again.");
    return this.accessToken;
  }

  /** Trade the refresh token for new tokens (also on a 401 from the API). */
  async refresh(): Promise<void> {
    if (!this.refreshToken) {
      this.expire("Your session has ended; please sign in again.");
      return;
    }
    try {
      await this.tokenRequest({ grant_type: "refresh_token", refresh_token: this.refreshToken });
    } catch (error) {
      this.expire(error instanceof Error ? error.message : String(error));
    }
  }

  /** End the identity server's session too, then come back signed out. */
  async signOut(): Promise<void> {
    const idToken = this.idToken;
    this.clear();
    sessionStorage.setItem(SILENT_DONE_KEY, "1"); // coming back signed out, not silently signed in again
    const { end_session_endpoint } = await this.endpoints();
    const params = new URLSearchParams({ client_id: this.config.clientId, post_logout_redirect_uri: this.redirectUri });
    if (idToken) params.set("id_token_hint", idToken);
    window.location.assign(`${end_session_endpoint}?${params}`);
  }

  private async tokenRequest(form: Record<string, string>): Promise<TokenReply> {
    const { token_endpoint } = await this.endpoints();
    const response = await fetch(token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: this.config.clientId, ...form }),
    });
    const reply = (await response.json().catch(() => ({}))) as TokenReply;
    if (!response.ok || !reply.access_token) {
      throw new SignInError(reply.error_description ?? reply.error ?? `The identity server answered ${response.status}.`);
    }
    this.accessToken = reply.access_token;
    this.refreshToken = reply.refresh_token ?? this.refreshToken;
    this.idToken = reply.id_token ?? this.idToken;
    this.schedule(reply.expires_in);
    return reply;
  }

  private schedule(expiresIn: number): void {
    window.clearTimeout(this.refreshTimer);
    const delay = Math.max(5, expiresIn - REFRESH_MARGIN_S) * 1000;
    this.refreshTimer = window.setTimeout(() => void this.refresh(), delay);
  }

  private expire(reason: string): void {
    const wasSignedIn = this.signedIn;
    this.clear();
    if (wasSignedIn) this.onExpired(reason);
  }

  private clear(): void {
    window.clearTimeout(this.refreshTimer);
    this.accessToken = this.refreshToken = this.idToken = null;
  }
}
