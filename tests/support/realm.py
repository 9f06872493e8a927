"""Realm users for tests that need more people than the seed: created through Keycloak's Admin REST API."""

from __future__ import annotations

import requests

# The dev identity server's service account (infra/identity/users.json; dev only), as the API itself uses it.
ADMIN_CLIENT_ID = "media-vault-admin-cli"
ADMIN_CLIENT_SECRET = "dev-admin-secret"  # published, dev only


def service_account_token(issuer: str) -> str:
    """An access token of the realm's admin service account (client credentials grant)."""
    response = requests.post(
        f"{issuer}/protocol/openid-connect/token",
        data={"grant_type": "client_credentials", "client_id": ADMIN_CLIENT_ID, "client_secret": ADMIN_CLIENT_SECRET},
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def create_realm_user(issuer: str, username: str, password: str | None = None, *, admin_token: str = "") -> None:
    """Create an enabled user with a password (default: the username) and the realm's default roles; an existing
    username is left as it is."""
    base, _, realm = issuer.rpartition("/realms/")
    response = requests.post(
        f"{base}/admin/realms/{realm}/users",
        json={
            "username": username,
            "email": f"{username}@example.test",
            "enabled": True,
            "emailVerified": True,
            "credentials": [{"type": "password", "value": password or username, "temporary": False}],
        },
        headers={"Authorization": f"Bearer {admin_token or service_account_token(issuer)}"},
        timeout=10,
    )
    if response.status_code != 409:  # 409: made by an earlier test of this session
        assert response.status_code == 201, f"creating {username}: {response.status_code} {response.text}"
