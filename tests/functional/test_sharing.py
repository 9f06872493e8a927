"""Sharing over HTTP: one access matrix for every route taking an item or share id, then reshares, moderation and
the listings of what was shared."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.dynamo.grants import ShareModel
from shared.adapters.dynamo.media_model import MediaModel
from tests.functional.conftest import ApiClient
from tests.functional.flows import ready_item
from tests.functional.test_api import assert_error
from tests.support.tokens import TokenFactory

UNKNOWN = "ffffffffffffffffffffffffffffffff"
EVERY_PERMISSION = ["view", "download", "edit", "reshare"]
PEOPLE = ("alice", "bob", "pat", "gina", "ada")


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


class Vault:
    """The people, their tokens and the calls the tests make."""

    def __init__(self, api: ApiClient, tokens: TokenFactory) -> None:
        self.api = api
        self.tokens = {name: tokens.token(name) for name in PEOPLE}
        for name in PEOPLE:  # an account exists once its owner has called the API
            assert api.call("GET", "/me", self.tokens[name]).status_code == 200

    def call(self, who: str | None, method: str, path: str, payload: Any = None) -> Any:
        return self.api.call(method, path, self.tokens[who] if who else None, payload)

    def share(self, who: str, media_id: str, grantee: dict[str, str], permissions: list[str], **extra: Any) -> Any:
        return self.call(
            who, "POST", f"/media/{media_id}/shares", {"grantee": grantee, "permissions": permissions, **extra}
        )

    def grant(self, who: str, media_id: str, grantee: dict[str, str], permissions: list[str], **extra: Any) -> str:
        response = self.share(who, media_id, grantee, permissions, **extra)
        assert response.status_code == 201, response.body
        return str(body(response)["share_id"])


def user(name: str) -> dict[str, str]:
    return {"type": "user", "username": name}


def org(name: str) -> dict[str, str]:
    return {"type": "org", "org": name}


def expire(share_id: str) -> None:
    """Let a grant's time run out (what a clock would do)."""
    entry = next(iter(ShareModel.share_id_index.query(share_id)))
    grant = ShareModel.get(entry.resource, entry.grantee)
    grant.update(actions=[ShareModel.expires_at.set(datetime.now(UTC) - timedelta(seconds=1))])


@pytest.fixture
def vault(api: ApiClient, tokens: TokenFactory) -> Vault:
    return Vault(api, tokens)


@pytest.fixture
def photo(api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], vault: Vault) -> str:
    """A ready photo of alice's."""
    return ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], vault.tokens["alice"])


# Who calls, and the grant (if any) that makes them who they are. Every case also has alice's grant of
# view+download to the organisation acme (the share id routes act on that grant).
ACTORS: dict[str, tuple[str | None, list[str] | None]] = {
    "owner": ("alice", None),
    "grantee-view": ("bob", ["view"]),
    "grantee-download": ("bob", ["download"]),
    "grantee-edit": ("bob", ["edit"]),
    "grantee-reshare": ("bob", ["reshare"]),
    "grantee-expired": ("bob", EVERY_PERMISSION),
    "grantee-revoked": ("bob", EVERY_PERMISSION),
    "other-user": ("bob", None),
    "partner-of-granted-org": ("pat", None),
    "partner-of-other-org": ("gina", None),
    "admin": ("ada", None),
    "anonymous": (None, None),
}

