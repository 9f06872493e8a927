"""Crafted tokens against the running local API: every forgery gets 401 (never 500); roles and rotation hold."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk, jwt

from infra.local.stack import DevStack
from tests.support.http import password_token

PROTECTED = "/me"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Realm:
    """What an attacker can see of the realm (JWKS, a genuine token) plus the dev server's signing hook."""

    def __init__(self, stack: DevStack) -> None:
        self.stack = stack
        self.issuer = stack.issuer
        self.base = stack.issuer.rsplit("/realms/", 1)[0]
        self.genuine = password_token(stack.issuer, "alice")
        self.claims: dict[str, Any] = jwt.get_unverified_claims(self.genuine)
        self.kid: str = jwt.get_unverified_header(self.genuine)["kid"]
        keys = requests.get(f"{self.issuer}/protocol/openid-connect/certs", timeout=5).json()["keys"]
        self.public_jwk = next(k for k in keys if k["kid"] == self.kid)
        public = jwk.construct(self.public_jwk, algorithm="RS256")
        self.public_pem: bytes = public.to_pem()
        self.public_der = serialization.load_pem_public_key(self.public_pem).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.attacker_pem = self.attacker.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def realm_signed(self, headers: dict[str, Any] | None = None, **overrides: Any) -> str:
        """A token signed by the realm's real key (the dev hook), with chosen claims/headers."""
        claims = {**self.claims, "iat": int(time.time()), "exp": int(time.time()) + 300, **overrides}
        claims = {k: v for k, v in claims.items() if v is not None}
        body = {"claims": claims, "headers": headers or {}}
        response = requests.post(f"{self.base}/dev/realms/media-vault/sign", json=body, timeout=5)
        response.raise_for_status()
        return str(response.json()["token"])

    def attacker_signed(self, headers: dict[str, Any] | None = None, **overrides: Any) -> str:
        claims = {**self.claims, "exp": int(time.time()) + 300, **overrides}
        return str(
            jwt.encode(claims, self.attacker_pem.decode(), algorithm="RS256", headers=headers or {"kid": self.kid})
        )

    def hmac_signed(self, secret: bytes, alg: str = "HS256") -> str:
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
        header = b64(json.dumps({"alg": alg, "typ": "JWT", "kid": self.kid}).encode())
        payload = b64(json.dumps({**self.claims, "realm_access": {"roles": ["admin"]}}).encode())
        signature = hmac.new(secret, f"{header}.{payload}".encode(), digest).digest()
        return f"{header}.{payload}.{b64(signature)}"

    def unsigned(self, alg: str = "none", signature: str = "") -> str:
        header = b64(json.dumps({"alg": alg, "typ": "JWT", "kid": self.kid}).encode())
        return f"{header}.{b64(json.dumps(self.claims).encode())}.{signature}"

    def attacker_jwk(self) -> dict[str, Any]:
        public = self.attacker.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {**jwk.construct(public, algorithm="RS256").to_dict(), "kid": "attacker"}


def tampered(realm: Realm) -> str:
    header, _, signature = realm.genuine.split(".")
    payload = b64(json.dumps({**realm.claims, "realm_access": {"roles": ["admin"]}}).encode())
    return f"{header}.{payload}.{signature}"


def es256(realm: Realm) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return str(jwt.encode(realm.claims, pem.decode(), algorithm="ES256", headers={"kid": realm.kid}))


def refresh_token(realm: Realm) -> str:
    response = requests.post(
        f"{realm.issuer}/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": "media-vault-web", "username": "alice", "password": "alice"},
        timeout=5,
    )
    return str(response.json()["refresh_token"])


