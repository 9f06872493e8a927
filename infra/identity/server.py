"""Keycloak-compatible dev identity server: the local stand-in for Keycloak (DEV ONLY, never deploy).

HTTP only: routing, parsing and replies. The realm state and token issuance live in `realm.py`, the
interactive sign-in flows (browser, session, logout, revocation, device) in `flows.py`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self, cast
from urllib.parse import parse_qsl, urlsplit

from infra.identity.flows import DEVICE_CODE_LIFESPAN, DEVICE_POLL_INTERVAL, redirect_allowed
from infra.identity.pages import content_security_policy
from infra.identity.realm import Realm, User
from infra.identity.replies import (
    Html,
    HttpError,
    InvalidToken,
    Json,
    Redirect,
    Reply,
    bad_request,
    oauth_error,
)

log = logging.getLogger(__name__)

__all__ = ["HttpError", "IdentityServer", "InvalidToken", "Realm", "User", "bad_request", "oauth_error"]

DEFAULT_SEED = Path(__file__).with_name("users.json")
DEFAULT_WEB_CLIENT = "media-vault-web"
WEB_ORIGINS_ENV = "MEDIA_VAULT_WEB_ORIGINS"
MAX_BODY_BYTES = 64 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
UNAUTHORIZED: Json = {"error": "HTTP 401 Unauthorized"}


def _uint(raw: str) -> int | None:
    """Parse a non-negative ASCII decimal integer; None when malformed."""
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() else None


_R = r"/realms/([^/]+)"
_U = r"/admin/realms/([^/]+)/users"
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (verb, re.compile(pattern), name)
    for verb, pattern, name in [
        ("GET", _R + r"/\.well-known/openid-configuration", "discovery"),
        ("GET", _R + "/protocol/openid-connect/certs", "certs"),
        ("POST", _R + "/protocol/openid-connect/token", "token"),
        ("GET", _R + "/protocol/openid-connect/auth", "auth"),
        ("POST", _R + "/login-actions/authenticate", "authenticate"),
        ("GET", _R + "/protocol/openid-connect/logout", "logout"),
        ("POST", _R + "/protocol/openid-connect/logout", "logout"),
        ("POST", _R + "/protocol/openid-connect/revoke", "revoke"),
        ("POST", _R + "/protocol/openid-connect/auth/device", "device_authorization"),
        ("GET", _R + "/device", "device_page"),
        ("POST", "/dev" + _R + "/keys/rotate", "dev_rotate"),
        ("POST", "/dev" + _R + "/sign", "dev_sign"),
        ("POST", "/dev" + _R + "/users/([^/]+)/(disable|enable)", "dev_enable"),
        ("GET", "/admin" + _R + "/roles", "admin_roles"),
        ("GET", _U, "admin_users"),
        ("POST", _U, "admin_create_user"),
        ("GET", _U + "/count", "admin_count"),
        ("GET", _U + "/([^/]+)", "admin_get_user"),
        ("PUT", _U + "/([^/]+)", "admin_update_user"),
        ("DELETE", _U + "/([^/]+)", "admin_delete_user"),
        ("GET", _U + "/([^/]+)/role-mappings/realm", "admin_get_roles"),
        ("POST", _U + "/([^/]+)/role-mappings/realm", "admin_add_roles"),
        ("DELETE", _U + "/([^/]+)/role-mappings/realm", "admin_remove_roles"),
    ]
]


class _HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer carrying the realm, with quiet connection-error handling."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], realm: Realm) -> None:
        self.realm = realm
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log connection-level errors (e.g. client resets) at debug level instead of stderr."""
        log.debug("connection error from %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to realm operations; every answer is JSON or empty."""

    server_version = "MediaVaultDevIdentity/1.0"
    body = b""
    extra_headers: dict[str, str]

    @property
    def realm(self) -> Realm:
        """The realm served by this server."""
        return cast(_HTTPServer, self.server).realm

    def log_message(self, format: str, *args: Any) -> None:
        """Log requests at debug level."""
        log.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self) -> None:
        """Route the request, turn errors into JSON, and send the reply."""
        self.extra_headers = {}
        try:
            status, body = self._route(self.command, urlsplit(self.path).path.rstrip("/") or "/")
        except HttpError as err:
            status, body = err.status, err.body
        except Exception:
            log.exception("unexpected error on %s %s", self.command, self.path)
            status, body = 500, {"error": "unknown_error"}
        cookies: tuple[str, ...] = ()
        if isinstance(body, Redirect):
            status, data, cookies = 302, b"", body.cookies
            self.extra_headers["Location"] = body.location
            self.extra_headers["Referrer-Policy"] = "no-referrer"  # the URL carries the code
        elif isinstance(body, Html):
            status, data, cookies = body.status, body.text.encode(), body.cookies
            self.extra_headers.update(
                {
                    "Content-Type": "text/html; charset=utf-8",
                    "Content-Security-Policy": content_security_policy(body.form_targets),
                    "X-Frame-Options": "DENY",
                    "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer",
                }
            )
        else:
            data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None and not isinstance(body, Html | Redirect):
            self.send_header("Content-Type", "application/json")
        for cookie in cookies:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        self._send_cors_origin()
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

    def _send_cors_origin(self) -> None:
        """Keycloak's web origins "+": the web client's redirect-URI origins may read discovery, JWKS and tokens."""
        origin = self.headers.get("Origin")
        if origin and redirect_allowed(origin + "/", self.realm.redirect_uris(DEFAULT_WEB_CLIENT)):
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Vary", "Origin")

    def do_OPTIONS(self) -> None:
        """A CORS preflight (the console's form posts need none; this answers any that does)."""
        self.send_response(204)
        self.send_header("Access-Control-Allow-Methods", "GET, POST")
        self.send_header("Access-Control-Allow-Headers", "Content-Type, Authorization")
        self.send_header("Content-Length", "0")
        self._send_cors_origin()
        self.end_headers()

    def _route(self, method: str, path: str) -> Reply:
        """Match a route (404 unknown path/realm, 405 wrong method), authorize, read the body, run."""
        path_known = False
        for verb, pattern, name in ROUTES:
            match = pattern.fullmatch(path)
            path_known = path_known or match is not None
            if match is None or verb != method:
                continue
            realm, *args = match.groups()
            if realm != self.realm.name:
                raise HttpError(404, {"error": "Realm does not exist"})
            if name.startswith("admin_"):
                self._require_admin()
            self.body = self._read_body() if method != "GET" else b""
            with self.realm.lock:
                return cast(Reply, getattr(self, "_h_" + name)(*args))
        if path_known:
            raise HttpError(405, {"error": "HTTP 405 Method Not Allowed"})
        raise HttpError(404, {"error": "Unable to find matching target resource method"})

    def _read_body(self) -> bytes:
        """Read the request body, capped at MAX_BODY_BYTES (413 beyond)."""
        raw = self.headers.get("Content-Length")
        if raw is None:
            if self.headers.get("Transfer-Encoding"):
                self.close_connection = True
                raise HttpError(411, {"error": "Content-Length required"})
            return b""
        length = _uint(raw)
        if length is None:
            self.close_connection = True
            raise bad_request("Invalid Content-Length")
        if length > MAX_BODY_BYTES:
            if length <= 16 * MAX_BODY_BYTES:  # drain so the client reads the 413 instead of a reset
                self.rfile.read(length)
            self.close_connection = True
            raise HttpError(413, {"error": "Request entity too large"})
        return self.rfile.read(length)

    def _json(self, default: Any = None) -> Any:
        """Parse the JSON body (400 when malformed); `default` when the body is empty."""
        if default is not None and not self.body.strip():
            return default
        try:
            return json.loads(self.body)
        except ValueError as exc:  # includes JSONDecodeError and UnicodeDecodeError
            raise bad_request("Invalid JSON body") from exc

    def _json_object(self, default: Json | None = None) -> Json:
        """Parse a JSON object body; 400 for anything else."""
        value = self._json(default)
        if not isinstance(value, dict):
            raise bad_request("JSON object expected")
        return value

    def _form(self) -> dict[str, str]:
        """Parse a form-encoded body; wrong content type, bad encoding or duplicates are 400."""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != FORM_TYPE:
            raise bad_request(f"Content-Type must be {FORM_TYPE}")
        try:
            pairs = parse_qsl(self.body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=50)
        except ValueError as exc:
            raise bad_request("Malformed form body") from exc
        form: dict[str, str] = {}
        for key, value in pairs:
            if key in form:
                raise bad_request(f"duplicated parameter: {key}")
            form[key] = value
        return form

    def _query(self) -> dict[str, str]:
        """Query parameters (last value wins); 400 when malformed."""
        try:
            return dict(parse_qsl(urlsplit(self.path).query, errors="strict", max_num_fields=50))
        except ValueError as exc:
            raise bad_request("Malformed query string") from exc

    def _require_admin(self) -> None:
        """Admin API guard: a valid bearer access token of an enabled principal with realm role `admin`."""
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HttpError(401, UNAUTHORIZED)
        try:
            claims = self.realm.verify(token.strip(), "Bearer")
        except InvalidToken as exc:
            raise HttpError(401, UNAUTHORIZED) from exc
        principal = self.realm.by_id(claims["sub"])
        if principal is None or not principal.enabled:
            raise HttpError(401, UNAUTHORIZED)
        access = claims.get("realm_access")
        roles = access.get("roles") if isinstance(access, dict) else None
        if not isinstance(roles, list) or "admin" not in roles:
            raise HttpError(403, {"error": "HTTP 403 Forbidden"})

    def _user(self, user_id: str) -> User:
        """A realm user by id (service accounts excluded); 404 if unknown."""
        user = self.realm.users.get(user_id)
        if user is None:
            raise HttpError(404, {"error": "User not found"})
        return user

    def _page(self, params: dict[str, str], name: str, default: int) -> int:
        """A non-negative integer paging parameter; 400 when malformed."""
        value = _uint(params.get(name, str(default)))
        if value is None:
            raise bad_request(f"Invalid {name}")
        return value

    # -- OIDC endpoints --------------------------------------------------------------------

    def _h_discovery(self) -> Reply:
        return 200, self.realm.discovery()

    def _h_certs(self) -> Reply:
        return 200, {"keys": [dict(k.jwk) for k in reversed(self.realm.keys)]}

    def _h_token(self) -> Reply:
        return 200, self.realm.grant(self._form())

    # -- interactive sign-in (infra/identity/flows.py) -------------------------------------

    def _cookie_header(self) -> str | None:
        return self.headers.get("Cookie")

    def _h_auth(self) -> Reply:
        return 200, self.realm.flows.authorize(self._query(), self._cookie_header())

    def _h_authenticate(self) -> Reply:
        return 200, self.realm.flows.authenticate(self._form(), self._cookie_header())

    def _h_logout(self) -> Reply:
        params = self._query() if self.command == "GET" else self._form()
        return 200, self.realm.flows.end_session(params, self._cookie_header())

    def _h_revoke(self) -> Reply:
        form = self._form()
        self.realm.flows.revoke(form, self.realm.authenticate_client(form))
        return 200, None

    def _h_device_authorization(self) -> Reply:
        form = self._form()
        return 200, self.realm.flows.authorize_device(form, self.realm.authenticate_client(form))

    def _h_device_page(self) -> Reply:
        return 200, self.realm.flows.device_page(self._query(), self._cookie_header())

    # -- DEV-ONLY hooks (unauthenticated: this whole server is a local stand-in) ----------

    def _h_dev_rotate(self) -> Reply:
        key = self.realm.rotate(retire_old=self._json_object(default={}).get("retire_old") is True)
        return 200, {"kid": key.kid, "kids": [k.kid for k in self.realm.keys]}

    def _h_dev_sign(self) -> Reply:
        # Body: the claims, or {"claims": {...}, "headers": {...}} to add header fields.
        body = self._json_object()
        if set(body) <= {"claims", "headers"} and isinstance(body.get("claims"), dict):
            headers = body.get("headers")
            return 200, {"token": self.realm.sign(body["claims"], headers if isinstance(headers, dict) else None)}
        return 200, {"token": self.realm.sign(body)}

    def _h_dev_enable(self, username: str, action: str) -> Reply:
        user = self.realm.by_username(username)
        if user is None:
            raise HttpError(404, {"error": "User not found"})
        user.enabled = action == "enable"
        return 204, None

    # -- Admin REST API subset (guarded by _require_admin in _route) -----------------------

    def _h_admin_roles(self) -> Reply:
        return 200, list(self.realm.roles.values())

    def _h_admin_users(self) -> Reply:
        params = self._query()
        first, most = self._page(params, "first", 0), self._page(params, "max", 100)
        return 200, [u.representation() for u in self.realm.search(params)[first : first + most]]

    def _h_admin_count(self) -> Reply:
        return 200, len(self.realm.search(self._query()))

    def _h_admin_get_user(self, user_id: str) -> Reply:
        return 200, self._user(user_id).representation()

    def _h_admin_create_user(self) -> Reply:
        rep = self._json_object()
        username = rep.get("username")
        if not isinstance(username, str) or not username.strip():
            raise HttpError(400, {"errorMessage": "User name is missing"})
        if self.realm.by_username(username.strip()):
            raise HttpError(409, {"errorMessage": "User exists with same username"})
        user = User(id=str(uuid.uuid4()), username=username.strip().lower(), roles=list(self.realm.default_roles))
        user.apply(rep)
        self.realm.users[user.id] = user
        self.extra_headers["Location"] = f"{self.realm.base_url}/admin/realms/{self.realm.name}/users/{user.id}"
        return 201, None

    def _h_admin_update_user(self, user_id: str) -> Reply:
        self._user(user_id).apply(self._json_object())
        return 204, None

    def _h_admin_delete_user(self, user_id: str) -> Reply:
        # As Keycloak: the user is gone (an unknown one answers 404).
        del self.realm.users[self._user(user_id).id]
        return 204, None

    def _h_admin_get_roles(self, user_id: str) -> Reply:
        return 200, [self.realm.roles[r] for r in self._user(user_id).roles if r in self.realm.roles]

    def _role_names(self) -> list[str]:
        """Role names from a JSON array of RoleRepresentations (400/404 when invalid)."""
        refs = self._json()
        if not isinstance(refs, list):
            raise bad_request("JSON array expected")
        return [self.realm.role(ref)["name"] for ref in refs]

    def _h_admin_add_roles(self, user_id: str) -> Reply:
        user, names = self._user(user_id), self._role_names()
        user.roles.extend(n for n in dict.fromkeys(names) if n not in user.roles)
        return 204, None

    def _h_admin_remove_roles(self, user_id: str) -> Reply:
        user, names = self._user(user_id), self._role_names()
        user.roles = [r for r in user.roles if r not in names]
        return 204, None