# route -> expected status per actor, in ACTORS order. Grants always include view; 404 is "not yours". Each actor
# calls the routes in this order on one world, so routes that change state come after the ones that read it.
MATRIX: dict[tuple[str, str], list[int]] = {
    ("GET", "/media/{id}"): [200, 200, 200, 200, 200, 404, 404, 404, 200, 404, 200, 401],
    ("GET", "/media/{id}/download"): [200, 404, 200, 404, 404, 404, 404, 404, 200, 404, 200, 401],
    ("GET", "/media/{id}/shares"): [200, 404, 404, 404, 200, 404, 404, 404, 404, 404, 404, 401],
    ("PATCH", "/media/{id}"): [200, 404, 404, 200, 404, 404, 404, 404, 404, 404, 200, 401],
    ("POST", "/media/{id}/shares"): [201, 404, 404, 404, 201, 404, 404, 404, 404, 404, 404, 401],
    ("PATCH", "/shares/{share}"): [200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401],
    ("DELETE", "/media/{id}"): [204, 404, 404, 404, 404, 404, 404, 404, 404, 404, 204, 401],
    ("DELETE", "/shares/{share}"): [204, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401],
}
PAYLOADS: dict[tuple[str, str], Any] = {
    ("PATCH", "/media/{id}"): {"version": 0, "title": "shared"},
    ("POST", "/media/{id}/shares"): {"grantee": {"type": "org", "org": "globex"}, "permissions": ["view"]},
    ("PATCH", "/shares/{share}"): {"permissions": ["view"]},
}


@pytest.mark.parametrize("actor", list(ACTORS))
def test_access_matrix(vault: Vault, photo: str, actor: str) -> None:
    # GIVEN alice's photo shared with acme, and the actor's own grant in the state its name says
    caller, permissions = ACTORS[actor]
    org_share = vault.grant("alice", photo, org("acme"), ["view", "download"])
    if caller and permissions is not None:
        mine = vault.grant("alice", photo, user(caller), permissions)
        if actor == "grantee-expired":
            expire(mine)
        if actor == "grantee-revoked":
            assert vault.call("alice", "DELETE", f"/shares/{mine}").status_code == 204
    column = list(ACTORS).index(actor)
    for (method, path), statuses in MATRIX.items():
        expected = statuses[column]
        payload = PAYLOADS.get((method, path))
        # WHEN the actor calls the route
        response = vault.call(caller, method, path.format(id=photo, share=org_share), payload)
        # THEN the table's status; a refusal looks exactly like an id that names nothing
        assert response.status_code == expected, f"{method} {path}: {response.body!r}"
        if expected == 404:
            missing = vault.call(caller, method, path.format(id=UNKNOWN, share=UNKNOWN), payload)
            assert_error(response, 404, "not_found")
            assert body(response) == body(missing), f"{method} {path}"
        if expected == 401:
            assert_error(response, 401, "unauthorized")


def test_grants_name_users_by_username_or_email_never_the_caller_or_an_unknown_name(vault: Vault, photo: str) -> None:
    by_email = vault.share("alice", photo, {"type": "user", "email": "BOB@example.test"}, ["view"])
    assert by_email.status_code == 201, by_email.body
    assert body(by_email)["grantee"] == {"type": "user", "id": "user-bob", "name": "bob"}
    assert body(by_email)["permissions"] == ["view"]
    assert_error(vault.share("alice", photo, user("bob"), ["download"]), 409, "conflict")
    assert_error(vault.share("alice", photo, user("alice"), ["view"]), 400, "validation_error")
    unknown_name = vault.share("alice", photo, user("nobody"), ["view"])
    unknown_email = vault.share("alice", photo, {"type": "user", "email": "nobody@example.test"}, ["view"])
    assert_error(unknown_name, 404, "not_found")
    assert body(unknown_name) == body(unknown_email)
    past = vault.share("alice", photo, user("pat"), ["view"], expires_at="2020-01-01T00:00:00Z")
    assert_error(past, 400, "validation_error")
    both = vault.share("alice", photo, {"type": "user", "username": "pat", "email": "pat@example.test"}, ["view"])
    assert_error(both, 400, "validation_error")
    assert_error(vault.share("alice", photo, user("pat"), ["own"]), 400, "validation_error")


