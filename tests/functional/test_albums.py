"""Albums over HTTP: the owner curates and orders, grants on the album reach its items (ones added later too),
and everyone else sees an album exactly as they see a missing one."""

from __future__ import annotations

from typing import Any

import pytest

from shared.adapters.dynamo.media_model import MediaModel
from tests.functional.conftest import ApiClient
from tests.functional.flows import ready_item
from tests.functional.test_api import assert_error
from tests.functional.test_sharing import UNKNOWN, Vault, body, org, user
from tests.support.tokens import TokenFactory


@pytest.fixture
def vault(api: ApiClient, tokens: TokenFactory) -> Vault:
    return Vault(api, tokens)


@pytest.fixture
def photos(api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], vault: Vault) -> list[str]:
    """Four ready photos of alice's."""
    return [ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], vault.tokens["alice"]) for _ in range(4)]


def new_album(vault: Vault, who: str = "alice", title: str = "Holidays") -> dict[str, Any]:
    response = vault.call(who, "POST", "/albums", {"title": title, "description": "summer"})
    assert response.status_code == 201, response.body
    return dict(body(response))


def add(vault: Vault, album_id: str, media_ids: list[str], who: str = "alice") -> Any:
    return vault.call(who, "POST", f"/albums/{album_id}/items", {"media_ids": media_ids})


def order(vault: Vault, who: str, album_id: str) -> list[str]:
    response = vault.call(who, "GET", f"/albums/{album_id}/items")
    assert response.status_code == 200, response.body
    return [item["media_id"] for item in body(response)["items"]]


def share_album(vault: Vault, album_id: str, grantee: dict[str, str], permissions: list[str]) -> str:
    response = vault.call(
        "alice", "POST", f"/albums/{album_id}/shares", {"grantee": grantee, "permissions": permissions}
    )
    assert response.status_code == 201, response.body
    return str(body(response)["share_id"])


def test_a_shared_album_reaches_its_items_including_later_ones_until_removed_or_revoked(
    vault: Vault, photos: list[str]
) -> None:
    first, second, third, later = photos
    # GIVEN alice's album of three photos, the third moved to the front and the first as its cover
    album = new_album(vault)
    album_id = album["album_id"]
    added = add(vault, album_id, [first, second, third, first])
    assert added.status_code == 200, added.body
    assert body(added)["item_count"] == 3
    assert order(vault, "alice", album_id) == [first, second, third]
    version = body(added)["version"]
    moved = vault.call("alice", "PATCH", f"/albums/{album_id}/items/{third}", {"after": None, "version": version})
    assert moved.status_code == 200, moved.body
    assert order(vault, "alice", album_id) == [third, first, second]
    covered = vault.call(
        "alice", "PATCH", f"/albums/{album_id}", {"version": body(moved)["version"], "cover_media_id": first}
    )
    assert covered.status_code == 200, covered.body
    assert body(covered)["cover"]["media_id"] == first

    # THEN bob sees neither the album nor its items, exactly as if they did not exist
    for path in (f"/albums/{album_id}", f"/albums/{album_id}/items"):
        refused = vault.call("bob", "GET", path)
        assert_error(refused, 404, "not_found")
        assert body(refused) == body(vault.call("bob", "GET", path.replace(album_id, UNKNOWN)))
    assert vault.call("bob", "GET", f"/media/{first}").status_code == 404

    # WHEN alice shares the album with bob (view only)
    share_id = share_album(vault, album_id, user("bob"), ["view"])
    listed = body(vault.call("alice", "GET", f"/albums/{album_id}/shares"))["items"]
    assert [(s["share_id"], s["resource_type"], s["album_id"], s["media_id"]) for s in listed] == [
        (share_id, "album", album_id, None)
    ]
    # THEN he reads the album, its items in order, and each item at the ordinary route (not its download)
    seen = body(vault.call("bob", "GET", f"/albums/{album_id}"))
    assert (seen["title"], seen["item_count"], seen["cover"]["media_id"]) == ("Holidays", 3, first)
    assert seen["cover"]["renditions"]
    assert order(vault, "bob", album_id) == [third, first, second]
    assert vault.call("bob", "GET", f"/media/{first}").status_code == 200
    assert vault.call("bob", "GET", f"/media/{first}/download").status_code == 404
    incoming = body(vault.call("bob", "GET", "/shares/incoming"))["items"]
    assert [(e["media"], e["album"]["album_id"], e["album"]["item_count"]) for e in incoming] == [(None, album_id, 3)]
    # and an item alice adds later, too
    assert vault.call("bob", "GET", f"/media/{later}").status_code == 404
    assert add(vault, album_id, [later]).status_code == 200
    assert vault.call("bob", "GET", f"/media/{later}").status_code == 200
    assert order(vault, "bob", album_id) == [third, first, second, later]

    # WHEN alice takes an item out: bob loses it on his next request
    assert vault.call("alice", "DELETE", f"/albums/{album_id}/items/{second}").status_code == 204
    assert_error(vault.call("bob", "GET", f"/media/{second}"), 404, "not_found")
    assert order(vault, "bob", album_id) == [third, first, later]
    # WHEN alice revokes the album grant: the album and its items are gone for him
    assert vault.call("alice", "DELETE", f"/shares/{share_id}").status_code == 204
    assert vault.call("bob", "GET", f"/albums/{album_id}").status_code == 404
    assert vault.call("bob", "GET", f"/media/{first}").status_code == 404
    assert vault.call("alice", "GET", f"/media/{first}").status_code == 200


