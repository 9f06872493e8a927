"""Interactive sign-in on the dev identity server, driven over HTTP like a browser would (loopback sockets).

Authorization code + PKCE, the browser session and prompt=none, logout, revocation and the device grant.
Time-dependent rules (code and device-code expiry, polling speed) run on the flows' clock, not on sleeps.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from jose import jwt

from infra.identity.server import IdentityServer

WEB, CLI, API = "media-vault-web", "media-vault-cli", "media-vault-api"
WEB_REDIRECT = "http://127.0.0.1:5173/callback"
CLI_REDIRECT = "http://127.0.0.1:49152/callback"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class Clock:
    """A settable clock for the flows (starts at the real time so tokens stay valid)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def server() -> Iterator[IdentityServer]:
    with IdentityServer(port=0, web_origins=["https://console.example.test"]) as srv:
        yield srv


@pytest.fixture()
def clock(server: IdentityServer) -> Clock:
    import time

    tick = Clock(time.time())
    server.realm.flows.clock = tick
    return tick


def oidc(srv: IdentityServer, leaf: str) -> str:
    return f"{srv.issuer}/protocol/openid-connect/{leaf}"


class Forms(HTMLParser):
    """The forms of a page: action, method and every named input's value."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.labels: dict[str, str] = {}
        self._label: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get"), "fields": {}})
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")
        elif tag == "label":
            self._label = a.get("for")

    def handle_data(self, data: str) -> None:
        if self._label:
            self.labels[self._label] = data.strip()
            self._label = None


def parse(html: str) -> Forms:
    forms = Forms()
    forms.feed(html)
    return forms


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def auth_params(client: str, redirect: str, challenge: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": client,
        "redirect_uri": redirect,
        "scope": "openid",
        "state": "st-" + secrets.token_hex(4),
        "nonce": "n-" + secrets.token_hex(4),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


def query_of(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def submit(browser: requests.Session, page: requests.Response, **fields: str) -> requests.Response:
    """Post the page's (first) form with its hidden fields plus `fields`, not following the redirect."""
    form = parse(page.text).forms[0]
    return browser.post(urljoin(page.url, form["action"]), data={**form["fields"], **fields}, allow_redirects=False)


def sign_in(
    browser: requests.Session, srv: IdentityServer, user: str, client: str = WEB, redirect: str = WEB_REDIRECT
) -> tuple[dict[str, str], dict[str, str], str]:
    """The whole browser part: form, credentials, redirect. Returns (auth params, redirect params, verifier)."""
    verifier, challenge = pkce()
    params = auth_params(client, redirect, challenge)
    page = browser.get(oidc(srv, "auth"), params=params, allow_redirects=False, timeout=5)
    if page.status_code == 302:  # the browser session answered without the form
        return params, query_of(page), verifier
    assert page.status_code == 200, page.text
    return params, query_of(submit(browser, page, username=user, password=user, action="allow")), verifier


def exchange(srv: IdentityServer, code: str, verifier: str, client: str = WEB, redirect: str = WEB_REDIRECT) -> Any:
    form = {
        "grant_type": "authorization_code",
        "client_id": client,
        "code": code,
        "redirect_uri": redirect,
        "code_verifier": verifier,
    }
    return requests.post(oidc(srv, "token"), data=form, timeout=5)


def refresh(srv: IdentityServer, token: str, client: str = WEB) -> requests.Response:
    form = {"grant_type": "refresh_token", "client_id": client, "refresh_token": token}
    return requests.post(oidc(srv, "token"), data=form, timeout=5)


def claims_of(srv: IdentityServer, token: str, audience: str) -> dict[str, Any]:
    jwks = requests.get(oidc(srv, "certs"), timeout=5).json()
    claims: dict[str, Any] = jwt.decode(
        token, jwks, algorithms=["RS256"], audience=audience, issuer=srv.issuer, options={"verify_at_hash": False}
    )
    return claims


def error_of(response: requests.Response) -> str:
    return str(response.json()["error"])


# --- discovery -------------------------------------------------------------------------------------


