"""The media library over HTTP: per route, no token, bad id, another user's item, then the happy path."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from shared.adapters.dynamo.media_model import MediaModel
from tests.functional.conftest import ApiClient
from tests.functional.flows import ready_item
from tests.functional.test_api import UPLOAD, assert_error
from tests.support.tokens import TokenFactory

UNKNOWN = "ffffffffffffffffffffffffffffffff"


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


@pytest.fixture
def photo(api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory) -> str:
    """A ready photo of alice's."""
    return ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], tokens.token("alice"))


ROUTES = [
    ("GET", "/media/{id}", None),
    ("PATCH", "/media/{id}", {"version": 0, "title": "x"}),
    ("DELETE", "/media/{id}", None),
    ("POST", "/media/{id}/restore", None),
    ("GET", "/media/{id}/download", None),
    ("DELETE", "/trash/{id}", None),
]


@pytest.mark.parametrize(("method", "path", "payload"), ROUTES)
def test_item_routes_refuse_no_token_unknown_ids_and_other_users(
    api: ApiClient, tokens: TokenFactory, photo: str, method: str, path: str, payload: Any
) -> None:
    assert_error(api.call(method, path.format(id=photo), None, payload), 401, "unauthorized")
    unknown = api.call(method, path.format(id=UNKNOWN), tokens.token("alice"), payload)
    others = api.call(method, path.format(id=photo), tokens.token("bob"), payload)
    assert_error(unknown, 404, "not_found")
    assert_error(others, 404, "not_found")
    assert body(unknown) == body(others)
    item = MediaModel.get(photo)
    assert (item.revision, item.trashed_at, item.title) == (0, None, "")


def test_listing_pages_through_own_items_only(api: ApiClient, tokens: TokenFactory) -> None:
    alice, bob = tokens.token("alice"), tokens.token("bob")
    mine = {body(api.call("POST", "/uploads", alice, UPLOAD))["media_id"] for _ in range(5)}
    api.call("POST", "/uploads", bob, UPLOAD)
    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        page = body(api.call("GET", f"/media?limit=2{'&cursor=' + cursor if cursor else ''}", alice))
        seen += [i["media_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert set(seen) == mine
    assert len(seen) == 5
    created = [body(api.call("GET", f"/media/{m}", alice))["created_at"] for m in seen]
    assert created == sorted(created, reverse=True)


def test_listing_filters_and_sorts(api: ApiClient, tokens: TokenFactory, photo: str) -> None:
    alice = tokens.token("alice")
    pending = body(api.call("POST", "/uploads", alice, UPLOAD))["media_id"]
    edit = {"version": 0, "title": "Sunset at Étretat", "tags": ["Beach", "holiday"], "taken_at": "2019-07-14T19:00:00"}
    assert api.call("PATCH", f"/media/{photo}", alice, edit).status_code == 200

    def ids(query: str) -> list[str]:
        response = api.call("GET", f"/media?{query}", alice)
        assert response.status_code == 200, response.body
        return [i["media_id"] for i in body(response)["items"]]

    assert ids("status=ready") == [photo]
    assert ids("status=pending") == [pending]
    assert ids("tag=beach") == [photo]
    assert ids("q=%C3%A9tretat") == [photo]
    assert ids("q=nothing-like-this") == []
    assert ids("type=video") == []
    assert ids("sort=taken&order=asc")[0] == photo
    assert ids("taken_from=2019-01-01&taken_to=2019-12-31&sort=taken") == [photo]
    assert ids("created_from=2000-01-01T00:00:00Z") == [pending, photo]
    assert ids("created_to=2000-01-01") == []


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=x",
        "status=lost",
        "type=audio",
        "sort=size",
        "order=up",
        "created_from=yesterday",
        "cursor=%%%",
        "colour=red",
    ],
)
def test_listing_rejects_bad_parameters(api: ApiClient, tokens: TokenFactory, query: str) -> None:
    assert_error(api.call("GET", f"/media?{query}", tokens.token("alice")), 400, "validation_error")


def test_a_cursor_from_another_users_listing_is_refused(api: ApiClient, tokens: TokenFactory) -> None:
    alice, bob = tokens.token("alice"), tokens.token("bob")
    for _ in range(3):
        api.call("POST", "/uploads", alice, UPLOAD)
    cursor = body(api.call("GET", "/media?limit=1", alice))["next_cursor"]
    assert cursor
    assert_error(api.call("GET", f"/media?cursor={cursor}", bob), 400, "validation_error")


