"""Erasure's last step on the realm: the admin adapter deletes a realm user (the dev identity server speaks it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from infra.identity.server import IdentityServer
from shared.adapters.keycloak_admin import KeycloakAdmin
from tests.support.http import password_token


@pytest.fixture
def realm() -> Iterator[IdentityServer]:
    server = IdentityServer(port=0).start()
    yield server
    server.stop()


def test_a_deleted_realm_user_is_gone_and_deleting_again_is_fine(realm: IdentityServer) -> None:
    # GIVEN bob, who can sign in
    admin = KeycloakAdmin(realm.issuer, "media-vault-admin-cli", "dev-admin-secret")
    [bob] = admin.search_users("bob", 0, 10)
    assert password_token(realm.issuer, "bob")

    # WHEN the erasure deletes him, twice
    admin.delete_user(bob.user_id)
    admin.delete_user(bob.user_id)

    # THEN the realm knows him no more and he cannot sign in
    assert admin.get_user(bob.user_id) is None
    assert admin.search_users("bob", 0, 10) == []
    form = {"grant_type": "password", "client_id": "media-vault-web", "username": "bob", "password": "bob"}
    refused = requests.post(f"{realm.issuer}/protocol/openid-connect/token", data=form, timeout=10)
    assert refused.status_code in (400, 401), refused.text
