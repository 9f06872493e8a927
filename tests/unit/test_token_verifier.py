"""Token verification: what is accepted, and the forgeries that must not be."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from shared.adapters.identity import JwksCache, TokenVerifier, principal_from_claims
from shared.domain.errors import Unauthenticated
from shared.domain.principal import Role
from tests.support.tokens import AUDIENCE, ISSUER, TokenFactory


@pytest.fixture(scope="module")
def factory() -> TokenFactory:
    return TokenFactory()


def _verifier(factory: TokenFactory) -> TokenVerifier:
    return TokenVerifier(
        ISSUER,
        AUDIENCE,
        JwksCache("unused", fetcher=lambda _url: factory.jwks()),
        allowed_clients=("media-vault-web", "media-vault-cli"),
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_valid_token_yields_keycloak_claims_and_principal(factory: TokenFactory) -> None:
    claims = _verifier(factory).verify(factory.token("pat"))
    principal = principal_from_claims(claims)
    assert principal.role is Role.PARTNER
    assert principal.partner_org == "acme"
    assert principal.username == "pat"


def test_expired_within_leeway_is_accepted(factory: TokenFactory) -> None:
    now = int(time.time())
    token = factory.token(exp=now - 10, iat=now - 310)
    assert _verifier(factory).verify(token)["sub"] == "user-alice"


def _unsigned(factory: TokenFactory) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": factory.kid}).encode())
    return f"{header}.{_b64(json.dumps(factory.claims()).encode())}."


def _tampered(factory: TokenFactory) -> str:
    header, _, signature = factory.token().split(".")
    payload = _b64(json.dumps(factory.claims(realm_access={"roles": ["admin"]})).encode())
    return f"{header}.{payload}.{signature}"


def _hs256_with_public_key(factory: TokenFactory) -> str:
    """The classic confusion: HMAC-sign with the realm's public key as the shared secret."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": factory.kid}).encode())
    payload = _b64(json.dumps(factory.claims()).encode())
    signature = hmac.new(factory.public_pem.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


FORGERIES: dict[str, Any] = {
    "alg-none": _unsigned,
    "hs256-with-public-key": _hs256_with_public_key,
    "other-key-same-kid": lambda f: TokenFactory().sign(f.claims(), headers={"kid": f.kid}),
    "unknown-kid": lambda f: TokenFactory().token(),
    "jku-header": lambda f: f.sign(f.claims(), headers={"jku": "http://evil.test/jwks"}),
    "wrong-issuer": lambda f: f.token(iss="http://127.0.0.1:8080/realms/other"),
    "audience-only-account": lambda f: f.token(aud="account"),
    # A realm-signed token with no audience at all, roles included: python-jose skips `aud` when absent.
    "no-audience-claim": lambda f: f.token(aud=None, realm_access={"roles": ["admin"]}),
    "empty-audience-list": lambda f: f.token(aud=[]),
    "audience-not-a-string": lambda f: f.token(aud={"media-vault-api": True}),
    # Signed for this API but issued to a client it does not serve (a service account, another app).
    "service-account-client": lambda f: f.token(azp="media-vault-admin-cli"),
    "no-authorized-party": lambda f: f.token(azp=None),
    "expired": lambda f: f.token(exp=int(time.time()) - 120),
    "not-yet-valid": lambda f: f.token(nbf=int(time.time()) + 600),
    "missing-exp": lambda f: f.token(exp=None),
    "refresh-token-type": lambda f: f.token(typ="Refresh"),
    "tampered-payload": _tampered,
    "truncated": lambda f: f.token()[:-20],
    "not-a-jwt": lambda f: "hello",
    "oversized": lambda f: f.token(padding="x" * 20_000),
    "empty": lambda f: "",
}


def test_audience_as_a_plain_string_is_accepted(factory: TokenFactory) -> None:
    assert _verifier(factory).verify(factory.token(aud=AUDIENCE))["sub"] == "user-alice"


def test_the_cli_client_is_accepted(factory: TokenFactory) -> None:
    assert _verifier(factory).verify(factory.token(azp="media-vault-cli"))["azp"] == "media-vault-cli"


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_forged_or_invalid_tokens_are_refused(factory: TokenFactory, name: str) -> None:
    with pytest.raises(Unauthenticated):
        _verifier(factory).verify(FORGERIES[name](factory))


def test_unknown_kid_refetches_at_most_once_per_cool_down(factory: TokenFactory) -> None:
    fetches: list[str] = []

    def fetch(url: str) -> dict[str, Any]:
        fetches.append(url)
        return factory.jwks()

    cache = JwksCache("http://jwks.test", fetcher=fetch, min_refetch_seconds=10)
    verifier = TokenVerifier(ISSUER, AUDIENCE, cache)
    verifier.verify(factory.token())
    stranger = TokenFactory()
    for _ in range(20):
        with pytest.raises(Unauthenticated):
            verifier.verify(stranger.token())
    assert len(fetches) == 1


@pytest.mark.parametrize(
    ("roles", "org"),
    [([], None), (["offline_access"], None), (["partner"], None)],
    ids=["no-roles", "no-vault-role", "partner-without-org"],
)
def test_tokens_without_a_usable_role_are_refused(factory: TokenFactory, roles: list[str], org: str | None) -> None:
    claims = factory.claims(realm_access={"roles": roles}, partner_org=org)
    with pytest.raises(Unauthenticated):
        principal_from_claims(claims)


def test_roles_can_come_from_a_configured_client_roles_claim(factory: TokenFactory) -> None:
    claims = factory.claims(
        "alice", realm_access={"roles": ["offline_access"]}, resource_access={"media-vault-api": {"roles": ["admin"]}}
    )
    assert principal_from_claims(claims, "resource_access.media-vault-api.roles").role is Role.ADMIN
    with pytest.raises(Unauthenticated):
        principal_from_claims(claims)
