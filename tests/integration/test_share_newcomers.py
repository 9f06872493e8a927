"""Sharing with a realm user who has never opened the vault: they are found in the realm, not "not found"."""

from __future__ import annotations

import secrets

import requests

from infra.local.stack import DevStack
from tests.support.http import password_token
from tests.support.realm import create_realm_user


def _as(stack: DevStack, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {password_token(stack.issuer, username)}"}


def test_a_realm_user_who_never_signed_in_can_be_shared_with_by_name_or_email(stack: DevStack) -> None:
    # GIVEN two colleagues with realm logins who never called the API, and an album of alice's
    first, second = (f"nc-{secrets.token_hex(4)}" for _ in range(2))
    for username in (first, second):
        create_realm_user(stack.issuer, username)
    alice = _as(stack, "alice")
    album = requests.post(f"{stack.api_url}/albums", json={"title": "For newcomers"}, headers=alice, timeout=10)
    assert album.status_code == 201, album.text
    shares = f"{stack.api_url}/albums/{album.json()['album_id']}/shares"

    # WHEN alice shares it with one by username and the other by email
    by_name = requests.post(
        shares,
        json={"grantee": {"type": "user", "username": first}, "permissions": ["view"]},
        headers=alice,
        timeout=10,
    )
    by_email = requests.post(
        shares,
        json={"grantee": {"type": "user", "email": f"{second}@example.test"}, "permissions": ["view"]},
        headers=alice,
        timeout=10,
    )

    # THEN both grants are made to them by name
    assert by_name.status_code == 201, by_name.text
    assert by_email.status_code == 201, by_email.text
    assert (by_name.json()["grantee"]["name"], by_email.json()["grantee"]["name"]) == (first, second)

    # AND a name nobody has, or only part of one, is still not found
    for grantee in (
        {"type": "user", "username": f"nc-nobody-{secrets.token_hex(4)}"},
        {"type": "user", "username": "nc-"},
    ):
        missing = requests.post(shares, json={"grantee": grantee, "permissions": ["view"]}, headers=alice, timeout=10)
        assert (missing.status_code, missing.json()["code"]) == (404, "not_found"), missing.text

    # WHEN the first signs in for the first time, THEN the album is shared with them, from alice, and their account
    # is the one their sign-in would have opened
    newcomer = _as(stack, first)
    incoming = requests.get(f"{stack.api_url}/shares/incoming", headers=newcomer, timeout=10)
    assert incoming.status_code == 200, incoming.text
    (entry,) = incoming.json()["items"]
    assert (entry["album"]["title"], entry["share"]["owner_name"]) == ("For newcomers", "alice")
    me = requests.get(f"{stack.api_url}/me", headers=newcomer, timeout=10).json()
    assert (me["username"], me["role"], me["status"]) == (first, "user", "active")
