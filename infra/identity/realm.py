"""The dev identity server's realm: clients, users, roles, signing keys and token issuance (DEV ONLY)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt
from jose.exceptions import JWTError

from infra.identity.flows import DEVICE_CODE_LIFESPAN, DEVICE_GRANT, DEVICE_POLL_INTERVAL, InteractiveFlows
from infra.identity.replies import HttpError, InvalidToken, Json, bad_request, oauth_error

SCOPE = "openid profile email"
BAD_CLIENT = "Invalid client or Invalid client credentials"


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
        device_code_lifespan: int = DEVICE_CODE_LIFESPAN,
        device_poll_interval: int = DEVICE_POLL_INTERVAL,
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
        # Sessions ended by logout, and (session, client) pairs whose refresh tokens were revoked.
        self.ended_sessions: set[str] = set()
        self.revoked_client_sessions: set[tuple[str, str]] = set()
        self.flows = InteractiveFlows(self, device_code_lifespan, device_poll_interval)

    def redirect_uris(self, client_id: str) -> list[str]:
        """The client's redirect-URI patterns (Keycloak syntax, `*` wildcard at the end)."""
        return list(self.clients.get(client_id, {}).get("redirectUris", []))

    def post_logout_redirect_uris(self, client_id: str) -> list[str]:
        """Allowed post-logout redirects; `+` (Keycloak's default) means the redirect URIs."""
        client = self.clients.get(client_id, {})
        configured = client.get("postLogoutRedirectUris", ["+"])
        return [u for p in configured for u in (self.redirect_uris(client_id) if p == "+" else [p])]

    def allow_redirects(self, client_id: str, patterns: list[str]) -> None:
        """Add redirect-URI patterns to a client (e.g. the web console's configured origins)."""
        client = self.clients[client_id]
        client["redirectUris"] = [*client.get("redirectUris", []), *patterns]

    def session_active(self, sid: str, client_id: str | None = None) -> bool:
        """False once the session was logged out, or its refresh tokens for this client were revoked."""
        return sid not in self.ended_sessions and (sid, client_id or "") not in self.revoked_client_sessions

    def end_session(self, sid: str) -> None:
        """Logout: every refresh token of the session stops working."""
        self.ended_sessions.add(sid)

    def revoke_client_session(self, sid: str, client_id: str) -> None:
        """Revocation (RFC 7009): this client's refresh tokens of the session stop working."""
        self.revoked_client_sessions.add((sid, client_id))

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

    def verify(self, token: str, typ: str, verify_exp: bool = True) -> Json:
        """Verify a token of this realm: published kid, RS256, expiry, issuer and `typ`."""
        try:
            header = jwt.get_unverified_header(token)
            key = next((k for k in self.keys if k.kid == header.get("kid")), None)
            if key is None or header.get("alg") != "RS256":
                raise InvalidToken("unknown key or algorithm")
            claims = jwt.decode(
                token,
                key.public_pem,
                algorithms=["RS256"],
                issuer=self.issuer,
                options={"verify_aud": False, "verify_exp": verify_exp, "verify_at_hash": False},
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

    def id_token(
        self, user: User, client_id: str, sid: str, access_token: str, nonce: str | None, auth_time: int | None
    ) -> str:
        """An OIDC ID token for the client (aud = client id), echoing the nonce of the request."""
        claims = self.access_claims(user, client_id, sid)
        for key in ("realm_access", "resource_access", "scope", "jti"):
            claims.pop(key, None)
        digest = hashlib.sha256(access_token.encode()).digest()
        claims.update(typ="ID", aud=client_id, at_hash=_b64u(digest[: len(digest) // 2]), jti=str(uuid.uuid4()))
        extra = {"nonce": nonce, "auth_time": auth_time}
        claims.update({k: v for k, v in extra.items() if v is not None})
        return self.sign(claims)

    def authenticate_client(self, form: dict[str, str]) -> str:
        """Client authentication of the token, revocation and device endpoints (public clients send only an id)."""
        client_id, secret = form.get("client_id", ""), form.get("client_secret")
        client = self.clients.get(client_id)
        if client is None:
            raise oauth_error(401, "invalid_client", BAD_CLIENT)
        if client.get("bearerOnly"):
            raise oauth_error(400, "unauthorized_client", "Bearer-only not allowed")
        expected = str(client.get("secret", "")).encode()
        if not client.get("publicClient") and (secret is None or not hmac.compare_digest(secret.encode(), expected)):
            raise oauth_error(401, "invalid_client", BAD_CLIENT)
        return client_id

    def grant(self, form: dict[str, str]) -> Json:
        """The token endpoint: client authentication, then one of the supported grants."""
        grant_type = form.get("grant_type")
        if not grant_type:
            raise bad_request("Missing form parameter: grant_type")
        client_id = self.authenticate_client(form)
        client = self.clients[client_id]
        if grant_type == "authorization_code":
            if not client.get("standardFlowEnabled"):
                raise oauth_error(400, "unauthorized_client", "Client not allowed to exchange code")
            return self.flows.exchange_code(form, client_id)
        if grant_type == DEVICE_GRANT:
            if not client.get("deviceAuthorizationGrantEnabled"):
                raise oauth_error(400, "unauthorized_client", "Client is not allowed to use the device grant")
            return self.flows.poll_device(form, client_id)
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
        sid = claims.get("sid")
        if not isinstance(sid, str) or not self.session_active(sid, client_id):
            raise oauth_error(400, "invalid_grant", "Session not active")
        user = self.by_id(claims["sub"])
        if user is None or not user.enabled:
            raise oauth_error(400, "invalid_grant", "User not found or disabled")
        return self.token_response(user, client_id, sid)

    def discovery(self) -> Json:
        """OpenID Provider metadata: every endpoint this server implements."""
        oidc = f"{self.issuer}/protocol/openid-connect"
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{oidc}/auth",
            "token_endpoint": f"{oidc}/token",
            "jwks_uri": f"{oidc}/certs",
            "end_session_endpoint": f"{oidc}/logout",
            "revocation_endpoint": f"{oidc}/revoke",
            "device_authorization_endpoint": f"{oidc}/auth/device",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": [
                "authorization_code",
                "password",
                "client_credentials",
                "refresh_token",
                DEVICE_GRANT,
            ],
            "code_challenge_methods_supported": ["S256"],
            "prompt_values_supported": ["none", "login"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_post", "none"],
            "authorization_response_iss_parameter_supported": True,
            "frontchannel_logout_supported": False,
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