class IdentityServer:
    """The dev identity server, serving in a background daemon thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8080,
        seed_path: str | Path = DEFAULT_SEED,
        base_url: str | None = None,
        access_token_lifespan: int = 300,
        realm: str | None = None,
        api_client_id: str | None = None,
        web_origins: list[str] | None = None,
        device_code_lifespan: int = DEVICE_CODE_LIFESPAN,
        device_poll_interval: int = DEVICE_POLL_INTERVAL,
    ) -> None:
        self.host = host
        self.port = port
        self._fixed_base_url = base_url
        seed = json.loads(Path(seed_path).read_text(encoding="utf-8"))
        self.realm = Realm(
            seed,
            base_url or self._default_base_url(),
            access_token_lifespan,
            realm,
            api_client_id,
            device_code_lifespan,
            device_poll_interval,
        )
        # The web console's origins (beyond the seed's loopback ones) may redirect back after sign-in.
        origins = web_origins if web_origins is not None else _env_origins()
        self.realm.allow_redirects(DEFAULT_WEB_CLIENT, [f"{o.rstrip('/')}/*" for o in origins])
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _default_base_url(self) -> str:
        """http://host:port, bracketing IPv6 literals."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The server's base URL, no trailing slash."""
        return self.realm.base_url

    @property
    def issuer(self) -> str:
        """The realm issuer, `{base}/realms/{realm}`."""
        return self.realm.issuer

    def start(self) -> Self:
        """Bind and serve in a daemon thread; port 0 picks a free port."""
        if self._httpd is not None:
            raise RuntimeError("identity server already started")
        httpd = _HTTPServer((self.host, self.port), self.realm)
        self.port = int(httpd.server_address[1])
        if self._fixed_base_url is None:
            self.realm.base_url = self._default_base_url()
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="dev-identity-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the socket (idempotent)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        """Start on entering a with-block."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop on leaving a with-block."""
        self.stop()

    def issue_token(self, username: str, **overrides: Any) -> str:
        """Sign an access token for a user in-process; overrides replace claims (None removes one)."""
        with self.realm.lock:
            user = self.realm.by_username(username)
            if user is None:
                raise KeyError(f"unknown user: {username}")
            client_id = user.service_account_of or DEFAULT_WEB_CLIENT
            claims = self.realm.access_claims(user, client_id, None if user.service_account_of else str(uuid.uuid4()))
        claims.update(overrides)
        return self.realm.sign({k: v for k, v in claims.items() if v is not None})