def test_edit_with_optimistic_concurrency(api: ApiClient, tokens: TokenFactory, photo: str) -> None:
    alice = tokens.token("alice")
    first = api.call("PATCH", f"/media/{photo}", alice, {"version": 0, "title": "First", "location_visible": True})
    assert first.status_code == 200
    assert (body(first)["title"], body(first)["version"], body(first)["location_visible"]) == ("First", 1, True)
    stale = api.call("PATCH", f"/media/{photo}", alice, {"version": 0, "title": "Second"})
    assert_error(stale, 409, "conflict")
    assert body(api.call("GET", f"/media/{photo}", alice))["title"] == "First"
    cleared = body(api.call("PATCH", f"/media/{photo}", alice, {"version": 1, "taken_at": None, "tags": []}))
    assert (cleared["taken_at"], cleared["tags"], cleared["version"]) == (None, [], 2)


def test_an_item_says_whose_it_is_to_its_owner_and_to_an_admin(
    api: ApiClient, tokens: TokenFactory, photo: str
) -> None:
    # GIVEN alice's photo; WHEN she and ada (an admin) read it, and alice lists her library
    mine = body(api.call("GET", f"/media/{photo}", tokens.token("alice")))
    admins = body(api.call("GET", f"/media/{photo}", tokens.token("ada")))
    listed = body(api.call("GET", "/media", tokens.token("alice")))["items"]
    # THEN every reply names alice as the owner, so a console shows owner-only actions to her alone
    assert mine["owner_id"] == admins["owner_id"] == "user-alice"
    assert [item["owner_id"] for item in listed] == ["user-alice"]


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"version": 0, "status": "ready"}, 422),
        ({"version": 0, "owner_id": "user-bob"}, 422),
        ({"version": 0, "size": 1}, 422),
        ({"title": "no version"}, 400),
        ({"version": 0}, 400),
        ({"version": 0, "title": "x" * 201}, 400),
        ({"version": 0, "tags": "beach"}, 400),
        ({"version": 0, "tags": [""]}, 400),
        ({"version": 0, "taken_at": "last summer"}, 400),
        ({"version": 0, "location_visible": "yes"}, 400),
        ([], 400),
    ],
)
def test_edit_rejects_bad_input_and_changes_nothing(
    api: ApiClient, tokens: TokenFactory, photo: str, payload: Any, status: int
) -> None:
    assert_error(api.call("PATCH", f"/media/{photo}", tokens.token("alice"), payload), status)
    assert MediaModel.get(photo).revision == 0


def test_trash_restore_and_purge(
    api: ApiClient, tokens: TokenFactory, photo: str, s3: Any, aws: dict[str, str]
) -> None:
    alice = tokens.token("alice")
    assert_error(api.call("DELETE", f"/trash/{photo}", alice), 409, "conflict")  # must be trashed first
    assert api.call("DELETE", f"/media/{photo}", alice).status_code == 204
    assert api.call("DELETE", f"/media/{photo}", alice).status_code == 204  # idempotent
    assert [i["media_id"] for i in body(api.call("GET", "/media", alice))["items"]] == []
    assert [i["media_id"] for i in body(api.call("GET", "/trash", alice))["items"]] == [photo]
    assert_error(api.call("PATCH", f"/media/{photo}", alice, {"version": 1, "title": "x"}), 409, "conflict")
    restored = api.call("POST", f"/media/{photo}/restore", alice)
    assert restored.status_code == 200
    assert body(restored)["trashed_at"] is None
    assert_error(api.call("POST", f"/media/{photo}/restore", alice), 409, "conflict")
    assert api.call("DELETE", f"/media/{photo}", alice).status_code == 204
    bucket = aws["MEDIA_BUCKET"]
    before = s3.list_object_versions(Bucket=bucket).get("Versions", [])
    assert len(before) == 3  # original, preview, thumbnail
    assert api.call("DELETE", f"/trash/{photo}", alice).status_code == 204
    after = s3.list_object_versions(Bucket=bucket)
    assert after.get("Versions", []) == [] and after.get("DeleteMarkers", []) == []
    assert_error(api.call("GET", f"/media/{photo}", alice), 404, "not_found")


def test_download_gives_a_short_lived_attachment_url(api: ApiClient, tokens: TokenFactory, photo: str) -> None:
    alice = tokens.token("alice")
    response = api.call("GET", f"/media/{photo}/download", alice)
    assert response.status_code == 200
    link = body(response)
    query = parse_qs(urlparse(link["url"]).query)
    assert query["response-content-disposition"][0].startswith('attachment; filename="photo.jpg"')
    assert int(query["X-Amz-Expires"][0]) <= 300
    pending = body(api.call("POST", "/uploads", alice, UPLOAD))["media_id"]
    assert_error(api.call("GET", f"/media/{pending}/download", alice), 409, "conflict")
