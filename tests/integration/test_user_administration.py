"""Admin user management through Keycloak's Admin REST API (the dev identity server speaks it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from jose import jwt

from infra.identity.server import IdentityServer
from infra.local.stack import DevStack
from shared.adapters.keycloak_admin import KeycloakAdmin
from shared.domain.errors import Unavailable
from shared.domain.principal import Role
from tests.support.http import password_token


@pytest.fixture
def realm() -> Iterator[IdentityServer]:
    server = IdentityServer(port=0).start()
    yield server
    server.stop()


def test_adapter_searches_reads_and_changes_roles(realm: IdentityServer) -> None:
    admin = KeycloakAdmin(realm.issuer, "media-vault-admin-cli", "dev-admin-secret")
    found = admin.search_users("pat", 0, 10)
    assert [u.username for u in found] == ["pat"]
    assert (found[0].role, found[0].partner_org) == (Role.PARTNER, "acme")
    assert all(not u.username.startswith("service-account") for u in admin.search_users("", 0, 100))
    bob = admin.search_users("bob", 0, 10)[0]
    changed = admin.set_role(bob.user_id, Role.PARTNER, "acme")
    assert (changed.role, changed.partner_org) == (Role.PARTNER, "acme")
    claims = jwt.get_unverified_claims(password_token(realm.issuer, "bob"))
    assert "partner" in claims["realm_access"]["roles"]
    assert claims["partner_org"] == "acme"
    back = admin.set_role(bob.user_id, Role.USER, "")
    assert (back.role, back.partner_org, back.roles) == (Role.USER, "", ("user",))
    assert admin.get_user("no-such-user") is None
    # an exact name or address finds one user; part of one finds nobody
    assert admin.find_user(username="PAT") is not None
    assert admin.find_user(email="pat@example.test") is not None
    assert admin.find_user(username="pa") is None
    assert admin.find_user(username="") is None


def test_adapter_reports_misconfiguration_as_unavailable(realm: IdentityServer) -> None:
    with pytest.raises(Unavailable):
        KeycloakAdmin(realm.issuer, "media-vault-admin-cli", "wrong-secret").search_users("", 0, 10)
    with pytest.raises(Unavailable):
        KeycloakAdmin(realm.issuer, "media-vault-admin-cli", "").search_users("", 0, 10)


def test_admin_lists_users_and_promotes_one_over_http(stack: DevStack) -> None:
    admin = {"Authorization": f"Bearer {password_token(stack.issuer, 'ada')}"}
    listing = requests.get(f"{stack.api_url}/admin/users", params={"search": "gina"}, headers=admin, timeout=10)
    assert listing.status_code == 200, listing.text
    (gina,) = listing.json()["users"]
    assert (gina["username"], gina["role"], gina["partner_org"]) == ("gina", "partner", "globex")
    url = f"{stack.api_url}/admin/users/{gina['user_id']}/role"
    try:
        moved = requests.put(url, json={"role": "partner", "partner_org": "acme"}, headers=admin, timeout=10)
        assert moved.status_code == 200, moved.text
        me = requests.get(
            f"{stack.api_url}/me",
            headers={"Authorization": f"Bearer {password_token(stack.issuer, 'gina')}"},
            timeout=10,
        ).json()
        assert (me["role"], me["partner_org"]) == ("partner", "acme")
    finally:
        requests.put(url, json={"role": "partner", "partner_org": "globex"}, headers=admin, timeout=10)
    user = {"Authorization": f"Bearer {password_token(stack.issuer, 'alice')}"}
    assert requests.get(f"{stack.api_url}/admin/users", headers=user, timeout=10).status_code == 403


def test_adapter_renews_a_cached_token_the_realm_stopped_accepting(realm: IdentityServer) -> None:
    # GIVEN an adapter holding a token signed with a key the realm then retires
    admin = KeycloakAdmin(realm.issuer, "media-vault-admin-cli", "dev-admin-secret")
    assert admin.search_users("pat", 0, 10)
    realm.realm.rotate(retire_old=True)
    # WHEN it calls again before that token would expire THEN it fetches a new one and the call succeeds
    assert [u.username for u in admin.search_users("pat", 0, 10)] == ["pat"]