def test_discovery_advertises_every_interactive_endpoint(server: IdentityServer) -> None:
    doc = requests.get(f"{server.issuer}/.well-known/openid-configuration", timeout=5).json()
    for key, leaf in (
        ("authorization_endpoint", "auth"),
        ("end_session_endpoint", "logout"),
        ("revocation_endpoint", "revoke"),
        ("device_authorization_endpoint", "auth/device"),
    ):
        assert doc[key] == oidc(server, leaf)
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert {"authorization_code", DEVICE_GRANT} <= set(doc["grant_types_supported"])


# --- authorization code + PKCE ---------------------------------------------------------------------


def test_code_flow_from_form_to_tokens(server: IdentityServer) -> None:
    browser = requests.Session()
    verifier, challenge = pkce()
    params = auth_params(WEB, WEB_REDIRECT, challenge)
    # GIVEN the sign-in form: labelled fields, a button, no external assets, a strict CSP
    page = browser.get(oidc(server, "auth"), params=params, timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert "form-action 'self' http://127.0.0.1:5173" in csp  # the redirect after the POST must be allowed
    forms = parse(page.text)
    assert forms.labels == {"username": "Username or email", "password": "Password"}
    assert "<button" in page.text and "http" not in page.text.split("<main>")[0].replace("http-equiv", "")
    # WHEN alice signs in
    back = query_of(submit(browser, page, username="alice", password="alice", action="allow"))
    # THEN the browser goes back to the app with a code and the app's state
    assert back["state"] == params["state"] and back["iss"] == server.issuer and back["code"]
    # AND the code with its verifier buys access, refresh and id tokens
    tokens = exchange(server, back["code"], verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    access = claims_of(server, body["access_token"], API)
    assert access["preferred_username"] == "alice" and access["azp"] == WEB
    identity = claims_of(server, body["id_token"], WEB)
    assert identity["nonce"] == params["nonce"] and identity["aud"] == WEB and identity["sub"] == access["sub"]
    assert refresh(server, body["refresh_token"]).status_code == 200


def test_bad_credentials_stay_on_the_form_with_an_error(server: IdentityServer) -> None:
    browser = requests.Session()
    _, challenge = pkce()
    page = browser.get(oidc(server, "auth"), params=auth_params(WEB, WEB_REDIRECT, challenge), timeout=5)
    wrong = submit(browser, page, username="alice", password="nope", action="allow")
    assert wrong.status_code == 401 and "Location" not in wrong.headers
    assert 'role="alert"' in wrong.text and "Invalid username or password." in wrong.text
    assert 'aria-invalid="true"' in wrong.text
    # the form it shows again still works
    assert "code" in query_of(submit(browser, wrong, username="alice", password="alice", action="allow"))


def test_cancel_returns_access_denied_to_the_app(server: IdentityServer) -> None:
    browser = requests.Session()
    _, challenge = pkce()
    params = auth_params(WEB, WEB_REDIRECT, challenge)
    page = browser.get(oidc(server, "auth"), params=params, timeout=5)
    back = query_of(submit(browser, page, action="deny"))
    assert back["error"] == "access_denied" and back["state"] == params["state"]


def test_cli_client_uses_any_loopback_port(server: IdentityServer) -> None:
    _, back, verifier = sign_in(requests.Session(), server, "bob", CLI, "http://127.0.0.1:61234/cb")
    assert exchange(server, back["code"], verifier, CLI, "http://127.0.0.1:61234/cb").status_code == 200


@pytest.mark.parametrize(
    ("client", "redirect"),
    [
        (WEB, "https://evil.example.test/callback"),
        (WEB, "http://127.0.0.1:5173@evil.example.test/"),
        (WEB, "http://127.0.0.1:5173/callback#fragment"),
        (WEB, "https://console.example.test.evil.test/"),
        (CLI, "http://localhost:5173/callback"),
        (CLI, "https://console.example.test/"),
        ("no-such-client", WEB_REDIRECT),
        (API, WEB_REDIRECT),
    ],
)
def test_a_foreign_redirect_uri_is_shown_never_redirected_to(
    server: IdentityServer, client: str, redirect: str
) -> None:
    _, challenge = pkce()
    page = requests.get(oidc(server, "auth"), params=auth_params(client, redirect, challenge), timeout=5)
    assert page.status_code == 400 and "Location" not in page.headers
    assert 'role="alert"' in page.text


def test_configured_console_origin_is_a_valid_redirect(server: IdentityServer) -> None:
    _, challenge = pkce()
    params = auth_params(WEB, "https://console.example.test/auth/callback", challenge)
    assert requests.get(oidc(server, "auth"), params=params, timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"code_challenge": ""}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"prompt": "none login"}, "invalid_request"),
    ],
)
def test_bad_requests_with_a_valid_redirect_go_back_with_an_error(
    server: IdentityServer, change: dict[str, str], error: str
) -> None:
    _, challenge = pkce()
    params = {**auth_params(WEB, WEB_REDIRECT, challenge), **change}
    back = query_of(requests.get(oidc(server, "auth"), params=params, allow_redirects=False, timeout=5))
    assert back["error"] == error and back["state"] == params["state"]


