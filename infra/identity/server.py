"""Keycloak-compatible dev identity server: the local stand-in for Keycloak (DEV ONLY, never deploy)."""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import logging
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self, cast
from urllib.parse import parse_qsl, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt
from jose.exceptions import JWTError

log = logging.getLogger(__name__)

Json = dict[str, Any]
Reply = tuple[int, Any]

DEFAULT_SEED = Path(__file__).with_name("users.json")
DEFAULT_WEB_CLIENT = "media-vault-web"
MAX_BODY_BYTES = 64 * 1024
SCOPE = "openid profile email"
FORM_TYPE = "application/x-www-form-urlencoded"
BAD_CLIENT = "Invalid client or Invalid client credentials"
UNAUTHORIZED: Json = {"error": "HTTP 401 Unauthorized"}


class HttpError(Exception):
    """An error answered as a JSON body with an HTTP status."""

    def __init__(self, status: int, body: Json) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


class InvalidToken(Exception):
    """A token failed its key, signature, expiry, issuer or type check."""


def oauth_error(status: int, error: str, description: str) -> HttpError:
    """Build a Keycloak-shaped OAuth error."""
    return HttpError(status, {"error": error, "error_description": description})


def bad_request(description: str) -> HttpError:
    """Build a 400 invalid_request error."""
    return oauth_error(400, "invalid_request", description)


def _uint(raw: str) -> int | None:
    """Parse a non-negative ASCII decimal integer; None when malformed."""
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() else None


