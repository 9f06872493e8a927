"""Interactive sign-in for the CLI: browser (authorization code + PKCE on a loopback redirect, RFC 8252),
device (RFC 8628), and logout with token revocation (RFC 7009)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import webbrowser
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from mediavault_cli.api import TIMEOUT, Identity, error_of, with_retries
from mediavault_cli.config import CLIENT_ID, Profile
from mediavault_cli.errors import ApiError, CliError

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CALLBACK_PATH = "/callback"
SLOW_DOWN_STEP = 5  # RFC 8628 3.5
Say = Callable[[str], None]


def discover(http: requests.Session, issuer: str) -> dict[str, Any]:
    """The realm's OpenID configuration (where each endpoint lives)."""
    url = f"{issuer}/.well-known/openid-configuration"
    response = with_retries(lambda: http.get(url, timeout=TIMEOUT), "the identity server")
    if response.status_code != 200:
        raise error_of(response)
    config: dict[str, Any] = response.json()
    return config


def claims_of(jwt: str) -> dict[str, Any]:
    """The payload of a JWT received straight from the token endpoint over the wire (OIDC Core 3.1.3.7 lets
    a client skip the signature check there); it is read for the nonce and the username only."""
    try:
        payload = jwt.split(".")[1]
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:
        raise CliError("the identity server returned a malformed token") from exc
    return claims


def _username(tokens: dict[str, Any]) -> str:
    return str(claims_of(tokens["access_token"]).get("preferred_username", ""))


# --- browser: authorization code + PKCE ----------------------------------------------------------------


class _Callback(BaseHTTPRequestHandler):
    """Receives the browser's redirect; the first answer with our state wins."""

    server: _CallbackServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path != CALLBACK_PATH or params.get("state") != self.server.state:
            # Not our redirect (a stray request or a forged one): refuse it and keep waiting.
            self._reply(400, "This is not the sign-in you started from the terminal.")
            return
        self.server.result = params
        if "error" in params:
            self._reply(200, "Sign-in did not complete. You can close this tab and check the terminal.")
        else:
            self._reply(200, "Signed in to Media Vault. You can close this tab and return to the terminal.")
        self.server.done.set()

    def _reply(self, status: int, text: str) -> None:
        body = (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Media Vault</title></head>'
            f"<body><main><h1>Media Vault</h1><p>{text}</p></main></body></html>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Security-Policy", "default-src 'none'")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the terminal shows our own messages only."""


class _CallbackServer(HTTPServer):
    def __init__(self, state: str) -> None:
        super().__init__(("127.0.0.1", 0), _Callback)  # loopback IP, any free port (RFC 8252 7.3)
        self.state = state
        self.result: dict[str, str] = {}
        self.done = threading.Event()


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier (86 characters) and its S256 challenge."""
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def browser_login(identity: Identity, say: Say, timeout: float = 300, open_browser: bool = True) -> str:
    """Sign in through the system browser; store the tokens; return the username."""
    endpoints = discover(identity.http, identity.profile.issuer)
    verifier, challenge = pkce_pair()
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    server = _CallbackServer(state)
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}{CALLBACK_PATH}"
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": "openid",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    url = f"{endpoints['authorization_endpoint']}?{urlencode(query)}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        say("Opening your browser to sign in. If it does not open, visit this address:")
        say(url)
        if open_browser:
            webbrowser.open(url)
        if not server.done.wait(timeout):
            raise CliError(f"no sign-in within {timeout:.0f} s")
    finally:
        server.shutdown()
        server.server_close()
    result = server.result
    if "error" in result:
        raise ApiError(400, result["error"], result.get("error_description", "sign-in refused"))
    tokens = identity.grant(
        {
            "grant_type": "authorization_code",
            "code": result.get("code", ""),
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
    )
    if "id_token" in tokens:
        claims = claims_of(tokens["id_token"])
        if claims.get("nonce") != nonce or claims.get("aud") not in (CLIENT_ID, [CLIENT_ID]):
            raise CliError("the identity server's answer does not belong to this sign-in (nonce or audience)")
    username = _username(tokens)
    identity.store(tokens, username)
    return username


# --- device authorization grant ---------------------------------------------------------------------


def device_login(identity: Identity, say: Say, sleep: Callable[[float], None] = time.sleep) -> str:
    """Sign in on another device: show the code, poll politely until approved; store the tokens."""
    endpoints = discover(identity.http, identity.profile.issuer)
    url = endpoints.get("device_authorization_endpoint")
    if not url:
        raise CliError("this identity server does not offer device sign-in: use --browser or --username")
    http = identity.http
    response = with_retries(
        lambda: http.post(url, data={"client_id": CLIENT_ID, "scope": "openid"}, timeout=TIMEOUT),
        "the identity server",
    )
    if response.status_code != 200:
        raise error_of(response)
    grant = response.json()
    interval = max(int(grant.get("interval", 5)), 1)
    deadline = time.monotonic() + int(grant.get("expires_in", 600))
    say(f"To sign in, visit {grant['verification_uri']} and enter the code: {grant['user_code']}")
    if grant.get("verification_uri_complete"):
        say(f"or open {grant['verification_uri_complete']}")
    say("Waiting for you to approve...")
    while True:
        sleep(interval)
        if time.monotonic() > deadline:
            raise CliError("the device code expired before it was approved: run `mediavault login --device` again")
        try:
            tokens = identity.grant({"grant_type": DEVICE_GRANT, "device_code": grant["device_code"]})
        except ApiError as exc:
            if exc.code == "authorization_pending":
                continue
            if exc.code == "slow_down":
                interval += SLOW_DOWN_STEP
                continue
            if exc.code == "access_denied":
                raise CliError("sign-in was denied in the browser") from exc
            if exc.code == "expired_token":
                raise CliError("the device code expired: run `mediavault login --device` again") from exc
            raise
        username = _username(tokens)
        identity.store(tokens, username)
        return username


# --- logout ---------------------------------------------------------------------------------------------


def logout(profile: Profile, http: requests.Session, say: Say) -> bool:
    """Revoke the refresh token at the identity server, then forget the tokens; True if there were any."""
    token = profile.stored.get("refresh_token")
    if token:
        try:
            url = discover(http, profile.issuer).get("revocation_endpoint")
            if url:
                form = {"client_id": CLIENT_ID, "token": token, "token_type_hint": "refresh_token"}
                response = with_retries(lambda: http.post(url, data=form, timeout=TIMEOUT), "the identity server")
                if response.status_code != 200:
                    raise error_of(response)
        except CliError as exc:
            # Forgetting locally still matters; the token then lives until it expires on its own.
            say(f"warning: could not revoke the session at the identity server ({exc})")
    return profile.forget_tokens()