def test_wrong_verifier_reused_code_and_wrong_redirect_are_refused(server: IdentityServer) -> None:
    browser = requests.Session()
    # a wrong verifier burns the code
    _, back, verifier = sign_in(browser, server, "alice")
    wrong = exchange(server, back["code"], pkce()[0])
    assert wrong.status_code == 400 and error_of(wrong) == "invalid_grant"
    assert error_of(exchange(server, back["code"], verifier)) == "invalid_grant"
    # a code without its verifier
    _, back, verifier = sign_in(browser, server, "alice")
    assert error_of(exchange(server, back["code"], "")) == "invalid_grant"
    # a redirect_uri other than the one the code was issued for
    _, back, verifier = sign_in(browser, server, "alice")
    assert error_of(exchange(server, back["code"], verifier, redirect="http://127.0.0.1:5173/other")) == "invalid_grant"
    # another client
    _, back, verifier = sign_in(browser, server, "alice")
    assert error_of(exchange(server, back["code"], verifier, client=CLI)) == "invalid_grant"
    # a replayed code is refused, and the tokens it bought stop refreshing (a fresh browser: the replay
    # above already revoked the first browser's session for this client)
    _, back, verifier = sign_in(requests.Session(), server, "alice")
    first = exchange(server, back["code"], verifier)
    assert first.status_code == 200
    assert error_of(exchange(server, back["code"], verifier)) == "invalid_grant"
    assert error_of(refresh(server, first.json()["refresh_token"])) == "invalid_grant"


def test_code_expires_after_sixty_seconds(server: IdentityServer, clock: Clock) -> None:
    browser = requests.Session()
    _, back, verifier = sign_in(browser, server, "alice")
    clock.now += 59
    assert exchange(server, back["code"], verifier).status_code == 200
    _, back, verifier = sign_in(browser, server, "alice")
    clock.now += 61
    late = exchange(server, back["code"], verifier)
    assert late.status_code == 400 and error_of(late) == "invalid_grant"


# --- browser session, prompt=none, logout ----------------------------------------------------------


def test_prompt_none_without_and_with_a_session(server: IdentityServer) -> None:
    browser = requests.Session()
    verifier, challenge = pkce()
    silent = auth_params(WEB, WEB_REDIRECT, challenge, prompt="none")
    # GIVEN no session, WHEN the app asks silently, THEN login_required comes back with its state
    back = query_of(browser.get(oidc(server, "auth"), params=silent, allow_redirects=False, timeout=5))
    assert back["error"] == "login_required" and back["state"] == silent["state"]
    # GIVEN alice signed in in this browser
    sign_in(browser, server, "alice")
    assert any(c.name == "KEYCLOAK_IDENTITY" and c.has_nonstandard_attr("HttpOnly") for c in browser.cookies)
    # WHEN the app asks silently, THEN a code comes back without a form
    back = query_of(browser.get(oidc(server, "auth"), params=silent, allow_redirects=False, timeout=5))
    tokens = exchange(server, back["code"], verifier).json()
    assert claims_of(server, tokens["access_token"], API)["preferred_username"] == "alice"
    # AND a plain request skips the form too, while another browser still sees it
    verifier, challenge = pkce()
    normal = auth_params(WEB, WEB_REDIRECT, challenge)
    assert "code" in query_of(browser.get(oidc(server, "auth"), params=normal, allow_redirects=False, timeout=5))
    assert requests.get(oidc(server, "auth"), params=normal, timeout=5).status_code == 200


