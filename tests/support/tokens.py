"""An in-process token issuer for tests that need no identity server: RSA key, JWKS, Keycloak-shaped claims."""

from __future__ import annotations

import time
import uuid
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt

ISSUER = "http://127.0.0.1:8080/realms/media-vault"
AUDIENCE = "media-vault-api"

USERS: dict[str, dict[str, Any]] = {
    "alice": {"sub": "user-alice", "roles": ["user"]},
    "bob": {"sub": "user-bob", "roles": ["user"]},
    "pat": {"sub": "user-pat", "roles": ["user", "partner"], "partner_org": "acme"},
    "gina": {"sub": "user-gina", "roles": ["user", "partner"], "partner_org": "globex"},
    "ada": {"sub": "user-ada", "roles": ["user", "admin"]},
}


class TokenFactory:
    """Signs access tokens with its own RSA key and publishes that key as a JWKS."""

    def __init__(self, issuer: str = ISSUER, audience: str = AUDIENCE) -> None:
        self.issuer = issuer
        self.audience = audience
        self.kid = uuid.uuid4().hex
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.public_pem = (
            self._key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def jwks(self) -> dict[str, Any]:
        """The public key set, as Keycloak's certs endpoint shows it."""
        public = jwk.construct(self.public_pem, algorithm="RS256").to_dict()
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def claims(self, username: str = "alice", **overrides: Any) -> dict[str, Any]:
        """Keycloak-shaped access-token claims for a known test user."""
        user = USERS[username]
        now = int(time.time())
        claims: dict[str, Any] = {
            "exp": now + 300,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "iss": self.issuer,
            "aud": [self.audience, "account"],
            "sub": user["sub"],
            "typ": "Bearer",
            "azp": "media-vault-web",
            "preferred_username": username,
            "email": f"{username}@example.test",
            "realm_access": {"roles": list(user["roles"])},
        }
        if "partner_org" in user:
            claims["partner_org"] = user["partner_org"]
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        """Sign arbitrary claims with the factory's key under its kid."""
        return jwt.encode(claims, self.private_pem, algorithm="RS256", headers={"kid": self.kid, **(headers or {})})

    def token(self, username: str = "alice", **overrides: Any) -> str:
        """A valid access token for a test user."""
        return self.sign(self.claims(username, **overrides))