def test_a_reshare_never_grants_more_than_the_resharer_holds(vault: Vault, photo: str) -> None:
    # GIVEN bob may view and reshare, until an hour from now
    soon = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    bobs = vault.grant("alice", photo, user("bob"), ["view", "reshare"], expires_at=soon.isoformat())
    # WHEN he passes on more than he holds, or shares back with the owner or with himself: refused
    assert_error(vault.share("bob", photo, user("gina"), ["download"]), 403, "forbidden")
    assert_error(vault.share("bob", photo, user("alice"), ["view"]), 400, "validation_error")
    assert_error(vault.share("bob", photo, user("bob"), ["view"]), 400, "validation_error")
    # WHEN he passes on what he holds, with no expiry of his own
    response = vault.share("bob", photo, user("gina"), ["view"])
    assert response.status_code == 201, response.body
    # THEN gina's grant ends with his, and hangs from it
    reshared = body(response)
    assert reshared["parent_share_id"] == bobs
    assert datetime.fromisoformat(reshared["expires_at"]) == soon
    assert vault.call("gina", "GET", f"/media/{photo}").status_code == 200
    # and he may not raise it later either
    assert_error(vault.call("bob", "PATCH", f"/shares/{reshared['share_id']}", {"permissions": ["edit"]}), 403)
    # the owner sees every grant, bob only the ones he made
    assert {s["share_id"] for s in body(vault.call("alice", "GET", f"/media/{photo}/shares"))["items"]} == {
        bobs,
        reshared["share_id"],
    }
    assert [s["share_id"] for s in body(vault.call("bob", "GET", f"/media/{photo}/shares"))["items"]] == [
        reshared["share_id"]
    ]


def test_revoking_or_narrowing_a_grant_cascades_to_its_reshares(vault: Vault, photo: str) -> None:
    bobs = vault.grant("alice", photo, user("bob"), ["view", "download", "reshare"])
    ginas = vault.grant("bob", photo, user("gina"), ["view", "download", "reshare"])
    pats = vault.grant("gina", photo, user("pat"), ["view", "download"])
    assert vault.call("pat", "GET", f"/media/{photo}/download").status_code == 200
    # WHEN alice narrows bob's grant to view and reshare: the chain below loses download on the next request
    narrowed = vault.call("alice", "PATCH", f"/shares/{bobs}", {"permissions": ["view", "reshare"]})
    assert narrowed.status_code == 200, narrowed.body
    assert vault.call("pat", "GET", f"/media/{photo}/download").status_code == 404
    assert vault.call("gina", "GET", f"/media/{photo}/download").status_code == 404
    assert vault.call("pat", "GET", f"/media/{photo}").status_code == 200
    # WHEN alice revokes bob's grant: everything reshared from it stops at once
    assert vault.call("alice", "DELETE", f"/shares/{bobs}").status_code == 204
    for name in ("bob", "gina", "pat"):
        assert vault.call(name, "GET", f"/media/{photo}").status_code == 404, name
    for share_id in (bobs, ginas, pats):
        assert_error(vault.call("alice", "DELETE", f"/shares/{share_id}"), 404, "not_found")
    assert body(vault.call("alice", "GET", f"/media/{photo}/shares"))["items"] == []


def test_taking_reshare_away_removes_what_was_reshared(vault: Vault, photo: str) -> None:
    bobs = vault.grant("alice", photo, user("bob"), ["view", "reshare"])
    vault.grant("bob", photo, user("gina"), ["view"])
    assert vault.call("alice", "PATCH", f"/shares/{bobs}", {"permissions": ["view"]}).status_code == 200
    assert vault.call("gina", "GET", f"/media/{photo}").status_code == 404
    assert vault.call("bob", "GET", f"/media/{photo}").status_code == 200
    assert_error(vault.share("bob", photo, user("gina"), ["view"]), 404, "not_found")


def test_an_expiry_set_later_applies_on_the_next_request(vault: Vault, photo: str) -> None:
    bobs = vault.grant("alice", photo, user("bob"), ["view"])
    expire(bobs)
    assert vault.call("bob", "GET", f"/media/{photo}").status_code == 404
    listed = body(vault.call("alice", "GET", f"/media/{photo}/shares"))["items"]
    assert [s["status"] for s in listed] == ["expired"]
    cleared = vault.call("alice", "PATCH", f"/shares/{bobs}", {"expires_at": None})
    assert cleared.status_code == 200, cleared.body
    assert vault.call("bob", "GET", f"/media/{photo}").status_code == 200


