"""Interactive sign-in for the dev identity server: authorization code + PKCE, browser session, logout,
revocation and the device authorization grant (RFC 6749, 7636, 7009, 8252, 8628), Keycloak's URL layout."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from infra.identity import pages
from infra.identity.replies import Html, InvalidToken, Json, Redirect, bad_request, oauth_error

if TYPE_CHECKING:
    from infra.identity.realm import Realm, User

SESSION_COOKIE = "KEYCLOAK_IDENTITY"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CODE_LIFESPAN = 60  # seconds; Keycloak's default "Client login timeout"
LOGIN_LIFESPAN = 1800  # a rendered login form stays usable this long (Keycloak's login timeout)
DEVICE_CODE_LIFESPAN = 600
DEVICE_POLL_INTERVAL = 5
SLOW_DOWN_STEP = 5  # RFC 8628 3.5: each slow_down adds 5 s to the interval
# RFC 8628 6.1: base-20 consonants, no vowels (no words), no easily confused characters.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
PROMPTS = {"none", "login", "consent", "select_account"}
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")
_PATTERN = re.compile(r"(https?)://(\[[0-9A-Fa-f:.]+\]|[^/:?#@\[\]]+)(?::(\d{1,5}|\*))?([^?#]*)(\?[^#]*)?")
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\<>\"`]")
LOOPBACK_IPS = {"127.0.0.1", "::1"}


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def origin_of(uri: str) -> str:
    """scheme://host[:port] of a URI."""
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def redirect_allowed(candidate: str, patterns: list[str]) -> bool:
    """Keycloak redirect-URI matching (exact, or `*` at the end as a wildcard) on a parsed URI.

    A loopback IP pattern accepts any port (RFC 8252 7.3). Userinfo, fragments, dot segments and
    unsafe characters are refused outright, so `http://127.0.0.1:1@evil.test/` never matches a wildcard.
    """
    if _UNSAFE.search(candidate):
        return False
    try:
        parts = urlsplit(candidate)
        port = parts.port
    except ValueError:
        return False
    path_segments = parts.path.split("/")
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc or "#" in candidate:
        return False
    if "." in path_segments or ".." in path_segments:
        return False
    port = port or (443 if parts.scheme == "https" else 80)
    return any(_matches(parts.scheme, parts.hostname.lower(), port, parts.path, parts.query, p) for p in patterns)


def _matches(scheme: str, host: str, port: int, path: str, query: str, pattern: str) -> bool:
    found = _PATTERN.fullmatch(pattern)
    if found is None:
        return False
    p_scheme, p_host, p_port, p_path, p_query = found.groups()
    p_host = p_host.strip("[]").lower()
    if scheme != p_scheme or host != p_host:
        return False
    if p_port != "*" and p_host not in LOOPBACK_IPS and port != int(p_port or (443 if scheme == "https" else 80)):
        return False
    if p_port == "*" and not p_path and not p_query:
        return True  # `http://127.0.0.1:*`: the wildcard covers the rest of the URI
    if (p_query or "").endswith("*") or (not p_query and p_path.endswith("*")):
        prefix = (p_path + (p_query or "")).rstrip("*")
        return (path + (f"?{query}" if query else "")).startswith(prefix or "/")
    return (path or "/") == (p_path or "/") and query == (p_query or "?")[1:]


def with_params(uri: str, params: dict[str, str]) -> str:
    """uri with query parameters appended (keeping any it already has)."""
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


@dataclass(frozen=True)
class AuthRequest:
    """A validated authorization request."""

    client_id: str
    redirect_uri: str
    scope: str
    state: str | None
    nonce: str | None
    code_challenge: str


@dataclass
class DeviceGrant:
    """A device authorization (RFC 8628) waiting for the user, then for the device's next poll."""

    device_code: str
    user_code: str
    client_id: str
    scope: str
    expires: float
    interval: int
    last_poll: float | None = None
    status: str = "pending"  # pending | approved | denied
    user_id: str | None = None
    sid: str | None = None


@dataclass
class PendingLogin:
    """A rendered sign-in form; its id in the form is single-use and unguessable, so it also stops CSRF."""

    expires: float
    auth: AuthRequest | None = None
    device: DeviceGrant | None = None


@dataclass(frozen=True)
class Code:
    """An authorization code: single-use, short-lived, bound to client, redirect_uri and PKCE challenge."""

    auth: AuthRequest
    user_id: str
    sid: str
    auth_time: int
    expires: float


@dataclass
class BrowserSession:
    """Who a browser signed in as (the session cookie names it)."""

    sid: str
    user_id: str
    auth_time: int
    expires: float