def test_logout_ends_the_browser_session_and_its_refresh_tokens(server: IdentityServer) -> None:
    browser = requests.Session()
    _, back, verifier = sign_in(browser, server, "alice")
    tokens = exchange(server, back["code"], verifier).json()
    # a redirect the client does not own is refused and ends nothing
    evil = browser.get(
        oidc(server, "logout"),
        params={"post_logout_redirect_uri": "https://evil.example.test/", "id_token_hint": tokens["id_token"]},
        allow_redirects=False,
        timeout=5,
    )
    assert evil.status_code == 400 and "Location" not in evil.headers
    assert refresh(server, tokens["refresh_token"]).status_code == 200
    # WHEN the app logs out with its id token and a post-logout redirect
    out = browser.get(
        oidc(server, "logout"),
        params={
            "post_logout_redirect_uri": "http://127.0.0.1:5173/",
            "id_token_hint": tokens["id_token"],
            "state": "bye",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert out.status_code == 302 and out.headers["Location"] == "http://127.0.0.1:5173/?state=bye"
    # THEN silent sign-in needs a login again and the session's refresh token is dead
    _, challenge = pkce()
    silent = auth_params(WEB, WEB_REDIRECT, challenge, prompt="none")
    assert query_of(browser.get(oidc(server, "auth"), params=silent, allow_redirects=False, timeout=5))["error"] == (
        "login_required"
    )
    assert error_of(refresh(server, tokens["refresh_token"])) == "invalid_grant"


def test_logout_by_client_id_without_a_hint(server: IdentityServer) -> None:
    browser = requests.Session()
    sign_in(browser, server, "alice")
    out = browser.get(
        oidc(server, "logout"),
        params={"post_logout_redirect_uri": "http://127.0.0.1:5173/", "client_id": WEB},
        allow_redirects=False,
        timeout=5,
    )
    assert out.status_code == 302
    no_client = browser.get(
        oidc(server, "logout"), params={"post_logout_redirect_uri": "http://127.0.0.1:5173/"}, timeout=5
    )
    assert no_client.status_code == 400


# --- revocation ------------------------------------------------------------------------------------


def revoke(srv: IdentityServer, client: str, token: str) -> requests.Response:
    return requests.post(oidc(srv, "revoke"), data={"client_id": client, "token": token}, timeout=5)


def test_a_revoked_refresh_token_is_refused(server: IdentityServer) -> None:
    form = {"grant_type": "password", "client_id": CLI, "username": "bob", "password": "bob"}
    tokens = requests.post(oidc(server, "token"), data=form, timeout=5).json()
    other = requests.post(oidc(server, "token"), data=form, timeout=5).json()
    # another client cannot revoke it
    foreign = requests.post(
        oidc(server, "revoke"), data={"client_id": WEB, "token": tokens["refresh_token"]}, timeout=5
    )
    assert foreign.status_code == 400
    revoked = requests.post(
        oidc(server, "revoke"), data={"client_id": CLI, "token": tokens["refresh_token"]}, timeout=5
    )
    assert revoked.status_code == 200
    assert error_of(refresh(server, tokens["refresh_token"], CLI)) == "invalid_grant"
    # another login of the same user is untouched; garbage is "revoked" without complaint (RFC 7009 2.2)
    assert refresh(server, other["refresh_token"], CLI).status_code == 200
    assert (
        requests.post(oidc(server, "revoke"), data={"client_id": CLI, "token": "x.y.z"}, timeout=5).status_code == 200
    )


# --- device authorization grant --------------------------------------------------------------------


def device_start(srv: IdentityServer, client: str = CLI) -> requests.Response:
    return requests.post(oidc(srv, "auth/device"), data={"client_id": client, "scope": "openid"}, timeout=5)


def poll(srv: IdentityServer, device_code: str, client: str = CLI) -> requests.Response:
    form = {"grant_type": DEVICE_GRANT, "client_id": client, "device_code": device_code}
    return requests.post(oidc(srv, "token"), data=form, timeout=5)


def test_device_flow_pending_slow_down_then_approval(server: IdentityServer, clock: Clock) -> None:
    start = device_start(server)
    assert start.status_code == 200
    grant = start.json()
    assert grant["verification_uri"] == f"{server.issuer}/device" and grant["interval"] == 5
    assert grant["verification_uri_complete"].endswith(grant["user_code"]) and grant["expires_in"] == 600
    # the device polls: pending; polls again at once: slow down, with 5 more seconds between polls
    assert error_of(poll(server, grant["device_code"])) == "authorization_pending"
    assert error_of(poll(server, grant["device_code"])) == "slow_down"
    clock.now += 6
    assert error_of(poll(server, grant["device_code"])) == "slow_down"  # 6 s < 10 s; now it is 15 s
    clock.now += 15
    assert error_of(poll(server, grant["device_code"])) == "authorization_pending"
    # the person types the code (any case, without the dash) and signs in
    browser = requests.Session()
    typed = grant["user_code"].replace("-", "").lower()
    page = browser.get(f"{server.issuer}/device", params={"user_code": typed}, timeout=5)
    assert page.status_code == 200 and grant["user_code"] in page.text
    done = submit(browser, page, username="pat", password="pat", action="allow")
    assert done.status_code == 200 and "Device connected" in done.text
    # the next poll gets the tokens, once
    clock.now += 15
    tokens = poll(server, grant["device_code"])
    assert tokens.status_code == 200, tokens.text
    access = claims_of(server, tokens.json()["access_token"], API)
    assert access["preferred_username"] == "pat" and access["azp"] == CLI
    assert refresh(server, tokens.json()["refresh_token"], CLI).status_code == 200
    assert error_of(poll(server, grant["device_code"])) == "invalid_grant"


def test_device_flow_denied(server: IdentityServer) -> None:
    grant = device_start(server).json()
    page = requests.get(grant["verification_uri_complete"], timeout=5)
    denied = submit(requests.Session(), page, action="deny")
    assert denied.status_code == 200 and "Access denied" in denied.text
    assert error_of(poll(server, grant["device_code"])) == "access_denied"


def test_device_flow_with_a_browser_session_only_asks_to_confirm(server: IdentityServer) -> None:
    browser = requests.Session()
    sign_in(browser, server, "alice")
    grant = device_start(server).json()
    page = browser.get(grant["verification_uri_complete"], timeout=5)
    assert "Signed in as <strong>alice</strong>" in page.text and 'name="password"' not in page.text
    assert submit(browser, page, action="allow").status_code == 200
    assert claims_of(server, poll(server, grant["device_code"]).json()["access_token"], API)["sub"]


def test_device_code_expires(server: IdentityServer, clock: Clock) -> None:
    grant = device_start(server).json()
    clock.now += 601
    assert error_of(poll(server, grant["device_code"])) == "expired_token"
    page = requests.get(grant["verification_uri_complete"], timeout=5)
    assert page.status_code == 400 and "Invalid or expired code" in page.text


def test_device_grant_is_for_the_cli_client_only(server: IdentityServer) -> None:
    assert device_start(server, WEB).status_code == 400
    assert error_of(device_start(server, "no-such-client")) == "invalid_client"
    assert requests.get(f"{server.issuer}/device", params={"user_code": "BCDF-GHJK"}, timeout=5).status_code == 400
    assert parse(requests.get(f"{server.issuer}/device", timeout=5).text).labels == {"user_code": "Device code"}