def test_grantees_never_curate_and_edit_only_with_edit(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], vault: Vault, photos: list[str]
) -> None:
    album_id = new_album(vault)["album_id"]
    assert add(vault, album_id, photos[:2]).status_code == 200
    bobs_photo = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], vault.tokens["bob"])
    viewer = share_album(vault, album_id, user("bob"), ["view"])
    version = body(vault.call("bob", "GET", f"/albums/{album_id}"))["version"]
    # a viewer may not edit, move, curate, share or delete
    assert_error(vault.call("bob", "PATCH", f"/albums/{album_id}", {"version": version, "title": "mine"}), 404)
    move = {"after": None, "version": version}
    assert_error(vault.call("bob", "PATCH", f"/albums/{album_id}/items/{photos[1]}", move), 404)
    assert_error(add(vault, album_id, [bobs_photo], who="bob"), 404, "not_found")
    assert_error(vault.call("bob", "DELETE", f"/albums/{album_id}/items/{photos[0]}"), 404)
    assert_error(vault.call("bob", "DELETE", f"/albums/{album_id}"), 404)
    share = {"grantee": user("gina"), "permissions": ["view"]}
    assert_error(vault.call("bob", "POST", f"/albums/{album_id}/shares", share), 404)
    # with edit he may retitle and reorder, but still never put his own media in her album
    assert vault.call("alice", "PATCH", f"/shares/{viewer}", {"permissions": ["view", "edit"]}).status_code == 200
    edited = vault.call("bob", "PATCH", f"/albums/{album_id}", {"version": version, "title": "Ours"})
    assert edited.status_code == 200, edited.body
    move = {"after": None, "version": body(edited)["version"]}
    assert vault.call("bob", "PATCH", f"/albums/{album_id}/items/{photos[1]}", move).status_code == 200
    assert order(vault, "alice", album_id) == [photos[1], photos[0]]
    assert_error(add(vault, album_id, [bobs_photo], who="bob"), 404, "not_found")
    assert_error(add(vault, album_id, [bobs_photo]), 404, "not_found")  # alice cannot add bob's item either
    assert vault.call("bob", "GET", f"/media/{bobs_photo}").status_code == 200


def test_an_org_grant_on_an_album_reaches_that_orgs_partners_only(vault: Vault, photos: list[str]) -> None:
    album_id = new_album(vault)["album_id"]
    assert add(vault, album_id, photos[:1]).status_code == 200
    share_album(vault, album_id, org("acme"), ["view", "download"])
    assert vault.call("pat", "GET", f"/albums/{album_id}").status_code == 200
    assert vault.call("pat", "GET", f"/media/{photos[0]}/download").status_code == 200
    assert [e["album"]["album_id"] for e in body(vault.call("pat", "GET", "/partner/media"))["items"]] == [album_id]
    for outsider in ("gina", "bob"):
        assert vault.call(outsider, "GET", f"/albums/{album_id}").status_code == 404
        assert vault.call(outsider, "GET", f"/media/{photos[0]}").status_code == 404


def test_a_flagged_item_in_a_shared_album_is_hidden_from_its_grantees(vault: Vault, photos: list[str]) -> None:
    album_id = new_album(vault)["album_id"]
    assert add(vault, album_id, photos[:2]).status_code == 200
    version = body(vault.call("alice", "GET", f"/albums/{album_id}"))["version"]
    cover = {"version": version, "cover_media_id": photos[0]}
    assert vault.call("alice", "PATCH", f"/albums/{album_id}", cover).status_code == 200
    share_album(vault, album_id, user("bob"), ["view"])
    MediaModel.get(photos[0]).update(actions=[MediaModel.flagged.set(True)])
    assert order(vault, "bob", album_id) == [photos[1]]
    assert vault.call("bob", "GET", f"/media/{photos[0]}").status_code == 404
    assert body(vault.call("bob", "GET", f"/albums/{album_id}"))["cover"] is None
    assert order(vault, "alice", album_id) == photos[:2]