class InteractiveFlows:
    """State and rules of the browser and device sign-in flows of one realm (callers hold realm.lock)."""

    def __init__(
        self,
        realm: Realm,
        device_code_lifespan: int = DEVICE_CODE_LIFESPAN,
        device_poll_interval: int = DEVICE_POLL_INTERVAL,
    ) -> None:
        self.realm = realm
        self.device_code_lifespan = device_code_lifespan
        self.device_poll_interval = device_poll_interval
        self.clock: Callable[[], float] = time.time  # tests move it to expire codes without sleeping
        self.logins: dict[str, PendingLogin] = {}
        self.codes: dict[str, Code] = {}
        self.spent_codes: dict[str, tuple[str, str]] = {}  # code -> (sid, client): a replay revokes the grant
        self.sessions: dict[str, BrowserSession] = {}
        self.devices: dict[str, DeviceGrant] = {}
        self.user_codes: dict[str, str] = {}

    # -- URLs and cookies -------------------------------------------------------------------

    @property
    def _oidc(self) -> str:
        return f"{self.realm.issuer}/protocol/openid-connect"

    @property
    def login_action(self) -> str:
        """Where the sign-in form posts (Keycloak's login-actions path)."""
        return f"{self.realm.issuer}/login-actions/authenticate"

    @property
    def device_page_url(self) -> str:
        """The RFC 8628 verification_uri (Keycloak serves it at `{realm}/device`)."""
        return f"{self.realm.issuer}/device"

    def _cookie(self, value: str, max_age: int) -> str:
        secure = "; Secure" if self.realm.issuer.startswith("https:") else ""
        # Lax: sent on the top-level navigation from the app to /auth, which is all the code flow needs.
        return (
            f"{SESSION_COOKIE}={value}; Path=/realms/{self.realm.name}/; Max-Age={max_age}; "
            f"HttpOnly; SameSite=Lax{secure}"
        )

    def _expired_cookie(self) -> str:
        return self._cookie("", 0)

    def session_from(self, cookie_header: str | None) -> BrowserSession | None:
        """The live browser session named by the request's cookie, if any."""
        try:
            jar = SimpleCookie(cookie_header or "")
        except CookieError:
            return None
        morsel = jar.get(SESSION_COOKIE)
        found = self.sessions.get(morsel.value) if morsel else None
        if found is None:
            return None
        user = self.realm.by_id(found.user_id)
        if found.expires < self.clock() or user is None or not user.enabled or not self.realm.session_active(found.sid):
            self.sessions.pop(found.sid, None)
            return None
        found.expires = self.clock() + self.realm.refresh_token_lifespan  # idle timeout slides with use
        return found

    def _start_session(self, user: User) -> BrowserSession:
        now = self.clock()
        session = BrowserSession(str(uuid.uuid4()), user.id, int(now), now + self.realm.refresh_token_lifespan)
        self.sessions[session.sid] = session
        return session

    def _end_session(self, sid: str) -> None:
        self.sessions.pop(sid, None)
        self.realm.end_session(sid)

    # -- authorization endpoint -------------------------------------------------------------

    def authorize(self, query: dict[str, str], cookie: str | None) -> Html | Redirect:
        """GET /auth: validate, then answer from the browser session or show the sign-in form."""
        client_id = query.get("client_id", "")
        client = self.realm.clients.get(client_id)
        if client is None:
            return _error_page("Client not found.")
        if not client.get("standardFlowEnabled") or client.get("bearerOnly"):
            return _error_page("Client is not allowed to initiate browser login.")
        redirect_uri = query.get("redirect_uri", "")
        # RFC 6749 4.1.2.1: a bad client or redirect_uri is shown here, never redirected to.
        if not redirect_uri or not redirect_allowed(redirect_uri, self.realm.redirect_uris(client_id)):
            return _error_page("Invalid parameter: redirect_uri")
        state = query.get("state")

        def fail(error: str, description: str) -> Redirect:
            params = {"error": error, "error_description": description, "iss": self.realm.issuer}
            return Redirect(with_params(redirect_uri, {**params, **({"state": state} if state else {})}))

        if query.get("response_type") != "code":
            return fail("unsupported_response_type", "Client is not allowed to use this response_type")
        if query.get("response_mode", "query") != "query":
            return fail("invalid_request", "Invalid parameter: response_mode")
        challenge, method = query.get("code_challenge"), query.get("code_challenge_method")
        if client.get("publicClient") or client.get("pkceCodeChallengeMethod") or challenge:
            if not challenge:
                return fail("invalid_request", "Missing parameter: code_challenge")
            if method != "S256":
                return fail("invalid_request", "Invalid parameter: code_challenge_method (S256 required)")
            if not _CHALLENGE.fullmatch(challenge):
                return fail("invalid_request", "Invalid parameter: code_challenge")
        prompts = set(query.get("prompt", "").split())
        if not prompts <= PROMPTS or ("none" in prompts and len(prompts) > 1):
            return fail("invalid_request", "Invalid parameter: prompt")
        auth = AuthRequest(
            client_id, redirect_uri, query.get("scope", "openid"), state, query.get("nonce"), challenge or ""
        )
        session = None if "login" in prompts else self.session_from(cookie)
        if session is not None:
            return self._issue_code(auth, session)
        if "none" in prompts:
            return fail("login_required", "Login required")
        return self._login_form(self._pending(PendingLogin(self.clock() + LOGIN_LIFESPAN, auth=auth)), auth)

    def _pending(self, login: PendingLogin) -> str:
        now = self.clock()
        for stale in [k for k, v in self.logins.items() if v.expires < now]:
            del self.logins[stale]
        login_id = secrets.token_urlsafe(32)
        self.logins[login_id] = login
        return login_id

    def _login_form(self, login_id: str, auth: AuthRequest, error: str | None = None, username: str = "") -> Html:
        return pages.login_form(
            "Sign in to Media Vault",
            self.login_action,
            {"login": login_id},
            error=error,
            username=username,
            form_targets=(origin_of(auth.redirect_uri),),
            intro=f"Signing in to {auth.client_id}.",
        )

    def _issue_code(self, auth: AuthRequest, session: BrowserSession, cookies: tuple[str, ...] = ()) -> Redirect:
        code = secrets.token_urlsafe(32)
        self.codes[code] = Code(auth, session.user_id, session.sid, session.auth_time, self.clock() + CODE_LIFESPAN)
        params = {"code": code, "session_state": session.sid, "iss": self.realm.issuer}
        if auth.state:
            params["state"] = auth.state
        return Redirect(with_params(auth.redirect_uri, params), cookies)

    # -- the sign-in form's POST --------------------------------------------------------------

    def authenticate(self, form: dict[str, str], cookie: str | None) -> Html | Redirect:
        """POST of the sign-in form: check credentials (or the browser session), then finish the flow."""
        login = self.logins.get(form.get("login", ""))
        if login is None or login.expires < self.clock():
            return _error_page("Your sign-in attempt timed out or was already used. Start again.")
        device = login.device
        if device is not None and (device.status != "pending" or device.expires < self.clock()):
            self.logins.pop(form["login"], None)
            return _error_page("This device code has expired or was already used.")
        if form.get("action") == "deny":
            self.logins.pop(form["login"], None)
            if device is not None:
                device.status = "denied"
                return pages.message("Access denied", "The device was not connected. You may close this page.")
            assert login.auth is not None
            params = {"error": "access_denied", "error_description": "User denied", "iss": self.realm.issuer}
            return Redirect(with_params(login.auth.redirect_uri, {**params, **_state(login.auth)}))
        cookies: tuple[str, ...] = ()
        session = self.session_from(cookie)
        if "username" in form or session is None:
            user = self.realm.by_username(form.get("username", ""))
            password = form.get("password", "").encode()
            if user is None or user.password is None or not hmac.compare_digest(password, user.password.encode()):
                return self._retry(form["login"], login, "Invalid username or password.", form.get("username", ""))
            if not user.enabled:
                return self._retry(form["login"], login, "Account is disabled, contact your administrator.", "")
            if session is not None:
                self._end_session(session.sid)  # one browser, one signed-in user
            session = self._start_session(user)
            cookies = (self._cookie(session.sid, self.realm.refresh_token_lifespan),)
        self.logins.pop(form["login"], None)
        if device is not None:
            device.status, device.user_id, device.sid = "approved", session.user_id, session.sid
            return pages.message("Device connected", "You may close this page and return to your device.", cookies)
        assert login.auth is not None
        return self._issue_code(login.auth, session, cookies)

    def _retry(self, login_id: str, login: PendingLogin, error: str, username: str) -> Html:
        if login.device is not None:
            page = self._device_form(login_id, login.device, None, error, username)
        else:
            assert login.auth is not None
            page = self._login_form(login_id, login.auth, error, username)
        return Html(page.text, page.form_targets, page.cookies, status=401)

    # -- token endpoint: authorization_code ----------------------------------------------------

    def exchange_code(self, form: dict[str, str], client_id: str) -> Json:
        """The authorization_code grant: one use, within 60 s, same client and redirect_uri, PKCE S256."""
        raw = form.get("code")
        if not raw:
            raise bad_request("Missing parameter: code")
        code = self.codes.pop(raw, None)
        if code is None:
            spent = self.spent_codes.get(raw)
            if spent is not None:
                # RFC 6749 4.1.2: a replayed code revokes what it was exchanged for.
                self.realm.revoke_client_session(*spent)
            raise oauth_error(400, "invalid_grant", "Code not valid")
        self.spent_codes[raw] = (code.sid, code.auth.client_id)
        if code.expires < self.clock():
            raise oauth_error(400, "invalid_grant", "Code is expired")
        if code.auth.client_id != client_id:
            raise oauth_error(400, "invalid_grant", "Auth error: code was issued to another client")
        if form.get("redirect_uri") != code.auth.redirect_uri:
            raise oauth_error(400, "invalid_grant", "Incorrect redirect_uri")
        verifier = form.get("code_verifier")
        if code.auth.code_challenge:
            if not verifier:
                raise oauth_error(400, "invalid_grant", "PKCE code verifier not specified")
            if not _VERIFIER.fullmatch(verifier) or not hmac.compare_digest(s256(verifier), code.auth.code_challenge):
                raise oauth_error(400, "invalid_grant", "PKCE verification failed: Invalid code verifier")
        user = self.realm.by_id(code.user_id)
        if user is None or not user.enabled:
            raise oauth_error(400, "invalid_grant", "User not found or disabled")
        if not self.realm.session_active(code.sid, client_id):
            raise oauth_error(400, "invalid_grant", "Session not active")
        return self._tokens(user, client_id, code.sid, code.auth.scope, code.auth.nonce, code.auth_time)

    def _tokens(
        self, user: User, client_id: str, sid: str, scope: str, nonce: str | None, auth_time: int | None
    ) -> Json:
        body = self.realm.token_response(user, client_id, sid)
        if "openid" in scope.split():
            body["id_token"] = self.realm.id_token(user, client_id, sid, body["access_token"], nonce, auth_time)
        return body

    # -- end session and revocation ------------------------------------------------------------

    def end_session(self, params: dict[str, str], cookie: str | None) -> Html | Redirect:
        """GET/POST /logout: end the browser session (and the hinted one), then redirect or say so."""
        hint, client_id = params.get("id_token_hint"), params.get("client_id")
        hinted: Json | None = None
        if hint:
            try:
                hinted = self.realm.verify(hint, "ID", verify_exp=False)  # an expired hint still names the session
            except InvalidToken:
                return _error_page("Invalid parameter: id_token_hint")
            if client_id and hinted.get("azp") != client_id:
                return _error_page("Parameter client_id does not match the id_token_hint")
            client_id = str(hinted.get("azp"))
        target = params.get("post_logout_redirect_uri")
        if target:
            if not client_id or client_id not in self.realm.clients:
                return _error_page("Either id_token_hint or client_id parameter is required")
            if not redirect_allowed(target, self.realm.post_logout_redirect_uris(client_id)):
                return _error_page("Invalid redirect uri")
        session = self.session_from(cookie)
        if session is not None:
            self._end_session(session.sid)
        if hinted is not None and isinstance(hinted.get("sid"), str):
            self._end_session(hinted["sid"])
        cookies = (self._expired_cookie(),)
        if target:
            state = params.get("state")
            return Redirect(with_params(target, {"state": state}) if state else target, cookies)
        return pages.message("Signed out", "You are signed out of Media Vault.", cookies)

    def revoke(self, form: dict[str, str], client_id: str) -> None:
        """RFC 7009: a refresh token stops working; unknown or invalid tokens are not an error."""
        token = form.get("token")
        if not token:
            raise bad_request("Missing token parameter")
        try:
            claims = self.realm.verify(token, "Refresh")
        except InvalidToken:
            return  # access tokens are stateless here and expire on their own; garbage is ignored (7009 2.2)
        if claims.get("azp") != client_id:
            raise oauth_error(400, "unauthorized_client", "Unmatching clients")
        if isinstance(claims.get("sid"), str):
            self.realm.revoke_client_session(claims["sid"], client_id)

    # -- device authorization grant (RFC 8628) ---------------------------------------------------

    def authorize_device(self, form: dict[str, str], client_id: str) -> Json:
        """POST /auth/device: a device code for the device, a short user code for the person."""
        if not self.realm.clients[client_id].get("deviceAuthorizationGrantEnabled"):
            raise oauth_error(400, "unauthorized_client", "Client is not allowed to initiate OAuth 2.0 Device Grant")
        now = self.clock()
        for code in [c for c, g in self.devices.items() if g.expires < now - self.device_code_lifespan]:
            self.user_codes.pop(self.devices.pop(code).user_code, None)
        user_code = self._new_user_code()
        grant = DeviceGrant(
            device_code=secrets.token_urlsafe(32),
            user_code=user_code,
            client_id=client_id,
            scope=form.get("scope", "openid"),
            expires=now + self.device_code_lifespan,
            interval=self.device_poll_interval,
        )
        self.devices[grant.device_code] = grant
        self.user_codes[user_code] = grant.device_code
        return {
            "device_code": grant.device_code,
            "user_code": user_code,
            "verification_uri": self.device_page_url,
            "verification_uri_complete": with_params(self.device_page_url, {"user_code": user_code}),
            "expires_in": self.device_code_lifespan,
            "interval": grant.interval,
        }

    def _new_user_code(self) -> str:
        while True:
            raw = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
            code = f"{raw[:4]}-{raw[4:]}"
            if code not in self.user_codes:
                return code

    def device_page(self, query: dict[str, str], cookie: str | None) -> Html:
        """GET /device: ask for the user code, then for sign-in (or consent, with a browser session)."""
        if "user_code" not in query:
            return pages.user_code_form(self.device_page_url)
        typed = "".join(c for c in query["user_code"].upper() if c in USER_CODE_ALPHABET)
        grant = self.devices.get(self.user_codes.get(f"{typed[:4]}-{typed[4:]}", ""))
        if grant is None or grant.status != "pending" or grant.expires < self.clock():
            page = pages.user_code_form(self.device_page_url, "Invalid or expired code. Check it and try again.")
            return Html(page.text, page.form_targets, status=400)
        session = self.session_from(cookie)
        login_id = self._pending(PendingLogin(min(grant.expires, self.clock() + LOGIN_LIFESPAN), device=grant))
        return self._device_form(login_id, grant, session)

    def _device_form(
        self,
        login_id: str,
        grant: DeviceGrant,
        session: BrowserSession | None,
        error: str | None = None,
        name: str = "",
    ) -> Html:
        user = self.realm.by_id(session.user_id) if session else None
        return pages.login_form(
            "Connect a device",
            self.login_action,
            {"login": login_id},
            error=error,
            username=name,
            signed_in_as=user.username if user else None,
            allow_label="Allow" if user else "Sign in and allow",
            cancel_label="Deny",
            intro=f"{grant.client_id} asks to use Media Vault as you. Check that your device shows {grant.user_code}.",
        )

    def poll_device(self, form: dict[str, str], client_id: str) -> Json:
        """The device_code grant: pending, slow_down, expired_token, access_denied, then tokens once."""
        raw = form.get("device_code")
        if not raw:
            raise bad_request("Missing parameter: device_code")
        grant = self.devices.get(raw)
        if grant is None or grant.client_id != client_id:
            raise oauth_error(400, "invalid_grant", "Device code not valid")
        now = self.clock()
        if grant.expires < now:
            raise oauth_error(400, "expired_token", "Device code is expired")
        if grant.status == "denied":
            self._forget_device(grant)
            raise oauth_error(400, "access_denied", "The end user denied the authorization request")
        too_soon = grant.last_poll is not None and now - grant.last_poll < grant.interval
        grant.last_poll = now
        if grant.status == "pending":
            if too_soon:
                grant.interval += SLOW_DOWN_STEP
                raise oauth_error(400, "slow_down", f"Slow down: poll at most every {grant.interval} seconds")
            raise oauth_error(400, "authorization_pending", "The authorization request is still pending")
        self._forget_device(grant)
        user = self.realm.by_id(grant.user_id or "")
        if user is None or not user.enabled or grant.sid is None:
            raise oauth_error(400, "invalid_grant", "User not found or disabled")
        session = self.sessions.get(grant.sid)
        return self._tokens(user, client_id, grant.sid, grant.scope, None, session.auth_time if session else None)

    def _forget_device(self, grant: DeviceGrant) -> None:
        self.devices.pop(grant.device_code, None)
        self.user_codes.pop(grant.user_code, None)


def _state(auth: AuthRequest) -> dict[str, str]:
    return {"state": auth.state} if auth.state else {}


def _error_page(text: str) -> Html:
    page = pages.message("We are sorry...", text, error=True)
    return Html(page.text, status=400)
