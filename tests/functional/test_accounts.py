"""Accounts over HTTP: first sight, role policy, suspension."""

from __future__ import annotations

import json

import pytest

from shared.adapters.dynamo import UserModel
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