def test_deleting_an_album_keeps_its_media_and_removes_its_grants(vault: Vault, photos: list[str]) -> None:
    album_id = new_album(vault)["album_id"]
    assert add(vault, album_id, photos[:2]).status_code == 200
    share_album(vault, album_id, user("bob"), ["view"])
    assert vault.call("alice", "DELETE", f"/albums/{album_id}").status_code == 204
    assert vault.call("alice", "GET", f"/albums/{album_id}").status_code == 404
    assert vault.call("alice", "GET", f"/media/{photos[0]}").status_code == 200
    assert vault.call("bob", "GET", f"/media/{photos[0]}").status_code == 404
    assert body(vault.call("alice", "GET", "/shares/outgoing"))["items"] == []
    assert MediaModel.get(photos[0]).album_ids is None


def test_purging_an_item_takes_it_out_of_its_albums(vault: Vault, photos: list[str]) -> None:
    album_id = new_album(vault)["album_id"]
    assert add(vault, album_id, photos[:2]).status_code == 200
    assert vault.call("alice", "DELETE", f"/media/{photos[0]}").status_code == 204
    assert vault.call("alice", "DELETE", f"/trash/{photos[0]}").status_code == 204
    assert body(vault.call("alice", "GET", f"/albums/{album_id}"))["item_count"] == 1
    assert order(vault, "alice", album_id) == [photos[1]]


def test_my_albums_page_newest_first(vault: Vault) -> None:
    made = [new_album(vault, title=f"album {n}")["album_id"] for n in range(3)]
    new_album(vault, who="bob")
    first = body(vault.call("alice", "GET", "/albums?limit=2"))
    assert [a["album_id"] for a in first["items"]] == made[:0:-1]
    rest = body(vault.call("alice", "GET", f"/albums?limit=2&cursor={first['next_cursor']}"))
    assert [a["album_id"] for a in rest["items"]] == made[:1]
    assert_error(vault.call("bob", "GET", f"/albums?limit=2&cursor={first['next_cursor']}"), 400)


def test_bad_input_answers_4xx_json(api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], vault: Vault) -> None:
    photo = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], vault.tokens["alice"])
    loose = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], vault.tokens["alice"])
    bobs = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], vault.tokens["bob"])
    assert_error(vault.call("alice", "POST", "/albums", {"title": "  "}), 400, "validation_error")
    assert_error(vault.call("alice", "POST", "/albums", {"title": "x", "owner_id": "bob"}), 400, "validation_error")
    assert_error(vault.call(None, "POST", "/albums", {"title": "x"}), 401, "unauthorized")
    assert_error(vault.call(None, "GET", "/albums"), 401, "unauthorized")
    album_id = new_album(vault)["album_id"]
    assert_error(vault.call("alice", "GET", "/albums/not-an-id"), 404, "not_found")
    assert_error(add(vault, album_id, []), 400, "validation_error")
    assert_error(add(vault, album_id, ["nope"]), 400, "validation_error")
    assert_error(add(vault, album_id, [photo, bobs]), 404, "not_found")
    assert body(vault.call("alice", "GET", f"/albums/{album_id}"))["item_count"] == 0  # nothing half-added
    version = body(add(vault, album_id, [photo]))["version"]
    edit = {"version": version, "cover_media_id": loose}
    assert_error(vault.call("alice", "PATCH", f"/albums/{album_id}", edit), 400, "validation_error")
    assert_error(vault.call("alice", "PATCH", f"/albums/{album_id}", {"version": version}), 400)
    assert_error(vault.call("alice", "PATCH", f"/albums/{album_id}", {"version": version, "title": None}), 400)
    assert_error(vault.call("alice", "PATCH", f"/albums/{album_id}", {"version": version - 1, "title": "y"}), 409)
    move = {"after": photo, "version": version}
    assert_error(vault.call("alice", "PATCH", f"/albums/{album_id}/items/{photo}", move), 400, "validation_error")
    move = {"after": None, "version": version}
    assert_error(vault.call("alice", "PATCH", f"/albums/{album_id}/items/{loose}", move), 404, "not_found")
    assert_error(vault.call("alice", "DELETE", f"/albums/{album_id}/items/{loose}"), 404, "not_found")
    assert_error(vault.call("alice", "GET", f"/albums/{album_id}/items?cursor=forged"), 400, "validation_error")