@pytest.mark.parametrize("moderated", ["flagged", "rejected"])
def test_flagged_or_rejected_items_are_never_served_through_a_grant(vault: Vault, photo: str, moderated: str) -> None:
    vault.grant("alice", photo, user("bob"), EVERY_PERMISSION)
    vault.grant("alice", photo, org("acme"), EVERY_PERMISSION)
    record = MediaModel.get(photo)
    if moderated == "flagged":
        record.update(actions=[MediaModel.flagged.set(True)])
    else:
        record.update(actions=[MediaModel.status.set("rejected")])
    for name in ("bob", "pat"):
        for path in (f"/media/{photo}", f"/media/{photo}/download"):
            assert_error(vault.call(name, "GET", path), 404, "not_found")
        assert body(vault.call(name, "GET", "/shares/incoming"))["items"] == []
    assert body(vault.call("pat", "GET", "/partner/media"))["items"] == []
    assert vault.call("alice", "GET", f"/media/{photo}").status_code == 200
    assert vault.call("ada", "GET", f"/media/{photo}").status_code == 200


def flat(pages: list[list[str]]) -> list[str]:
    return [entry for page in pages for entry in page]


def _pages(vault: Vault, who: str, path: str, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = ""
    while True:
        separator = "&" if "?" in path else "?"
        query = f"{separator}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = vault.call(who, "GET", path + query)
        assert response.status_code == 200, response.body
        page = body(response)
        pages.append([entry["media"]["media_id"] if "media" in entry else entry["share_id"] for entry in page["items"]])
        cursor = page["next_cursor"]
        if not cursor:
            return pages


def test_incoming_outgoing_and_partner_listings_page_through_what_was_shared(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], vault: Vault
) -> None:
    queue = aws["PROCESSING_QUEUE_URL"]
    photos = [ready_item(api, s3, sqs, queue, vault.tokens["alice"]) for _ in range(4)]
    for media_id in photos[:3]:
        vault.grant("alice", media_id, user("pat"), ["view"])
    for media_id in photos[1:]:
        vault.grant("alice", media_id, org("acme"), ["view"])
    vault.grant("alice", photos[0], org("globex"), ["view"])

    # pat: his own grants first, then his organisation's, newest first, 2 a page
    incoming = _pages(vault, "pat", "/shares/incoming", 2)
    assert [len(page) for page in incoming] == [2, 2, 2]
    assert flat(incoming) == [photos[2], photos[1], photos[0], photos[3], photos[2], photos[1]]
    # each entry says who shared it, by name
    first = body(vault.call("pat", "GET", "/shares/incoming"))["items"]
    assert {entry["share"]["owner_name"] for entry in first} == {"alice"}
    # the partner listing holds the organisation's grants only
    assert flat(_pages(vault, "pat", "/partner/media", 2)) == [photos[3], photos[2], photos[1]]
    assert flat(_pages(vault, "gina", "/partner/media", 2)) == [photos[0]]
    assert_error(vault.call("bob", "GET", "/partner/media"), 403, "forbidden")
    assert body(vault.call("bob", "GET", "/shares/incoming"))["items"] == []
    # filters
    assert body(vault.call("pat", "GET", "/shares/incoming?type=video"))["items"] == []
    assert len(body(vault.call("pat", "GET", "/shares/incoming?status=ready&type=image"))["items"]) == 6
    # a cursor only works for the listing that issued it
    cursor = body(vault.call("pat", "GET", "/shares/incoming?limit=1"))["next_cursor"]
    assert_error(vault.call("pat", "GET", f"/partner/media?limit=1&cursor={cursor}"), 400, "validation_error")
    assert_error(vault.call("pat", "GET", f"/shares/incoming?limit=1&type=image&cursor={cursor}"), 400)
    assert_error(vault.call("gina", "GET", f"/shares/incoming?limit=1&cursor={cursor}"), 400)
    # a trashed item leaves the grantees' listings
    assert vault.call("alice", "DELETE", f"/media/{photos[3]}").status_code == 204
    assert flat(_pages(vault, "pat", "/partner/media", 5)) == [photos[2], photos[1]]

    outgoing = _pages(vault, "alice", "/shares/outgoing", 3)
    assert [len(page) for page in outgoing] == [3, 3, 1]
    assert len(set(flat(outgoing))) == 7
    assert body(vault.call("pat", "GET", "/shares/outgoing"))["items"] == []


