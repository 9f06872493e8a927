"""Keycloak access-token verification against the realm's JWKS (RS256 only)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from jose import jwk, jwt
from jose.backends.base import Key
from jose.exceptions import ExpiredSignatureError, JOSEError, JWTClaimsError, JWTError

from shared.domain.errors import Unauthenticated
from shared.domain.principal import Principal, Role, role_from_claims
from shared.observability import logger

ALGORITHM = "RS256"
MAX_TOKEN_BYTES = 16 * 1024
# Header parameters that would let a token name its own key: never honoured.
_FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})

JwksFetcher = Callable[[str], Mapping[str, Any]]


def fetch_jwks(url: str) -> Mapping[str, Any]:
    """GET the realm's JWKS document."""
    with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - URL comes from settings
        document: Mapping[str, Any] = json.loads(response.read(1024 * 1024))
    return document


class JwksCache:
    """Per-container key cache; an unknown kid refetches at most once per `min_refetch_seconds`."""

    def __init__(
        self,
        url: str,
        fetcher: JwksFetcher = fetch_jwks,
        min_refetch_seconds: float = 10.0,
        max_age_seconds: float = 900.0,
    ) -> None:
        self._url = url
        self._fetcher = fetcher
        self._min_refetch = min_refetch_seconds
        self._max_age = max_age_seconds
        self._keys: dict[str, Key] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def key(self, kid: str) -> Key | None:
        """The RSA signing key for kid, refreshing the set when kid is new and the cool-down allows."""
        age = time.monotonic() - self._fetched_at
        key = self._keys.get(kid)
        if key is not None and age < self._max_age:
            return key
        with self._lock:
            age = time.monotonic() - self._fetched_at
            # Old sets expire so keys the realm removed stop verifying; new kids refetch, rate-limited.
            if age >= self._max_age or (kid not in self._keys and age >= self._min_refetch):
                self._refresh()
            return self._keys.get(kid)

    def _refresh(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            document = self._fetcher(self._url)
        except (OSError, ValueError):
            logger.warning("JWKS fetch failed; keeping the cached keys", extra={"url": self._url})
            return  # the next miss after the cool-down retries
        keys: dict[str, Key] = {}
        for entry in document.get("keys", []):
            if not isinstance(entry, dict):
                continue
            if entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
                continue
            if entry.get("alg", ALGORITHM) != ALGORITHM or not isinstance(entry.get("kid"), str):
                continue
            try:
                # Built once per fetch, as an RSA key object: verification never re-parses the JWK, and
                # a key object cannot be mistaken for an HMAC secret.
                keys[entry["kid"]] = jwk.construct({k: entry[k] for k in ("kty", "n", "e") if k in entry}, ALGORITHM)
            except JOSEError:
                logger.warning("unusable JWKS entry skipped", extra={"kid": entry["kid"]})
        self._keys = keys


class TokenVerifier:
    """Checks signature, algorithm, issuer, audience, expiry and type of a Keycloak access token."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        keys: JwksCache,
        leeway_seconds: int = 30,
        allowed_clients: tuple[str, ...] = (),
    ) -> None:
        self._issuer = issuer
        self._audience = audience
        self._keys = keys
        self._leeway = leeway_seconds
        self._allowed_clients = frozenset(allowed_clients)

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; Unauthenticated for anything that is not a valid access token."""
        if not token or len(token) > MAX_TOKEN_BYTES:
            raise Unauthenticated("missing or oversized token")
        try:
            header = jwt.get_unverified_header(token)
        except JWTError as exc:
            raise Unauthenticated("malformed token") from exc
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated("token algorithm not accepted")
        if _FORBIDDEN_HEADERS & set(header):
            raise Unauthenticated("token header names its own key")
        kid = header.get("kid")
        key = self._keys.key(kid) if isinstance(kid, str) else None
        if key is None:
            raise Unauthenticated("token signed by an unknown key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"leeway": self._leeway, "require_exp": True, "require_iat": True, "require_sub": True},
            )
        except ExpiredSignatureError as exc:
            raise Unauthenticated("token expired") from exc
        except JWTClaimsError as exc:
            raise Unauthenticated(f"token claims rejected: {exc}") from exc
        except JWTError as exc:
            raise Unauthenticated("token signature invalid") from exc
        if claims.get("typ", "Bearer") != "Bearer":
            raise Unauthenticated("not an access token")
        # python-jose checks `aud` only when the token has one: a realm token minted for another
        # client without any audience would otherwise pass. This API's id must be named in it.
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
        if self._audience not in audiences:
            raise Unauthenticated("token is not meant for this API")
        # The client the token was issued to: a service account or another app of the realm may not call us.
        if self._allowed_clients and claims.get("azp") not in self._allowed_clients:
            raise Unauthenticated("token was issued to a client this API does not accept")
        return claims


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted claim path (`realm_access.roles`, `resource_access.media-vault-api.roles`), or None."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def principal_from_claims(claims: Mapping[str, Any], roles_claim: str = "realm_access.roles") -> Principal:
    """Map Keycloak claims to a principal; tokens with no vault role are refused."""
    roles = claim_at(claims, roles_claim)
    role = role_from_claims([r for r in roles if isinstance(r, str)] if isinstance(roles, list) else [])
    if role is None:
        raise Unauthenticated("token carries no Media Vault role")
    raw_org = claims.get("partner_org")
    partner_org = raw_org if isinstance(raw_org, str) else ""
    if role is Role.PARTNER and not partner_org:
        raise Unauthenticated("partner token without a partner organisation")
    return Principal(
        sub=str(claims["sub"]),
        username=str(claims.get("preferred_username", "")),
        role=role,
        email=str(claims.get("email", "") or ""),
        partner_org=partner_org,
    )