def _env_origins() -> list[str]:
    """Web console origins from MEDIA_VAULT_WEB_ORIGINS (comma-separated)."""
    return [o.strip() for o in os.environ.get(WEB_ORIGINS_ENV, "").split(",") if o.strip()]


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description="Keycloak-compatible dev identity server (DEV ONLY).")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (0 picks a free one)")
    parser.add_argument("--seed", default=str(DEFAULT_SEED), help="realm seed JSON file")
    parser.add_argument("--base-url", default=None, help="public base URL used in the issuer")
    parser.add_argument("--realm", default=None, help="realm name (default: from the seed)")
    parser.add_argument("--access-token-lifespan", type=int, default=300, help="seconds (default 300)")
    parser.add_argument(
        "--web-origin",
        action="append",
        default=None,
        metavar="ORIGIN",
        help=f"web console origin allowed to receive sign-in redirects (repeatable; default ${WEB_ORIGINS_ENV})",
    )
    parser.add_argument("--device-code-lifespan", type=int, default=DEVICE_CODE_LIFESPAN, help="seconds")
    parser.add_argument("--device-poll-interval", type=int, default=DEVICE_POLL_INTERVAL, help="seconds")
    parser.add_argument("--log-level", default="WARNING", help="logging level (DEBUG logs each request)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        server = IdentityServer(
            args.host,
            args.port,
            args.seed,
            args.base_url,
            args.access_token_lifespan,
            args.realm,
            web_origins=args.web_origin,
            device_code_lifespan=args.device_code_lifespan,
            device_poll_interval=args.device_poll_interval,
        ).start()
    except (OSError, ValueError, KeyError) as exc:
        parser.exit(1, f"dev identity server failed to start: {exc!r}\n")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(f"dev identity server (DEV ONLY): realm {server.realm.name!r} at {server.issuer}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