NOW = int(time.time())
ATTACKS: dict[str, Callable[[Realm], str]] = {
    "alg-none": lambda r: r.unsigned("none"),
    "alg-none-with-signature": lambda r: r.unsigned("none", b64(b"sig")),
    "alg-None-capitalised": lambda r: r.unsigned("None"),
    "hs256-public-key-pem": lambda r: r.hmac_signed(r.public_pem),
    "hs256-public-key-der": lambda r: r.hmac_signed(r.public_der),
    "hs256-public-key-jwk": lambda r: r.hmac_signed(json.dumps(r.public_jwk).encode()),
    "hs512-public-key-pem": lambda r: r.hmac_signed(r.public_pem, "HS512"),
    "es256-under-realm-kid": es256,
    "rs256-other-key-realm-kid": lambda r: r.attacker_signed(),
    "unknown-kid": lambda r: r.attacker_signed(headers={"kid": "no-such-kid"}),
    "no-kid": lambda r: r.attacker_signed(headers={}),
    "jku-injected": lambda r: r.attacker_signed(headers={"kid": "attacker", "jku": "http://127.0.0.1:1/jwks"}),
    "x5u-injected": lambda r: r.attacker_signed(headers={"kid": "attacker", "x5u": "http://127.0.0.1:1/cert"}),
    "jwk-embedded": lambda r: r.attacker_signed(headers={"kid": "attacker", "jwk": r.attacker_jwk()}),
    "x5c-embedded": lambda r: r.attacker_signed(headers={"kid": "attacker", "x5c": ["MIIB"]}),
    "realm-signed-with-jku": lambda r: r.realm_signed(headers={"jku": "http://127.0.0.1:1/jwks"}),
    "wrong-issuer": lambda r: r.realm_signed(iss="http://evil.test/realms/media-vault"),
    "another-realm": lambda r: r.realm_signed(iss=r.issuer.replace("media-vault", "master")),
    "aud-only-account": lambda r: r.realm_signed(aud="account"),
    "token-for-another-client": lambda r: r.realm_signed(aud=["other-app"], azp="other-app"),
    "no-aud-claim-admin-roles": lambda r: r.realm_signed(aud=None, realm_access={"roles": ["admin"]}),
    "service-account-client": lambda r: r.realm_signed(azp="media-vault-admin-cli"),
    "missing-exp": lambda r: r.realm_signed(exp=None),
    "expired-beyond-leeway": lambda r: r.realm_signed(exp=int(time.time()) - 120, iat=int(time.time()) - 420),
    "nbf-in-future": lambda r: r.realm_signed(nbf=int(time.time()) + 600),
    "refresh-token-as-bearer": refresh_token,
    "missing-sub": lambda r: r.realm_signed(sub=None),
    "no-vault-role": lambda r: r.realm_signed(realm_access={"roles": ["offline_access"]}),
    "partner-without-org": lambda r: r.realm_signed(realm_access={"roles": ["partner"]}, partner_org=None),
    "payload-tampered": tampered,
    "truncated": lambda r: r.genuine[: len(r.genuine) // 2],
    "signature-stripped": lambda r: r.genuine.rsplit(".", 1)[0] + ".",
    "not-a-jwt": lambda r: "this-is-not-a-token",
    "garbage-segments": lambda r: "a.b.c",
    "oversized": lambda r: r.realm_signed(padding="x" * 20_000),
}


@pytest.fixture(scope="module")
def realm(stack: DevStack) -> Realm:
    return Realm(stack)


def get(stack: DevStack, path: str, authorization: str | None) -> requests.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return requests.get(f"{stack.api_url}{path}", headers=headers, timeout=10)


def test_the_suite_is_large_enough() -> None:
    assert len(ATTACKS) >= 25


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_crafted_token_is_refused_with_401(stack: DevStack, realm: Realm, attack: str) -> None:
    response = get(stack, PROTECTED, f"Bearer {ATTACKS[attack](realm)}")
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic YWxpY2U6YWxpY2U=", "Token abc"])
def test_malformed_authorization_headers_get_401(stack: DevStack, header: str) -> None:
    assert get(stack, PROTECTED, header).status_code == 401


def test_genuine_token_and_expired_within_leeway_are_accepted(stack: DevStack, realm: Realm) -> None:
    assert get(stack, PROTECTED, f"Bearer {realm.genuine}").status_code == 200
    within = realm.realm_signed(exp=int(time.time()) - 10, iat=int(time.time()) - 310)
    assert get(stack, PROTECTED, f"Bearer {within}").status_code == 200


def test_user_token_on_admin_route_gets_403(stack: DevStack, realm: Realm) -> None:
    response = requests.put(
        f"{stack.api_url}/admin/users/anyone/status",
        json={"status": "suspended"},
        headers={"Authorization": f"Bearer {realm.genuine}"},
        timeout=10,
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_suspended_user_gets_403_with_a_valid_token(stack: DevStack) -> None:
    gina = password_token(stack.issuer, "gina")
    me = get(stack, "/me", f"Bearer {gina}").json()
    admin = {"Authorization": f"Bearer {password_token(stack.issuer, 'ada')}"}
    url = f"{stack.api_url}/admin/users/{me['user_id']}/status"
    assert requests.put(url, json={"status": "suspended"}, headers=admin, timeout=10).status_code == 200
    try:
        response = get(stack, "/me", f"Bearer {gina}")
        assert response.status_code == 403
        assert "suspended" in response.json()["message"]
    finally:
        requests.put(url, json={"status": "active"}, headers=admin, timeout=10)


def _eventually(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return False


def test_key_rotation_new_tokens_pass_and_removed_key_tokens_fail(stack: DevStack) -> None:
    base = stack.issuer.rsplit("/realms/", 1)[0]
    old = password_token(stack.issuer, "bob")
    assert get(stack, "/me", f"Bearer {old}").status_code == 200
    rotated = requests.post(f"{base}/dev/realms/media-vault/keys/rotate", json={}, timeout=5).json()
    new = password_token(stack.issuer, "bob")
    assert jwt.get_unverified_header(new)["kid"] == rotated["kid"]
    # The API learns the new kid on first sight (after its refetch cool-down), without a restart.
    assert _eventually(lambda: get(stack, "/me", f"Bearer {new}").status_code == 200)
    assert get(stack, "/me", f"Bearer {old}").status_code == 200  # old key still published
    requests.post(f"{base}/dev/realms/media-vault/keys/rotate", json={"retire_old": True}, timeout=5)
    newest = password_token(stack.issuer, "bob")
    assert _eventually(lambda: get(stack, "/me", f"Bearer {newest}").status_code == 200)
    assert get(stack, "/me", f"Bearer {old}").status_code == 401
    assert get(stack, "/me", f"Bearer {new}").status_code == 401
