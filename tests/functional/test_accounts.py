"""Accounts over HTTP: first sight, role policy, suspension."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.adapters.dynamo.users import UserModel
from tests.functional.conftest import ApiClient
from tests.functional.test_api import UPLOAD, assert_error
from tests.support.tokens import TokenFactory


def test_first_request_creates_the_account(api: ApiClient, tokens: TokenFactory) -> None:
    response = api.call("GET", "/me", tokens.token("pat"))
    assert response.status_code == 200
    me = json.loads(response.body)
    assert (me["username"], me["role"], me["partner_org"], me["status"]) == ("pat", "partner", "acme", "active")
    assert me["quota_bytes"] > 0
    assert UserModel.get("user-pat").username == "pat"


@pytest.mark.parametrize("username", ["alice", "pat"])
def test_non_admins_get_403_on_admin_routes(api: ApiClient, tokens: TokenFactory, username: str) -> None:
    response = api.call("PUT", "/admin/users/user-bob/status", tokens.token(username), {"status": "suspended"})
    assert_error(response, 403, "forbidden")


def test_suspended_user_is_refused_everywhere_until_reactivated(api: ApiClient, tokens: TokenFactory) -> None:
    bob, ada = tokens.token("bob"), tokens.token("ada")
    media_id = json.loads(api.call("POST", "/uploads", bob, UPLOAD).body)["media_id"]
    suspended = api.call("PUT", "/admin/users/user-bob/status", ada, {"status": "suspended"})
    assert suspended.status_code == 200
    assert json.loads(suspended.body)["status"] == "suspended"
    for method, path, payload in (
        ("GET", "/me", None),
        ("POST", "/uploads", UPLOAD),
        ("GET", f"/media/{media_id}", None),
    ):
        assert_error(api.call(method, path, bob, payload), 403, "forbidden")
    assert api.call("PUT", "/admin/users/user-bob/status", ada, {"status": "active"}).status_code == 200
    assert api.call("GET", f"/media/{media_id}", bob).status_code == 200


def test_status_changes_validate_input(api: ApiClient, tokens: TokenFactory) -> None:
    ada = tokens.token("ada")
    api.call("GET", "/me", tokens.token("bob"))
    assert_error(api.call("PUT", "/admin/users/nobody/status", ada, {"status": "suspended"}), 404, "not_found")
    assert_error(api.call("PUT", "/admin/users/user-bob/status", ada, {"status": "gone"}), 400, "validation_error")
    assert_error(api.call("PUT", "/admin/users/user-bob/status", ada, {"status": "active", "x": 1}), 400)
    assert_error(api.call("PUT", "/admin/users/user-bob/status", ada, raw=b"nope"), 400, "validation_error")


class FakeIdentity:
    """IdentityDirectory in memory."""

    def __init__(self) -> None:
        from shared.domain.users import RealmUser

        self.users = {"user-bob": RealmUser("user-bob", "bob", "bob@example.test", True, ("user",))}

    def search_users(self, search: str, first: int, max_results: int) -> list[Any]:
        return [u for u in self.users.values() if search in u.username][first : first + max_results]

    def get_user(self, user_id: str) -> Any:
        return self.users.get(user_id)

    def set_role(self, user_id: str, role: Any, partner_org: str) -> Any:
        import dataclasses

        from shared.domain.errors import NotFound

        if user_id not in self.users:
            raise NotFound("user not found")
        self.users[user_id] = dataclasses.replace(
            self.users[user_id], roles=("user", role.value), partner_org=partner_org
        )
        return self.users[user_id]


@pytest.fixture
def identity(aws: dict[str, str]) -> FakeIdentity:
    from app import api_services
    from functions.containers.api import ApiContainer
    from shared.config import Settings
    from shared.domain.users import UserAdministration

    fake = FakeIdentity()
    services = ApiContainer(Settings.from_env())
    services.user_administration = UserAdministration(fake, services.user_repository)
    api_services.replace(services)
    return fake


def test_admin_user_listing_joins_realm_and_accounts(
    api: ApiClient, tokens: TokenFactory, identity: FakeIdentity
) -> None:
    ada = tokens.token("ada")
    listing = json.loads(api.call("GET", "/admin/users?search=bo", ada).body)["users"]
    assert [(u["username"], u["status"]) for u in listing] == [("bob", "never_seen")]
    api.call("GET", "/me", tokens.token("bob"))
    listing = json.loads(api.call("GET", "/admin/users", ada).body)["users"]
    assert listing[0]["status"] == "active"


@pytest.mark.parametrize(
    ("path", "payload", "status"),
    [
        ("/admin/users/user-bob/role", {"role": "superuser"}, 400),
        ("/admin/users/user-bob/role", {"role": "partner"}, 400),
        ("/admin/users/user-bob/role", {"role": "user", "partner_org": "acme"}, 400),
        ("/admin/users/user-bob/role", {"role": "partner", "partner_org": 7}, 400),
        ("/admin/users/user-bob/role", {"role": "user", "extra": 1}, 400),
        ("/admin/users/nobody/role", {"role": "user"}, 404),
    ],
)
def test_role_changes_validate_input(
    api: ApiClient, tokens: TokenFactory, identity: FakeIdentity, path: str, payload: Any, status: int
) -> None:
    assert_error(api.call("PUT", path, tokens.token("ada"), payload), status)
    assert identity.users["user-bob"].roles == ("user",)


@pytest.mark.parametrize("query", ["?max=0", "?max=101", "?first=-1", "?first=x"])
def test_listing_validates_paging(api: ApiClient, tokens: TokenFactory, identity: FakeIdentity, query: str) -> None:
    assert_error(api.call("GET", f"/admin/users{query}", tokens.token("ada")), 400, "validation_error")


def test_unconfigured_identity_administration_answers_503(api: ApiClient, tokens: TokenFactory) -> None:
    assert_error(api.call("GET", "/admin/users", tokens.token("ada")), 503, "unavailable")