def test_purging_an_item_removes_its_grants(vault: Vault, photo: str) -> None:
    vault.grant("alice", photo, user("bob"), ["view"])
    vault.grant("alice", photo, org("acme"), ["view"])
    assert vault.call("alice", "DELETE", f"/media/{photo}").status_code == 204
    assert vault.call("alice", "DELETE", f"/trash/{photo}").status_code == 204
    assert body(vault.call("alice", "GET", "/shares/outgoing"))["items"] == []
    assert vault.call("bob", "GET", f"/media/{photo}").status_code == 404


def test_what_was_shared_with_an_org_is_reshared_only_inside_it(vault: Vault, photo: str, tokens: TokenFactory) -> None:
    # GIVEN acme may view and reshare alice's photo, and acme has a second partner, pia
    pia = tokens.token("pat", sub="user-pia", preferred_username="pia", email="pia@example.test")
    assert vault.api.call("GET", "/me", pia).status_code == 200
    vault.grant("alice", photo, org("acme"), ["view", "reshare"])
    # WHEN pat reshares it outside acme THEN it is refused
    assert_error(vault.share("pat", photo, user("bob"), ["view"]), 403)
    assert_error(vault.share("pat", photo, user("gina"), ["view"]), 403)
    assert_error(vault.share("pat", photo, {"type": "link"}, ["view"]), 403)
    # WHEN pat reshares it to pia, inside acme THEN pia reads it
    vault.grant("pat", photo, user("pia"), ["view"])
    assert vault.api.call("GET", f"/media/{photo}", pia).status_code == 200


def test_partner_media_takes_the_filters_of_the_library(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], vault: Vault
) -> None:
    queue = aws["PROCESSING_QUEUE_URL"]
    beach, city = (ready_item(api, s3, sqs, queue, vault.tokens["alice"]) for _ in range(2))
    edit = {"version": 0, "title": "Beach day", "tags": ["summer"]}
    assert vault.call("alice", "PATCH", f"/media/{beach}", edit).status_code == 200
    for media_id in (beach, city):
        vault.grant("alice", media_id, org("acme"), ["view"])

    def listed(query: str) -> list[str]:
        response = vault.call("pat", "GET", f"/partner/media?{query}")
        assert response.status_code == 200, response.body
        return [entry["media"]["media_id"] for entry in body(response)["items"]]

    assert listed("tag=summer") == [beach]
    assert listed("q=BEACH") == [beach]
    assert listed("q=nothing-like-it") == []
    assert listed("created_from=2000-01-01T00:00:00") == [city, beach]
    assert listed("created_to=2000-01-01T00:00:00") == []
    assert_error(vault.call("pat", "GET", "/partner/media?tag="), 400, "validation_error")
    # a cursor is bound to its filters
    cursor = body(vault.call("pat", "GET", "/partner/media?limit=1"))["next_cursor"]
    assert cursor is not None
    assert (
        body(vault.call("pat", "GET", f"/partner/media?limit=1&cursor={cursor}"))["items"][0]["media"]["media_id"]
        == beach
    )
    assert_error(vault.call("pat", "GET", f"/partner/media?limit=1&q=beach&cursor={cursor}"), 400)