def _b64u(raw: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    """An RSA key pair with its kid (RFC 7638 thumbprint) and public JWK."""

    kid: str
    private_pem: str
    public_pem: str
    jwk: Json

    @classmethod
    def generate(cls) -> SigningKey:
        """Generate a fresh 2048-bit RSA signing key."""
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = private.public_key().public_numbers()
        n, e = (_b64u(v.to_bytes((v.bit_length() + 7) // 8, "big")) for v in (numbers.n, numbers.e))
        thumbprint = json.dumps({"e": e, "kty": "RSA", "n": n}, separators=(",", ":"))
        kid = _b64u(hashlib.sha256(thumbprint.encode()).digest())
        private_pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public_pem = (
            private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        return cls(
            kid, private_pem, public_pem, {"kid": kid, "kty": "RSA", "alg": "RS256", "use": "sig", "n": n, "e": e}
        )


def _typed(rep: Json, key: str, current: Any, kind: type, optional: bool = False) -> Any:
    """Read a field of a representation keeping `current` when absent; 400 on a wrong type."""
    value = rep.get(key, current)
    if not isinstance(value, kind) and not (optional and value is None):
        raise HttpError(400, {"errorMessage": f"{key} must be a {kind.__name__}"})
    return value


def _attributes(value: Any) -> dict[str, list[str]]:
    """Normalise Keycloak user attributes to {name: [values]}; 400 on a wrong shape."""
    if not isinstance(value, dict):
        raise HttpError(400, {"errorMessage": "attributes must be an object"})
    result: dict[str, list[str]] = {}
    for name, values in value.items():
        values = [values] if isinstance(values, str) else values
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise HttpError(400, {"errorMessage": f"attribute {name} must be a list of strings"})
        result[str(name)] = list(values)
    return result


@dataclass
class User:
    """A realm user, or a client's service-account user."""

    id: str
    username: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    enabled: bool = True
    email_verified: bool = False
    created: int = field(default_factory=lambda: int(time.time() * 1000))
    attributes: dict[str, list[str]] = field(default_factory=dict)
    roles: list[str] = field(default_factory=list)
    password: str | None = None
    service_account_of: str | None = None

    def apply(self, rep: Json) -> None:
        """Update editable fields from a UserRepresentation, all-or-nothing (id/username ignored)."""
        email = _typed(rep, "email", self.email, str, optional=True)
        first = _typed(rep, "firstName", self.first_name, str, optional=True)
        last = _typed(rep, "lastName", self.last_name, str, optional=True)
        enabled = _typed(rep, "enabled", self.enabled, bool)
        verified = _typed(rep, "emailVerified", self.email_verified, bool)
        attributes = _attributes(rep["attributes"] or {}) if "attributes" in rep else self.attributes
        password = self.password
        for credential in _typed(rep, "credentials", [], list, optional=True) or []:
            if not isinstance(credential, dict) or credential.get("type", "password") != "password":
                raise HttpError(400, {"errorMessage": "only password credentials are supported"})
            password = _typed(credential, "value", None, str)
        self.email, self.first_name, self.last_name = email, first, last
        self.enabled, self.email_verified, self.attributes, self.password = enabled, verified, attributes, password

    def representation(self) -> Json:
        """Keycloak UserRepresentation (no credentials, no roles)."""
        rep: Json = {
            "id": self.id,
            "username": self.username,
            "enabled": self.enabled,
            "emailVerified": self.email_verified,
            "createdTimestamp": self.created,
            "attributes": {k: list(v) for k, v in self.attributes.items()},
        }
        for key, value in (("email", self.email), ("firstName", self.first_name), ("lastName", self.last_name)):
            if value is not None:
                rep[key] = value
        return rep


def _matcher(term: str) -> Callable[[str], bool]:
    """Keycloak `search` semantics: prefix by default, `*x*` infix, `"x"` exact."""
    term = term.strip().lower()
    if len(term) >= 2 and term[0] == term[-1] == '"':
        return lambda v: v == term[1:-1]
    if term.startswith("*"):
        return lambda v: term.strip("*") in v
    return lambda v: v.startswith(term.rstrip("*"))


class Realm:
    """In-memory realm state (clients, users, roles, signing keys) seeded from a JSON document."""

    def __init__(
        self,
        seed: Json,
        base_url: str,
        access_token_lifespan: int = 300,
        name: str | None = None,
        api_client_id: str | None = None,
    ) -> None:
        self.name: str = name or seed["realm"]
        self.base_url = base_url.rstrip("/")
        self.access_token_lifespan = access_token_lifespan
        self.refresh_token_lifespan = int(seed.get("refreshTokenLifespan", 1800))
        self.api_client_id: str = api_client_id or seed.get("apiClientId", "media-vault-api")
        self.lock = threading.RLock()
        self.roles: dict[str, Json] = {
            r["name"]: {
                "id": r["id"],
                "name": r["name"],
                "description": r.get("description", ""),
                "composite": False,
                "clientRole": False,
                "containerId": self.name,
            }
            for r in seed["roles"]
        }
        self.default_roles: list[str] = list(seed.get("defaultRoles", []))
        self.clients: dict[str, Json] = {c["clientId"]: c for c in seed["clients"]}
        self.users: dict[str, User] = {}
        for rep in seed["users"]:
            user = User(id=rep["id"], username=rep["username"].lower(), roles=list(rep.get("realmRoles", [])))
            user.apply(rep)
            self.users[user.id] = user
        self.service_accounts: dict[str, User] = {
            cid: User(
                id=c["serviceAccount"]["id"],
                username=f"service-account-{cid}",
                roles=list(c["serviceAccount"].get("realmRoles", [])),
                service_account_of=cid,
            )
            for cid, c in self.clients.items()
            if c.get("serviceAccountsEnabled")
        }
        self.keys: list[SigningKey] = [SigningKey.generate()]

    @property
    def issuer(self) -> str:
        """The realm issuer URL, `{base}/realms/{realm}`."""
        return f"{self.base_url}/realms/{self.name}"

    def by_username(self, username: str) -> User | None:
        """Find a user or service-account user by username, case-insensitively."""
        wanted = username.lower()
        return next((u for u in [*self.users.values(), *self.service_accounts.values()] if u.username == wanted), None)

    def by_id(self, user_id: str) -> User | None:
        """Find a user or service-account user by id."""
        found = self.users.get(user_id)
        return found or next((u for u in self.service_accounts.values() if u.id == user_id), None)

    def search(self, params: dict[str, str]) -> list[User]:
        """Filter users like the admin `GET users` (search, username, email, firstName, lastName, exact, enabled, q)."""
        exact = params.get("exact", "false").lower() == "true"
        found = []
        for user in self.users.values():
            values = {
                k: (v or "").lower()
                for k, v in (
                    ("username", user.username),
                    ("email", user.email),
                    ("firstName", user.first_name),
                    ("lastName", user.last_name),
                )
            }
            if params.get("search") and not any(map(_matcher(params["search"]), values.values())):
                continue
            wanted = {k: params[k].lower() for k in values if params.get(k)}
            if any((values[k] != w) if exact else (w not in values[k]) for k, w in wanted.items()):
                continue
            if "enabled" in params and user.enabled != (params["enabled"].lower() == "true"):
                continue
            pairs = [p.partition(":") for p in params.get("q", "").split()]
            if all(v in user.attributes.get(k, []) for k, _, v in pairs):
                found.append(user)
        return sorted(found, key=lambda u: u.username)

    def role(self, ref: Any) -> Json:
        """Resolve a RoleRepresentation reference by name or id; 404 if unknown."""
        if isinstance(ref, dict):
            for role in self.roles.values():
                if ref.get("name") == role["name"] or (ref.get("id") and ref.get("id") == role["id"]):
                    return role
        raise HttpError(404, {"error": "Role not found"})

    def sign(self, claims: Json, headers: Json | None = None) -> str:
        """Sign claims with the current (newest) key as an RS256 JWT (extra header fields for attack tests)."""
        key = self.keys[-1]
        return str(jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid, **(headers or {})}))

    def rotate(self, retire_old: bool = False) -> SigningKey:
        """Make a new key the signing key; optionally drop the old ones from the JWKS."""
        key = SigningKey.generate()
        with self.lock:
            self.keys = [key] if retire_old else [*self.keys, key]
        return key

    def verify(self, token: str, typ: str) -> Json:
        """Verify a token of this realm: published kid, RS256, expiry, issuer and `typ`."""
        try:
            header = jwt.get_unverified_header(token)
            key = next((k for k in self.keys if k.kid == header.get("kid")), None)
            if key is None or header.get("alg") != "RS256":
                raise InvalidToken("unknown key or algorithm")
            claims = jwt.decode(
                token, key.public_pem, algorithms=["RS256"], issuer=self.issuer, options={"verify_aud": False}
            )
        except (JWTError, ValueError, TypeError, AttributeError) as exc:
            raise InvalidToken(str(exc)) from exc
        if claims.get("typ") != typ or not isinstance(claims.get("sub"), str):
            raise InvalidToken("wrong token type or subject")
        return cast(Json, claims)

    def access_claims(self, user: User, client_id: str, sid: str | None) -> Json:
        """Keycloak-shaped access-token claims for a user and client."""
        now = int(time.time())
        claims: Json = {
            "exp": now + self.access_token_lifespan,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "iss": self.issuer,
            "aud": [self.api_client_id, "account"],
            "sub": user.id,
            "typ": "Bearer",
            "azp": client_id,
            "acr": "1",
            "realm_access": {"roles": list(user.roles)},
            "resource_access": {"account": {"roles": ["manage-account", "view-profile"]}},
            "scope": SCOPE,
            "email_verified": user.email_verified,
            "preferred_username": user.username,
        }
        optional = {
            "session_state": sid,
            "sid": sid,
            "client_id": user.service_account_of,
            "email": user.email,
            "name": " ".join(n for n in (user.first_name, user.last_name) if n),
            "given_name": user.first_name,
            "family_name": user.last_name,
            "partner_org": next(iter(user.attributes.get("partner_org", [])), None),
        }
        claims.update({k: v for k, v in optional.items() if v})
        return claims

    def token_response(self, user: User, client_id: str, sid: str | None) -> Json:
        """Token endpoint body; a refresh token only for user sessions (not client_credentials)."""
        body: Json = {
            "access_token": self.sign(self.access_claims(user, client_id, sid)),
            "expires_in": self.access_token_lifespan,
            "refresh_expires_in": 0,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "scope": SCOPE,
        }
        if sid:
            now = int(time.time())
            refresh = {
                "exp": now + self.refresh_token_lifespan,
                "iat": now,
                "jti": str(uuid.uuid4()),
                "iss": self.issuer,
                "aud": self.issuer,
                "sub": user.id,
                "typ": "Refresh",
                "azp": client_id,
                "session_state": sid,
                "sid": sid,
                "scope": SCOPE,
            }
            body.update(
                refresh_token=self.sign(refresh), refresh_expires_in=self.refresh_token_lifespan, session_state=sid
            )
        return body

    def grant(self, form: dict[str, str]) -> Json:
        """The token endpoint: client authentication, then password/client_credentials/refresh_token."""
        grant_type = form.get("grant_type")
        if not grant_type:
            raise bad_request("Missing form parameter: grant_type")
        client_id, secret = form.get("client_id", ""), form.get("client_secret")
        client = self.clients.get(client_id)
        if client is None:
            raise oauth_error(401, "invalid_client", BAD_CLIENT)
        if client.get("bearerOnly"):
            raise oauth_error(400, "unauthorized_client", "Bearer-only not allowed")
        expected = str(client.get("secret", "")).encode()
        if not client.get("publicClient") and (secret is None or not hmac.compare_digest(secret.encode(), expected)):
            raise oauth_error(401, "invalid_client", BAD_CLIENT)
        if grant_type == "password":
            if not client.get("directAccessGrantsEnabled"):
                raise oauth_error(400, "unauthorized_client", "Client not allowed for direct access grants")
            user = self.by_username(form.get("username", ""))
            password = form.get("password", "").encode()
            if user is None or user.password is None or not hmac.compare_digest(password, user.password.encode()):
                raise oauth_error(401, "invalid_grant", "Invalid user credentials")
            if not user.enabled:
                raise oauth_error(400, "invalid_grant", "Account disabled")
            return self.token_response(user, client_id, str(uuid.uuid4()))
        if grant_type == "client_credentials":
            account = self.service_accounts.get(client_id)
            if account is None or client.get("publicClient"):
                raise oauth_error(400, "unauthorized_client", "Client not enabled to retrieve service account")
            return self.token_response(account, client_id, None)
        if grant_type == "refresh_token":
            return self._refresh(form.get("refresh_token"), client_id)
        raise oauth_error(400, "unsupported_grant_type", "Unsupported grant_type")

    def _refresh(self, token: str | None, client_id: str) -> Json:
        """Validate a refresh token and issue fresh tokens from the user's current state."""
        if not token:
            raise bad_request("Missing parameter: refresh_token")
        try:
            claims = self.verify(token, "Refresh")
        except InvalidToken as exc:
            raise oauth_error(400, "invalid_grant", "Invalid refresh token") from exc
        if claims.get("azp") != client_id:
            raise oauth_error(
                400, "invalid_grant", "Invalid refresh token. Token client and authorized client don't match"
            )
        user = self.by_id(claims["sub"])
        if user is None or not user.enabled:
            raise oauth_error(400, "invalid_grant", "User not found or disabled")
        return self.token_response(user, client_id, str(claims.get("sid") or uuid.uuid4()))

    def discovery(self) -> Json:
        """OpenID Provider metadata (authorization_endpoint is advertised but not implemented)."""
        oidc = f"{self.issuer}/protocol/openid-connect"
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{oidc}/auth",
            "token_endpoint": f"{oidc}/token",
            "jwks_uri": f"{oidc}/certs",
            "response_types_supported": ["code"],
            "grant_types_supported": ["password", "client_credentials", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "scopes_supported": ["openid", "profile", "email"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "preferred_username",
                "email",
                "email_verified",
                "name",
                "given_name",
                "family_name",
                "partner_org",
            ],
        }


_R = r"/realms/([^/]+)"
_U = r"/admin/realms/([^/]+)/users"
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (verb, re.compile(pattern), name)
    for verb, pattern, name in [
        ("GET", _R + r"/\.well-known/openid-configuration", "discovery"),
        ("GET", _R + "/protocol/openid-connect/certs", "certs"),
        ("POST", _R + "/protocol/openid-connect/token", "token"),
        ("POST", "/dev" + _R + "/keys/rotate", "dev_rotate"),
        ("POST", "/dev" + _R + "/sign", "dev_sign"),
        ("POST", "/dev" + _R + "/users/([^/]+)/(disable|enable)", "dev_enable"),
        ("GET", "/admin" + _R + "/roles", "admin_roles"),
        ("GET", _U, "admin_users"),
        ("POST", _U, "admin_create_user"),
        ("GET", _U + "/count", "admin_count"),
        ("GET", _U + "/([^/]+)", "admin_get_user"),
        ("PUT", _U + "/([^/]+)", "admin_update_user"),
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
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

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
    ) -> None:
        self.host = host
        self.port = port
        self._fixed_base_url = base_url
        seed = json.loads(Path(seed_path).read_text(encoding="utf-8"))
        self.realm = Realm(seed, base_url or self._default_base_url(), access_token_lifespan, realm, api_client_id)
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


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description="Keycloak-compatible dev identity server (DEV ONLY).")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (0 picks a free one)")
    parser.add_argument("--seed", default=str(DEFAULT_SEED), help="realm seed JSON file")
    parser.add_argument("--base-url", default=None, help="public base URL used in the issuer")
    parser.add_argument("--realm", default=None, help="realm name (default: from the seed)")
    parser.add_argument("--access-token-lifespan", type=int, default=300, help="seconds (default 300)")
    parser.add_argument("--log-level", default="WARNING", help="logging level (DEBUG logs each request)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        server = IdentityServer(
            args.host, args.port, args.seed, args.base_url, args.access_token_lifespan, args.realm
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
