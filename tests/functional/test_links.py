"""Share links over HTTP: made by the owner, opened anonymously with nothing but the token (and its password)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.dynamo.grants import ShareModel
from shared.adapters.dynamo.media_model import MediaModel
from shared.domain.link_secrets import token_hash
from tests.functional.conftest import ApiClient
from tests.functional.flows import ready_item
from tests.functional.test_api import assert_error
from tests.functional.test_sharing import Vault, expire, user
from tests.support.tokens import TokenFactory

LINK = {"type": "link"}
UNKNOWN_TOKEN = "A" * 43
NOT_FOUND = {"code": "not_found", "message": "link not found"}


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


def anonymous(api: ApiClient, path: str, password: str | None = None) -> Any:
    """A request with no Authorization header (a password header if given)."""
    headers = {"X-Link-Password": password} if password is not None else {}
    return api.request("GET", path, headers=headers, body=b"")


@pytest.fixture
def vault(api: ApiClient, tokens: TokenFactory) -> Vault:
    return Vault(api, tokens)


@pytest.fixture
def photo(api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], vault: Vault) -> str:
    return ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], vault.tokens["alice"])


def make_link(vault: Vault, media_id: str, permissions: list[str], **terms: Any) -> dict[str, Any]:
    response = vault.share("alice", media_id, LINK, permissions, **terms)
    assert response.status_code == 201, response.body
    created: dict[str, Any] = body(response)
    return created


def assert_missing(response: Any) -> None:
    assert response.status_code == 404, response.body
    assert body(response) == NOT_FOUND
    assert response.headers["Cache-Control"] == "no-store"


def test_a_link_opens_anonymously_and_its_token_is_shown_once(api: ApiClient, vault: Vault, photo: str) -> None:
    # GIVEN alice makes a view-only link to her photo
    created = make_link(vault, photo, ["view"])
    token = created["token"]
    assert created["url"].endswith(f"/links/{token}")
    assert created["grantee"]["type"] == "link"
    assert created["link"] == {"password_protected": False, "max_uses": None, "uses": 0, "views": 0, "downloads": 0}
    # WHEN anyone opens it, with no Authorization header
    opened = anonymous(api, f"/links/{token}")
    # THEN the item's public fields with rendition URLs, never the owner, location or moderation
    assert opened.status_code == 200, opened.body
    assert opened.headers["Cache-Control"] == "no-store"
    shown = body(opened)
    assert shown["type"] == "media" and shown["download_allowed"] is False
    media = shown["media"]
    assert media["media_id"] == photo and media["kind"] == "image"
    assert media["renditions"] and all(r["url"].startswith("http") for r in media["renditions"].values())
    assert not {"owner_id", "location", "metadata", "moderation", "flagged", "filename"} & set(media)
    # and the download is refused like an unknown link
    assert_missing(anonymous(api, f"/links/{token}/download"))
    # the token is never shown again; the owner sees the counters
    listed = body(vault.call("alice", "GET", f"/media/{photo}/shares"))["items"]
    assert [(s["share_id"], s["token"], s["url"]) for s in listed] == [(created["share_id"], None, None)]
    assert listed[0]["link"]["views"] == 1 and listed[0]["link"]["uses"] == 1
    assert token not in json.dumps(body(vault.call("alice", "GET", "/shares/outgoing")))


def test_a_download_link_hands_out_the_original_and_counts_it(api: ApiClient, vault: Vault, photo: str) -> None:
    token = make_link(vault, photo, ["view", "download"])["token"]
    assert body(anonymous(api, f"/links/{token}"))["download_allowed"] is True
    download = anonymous(api, f"/links/{token}/download")
    assert download.status_code == 200, download.body
    assert download.headers["Cache-Control"] == "no-store"
    assert body(download)["url"].startswith("http") and body(download)["filename"]
    stats = body(vault.call("alice", "GET", f"/media/{photo}/shares"))["items"][0]["link"]
    assert (stats["uses"], stats["views"], stats["downloads"]) == (2, 1, 1)


def test_a_protected_link_needs_its_password_and_wrong_ones_look_like_unknown_links(
    api: ApiClient, vault: Vault, photo: str
) -> None:
    created = make_link(vault, photo, ["view"], password="open sesame")
    token = created["token"]
    assert created["link"]["password_protected"] is True
    assert "password" not in json.dumps(created).replace("password_protected", "")
    missing = anonymous(api, f"/links/{token}")
    assert_error(missing, 401, "password_required")
    assert_missing(anonymous(api, f"/links/{token}", password="open says me"))
    assert anonymous(api, f"/links/{token}", password="open sesame").status_code == 200


def test_the_sixth_wrong_password_in_the_window_is_throttled_for_that_link_only(
    api: ApiClient, vault: Vault, photo: str
) -> None:
    locked = make_link(vault, photo, ["view"], password="open sesame")["token"]
    other = make_link(vault, photo, ["download"], password="another one")["token"]
    for _ in range(5):
        assert_missing(anonymous(api, f"/links/{locked}", password="guess-guess"))
    throttled = anonymous(api, f"/links/{locked}", password="open sesame")  # even the right one, until it ends
    assert_error(throttled, 429, "too_many_attempts")
    assert 0 < int(throttled.headers["Retry-After"]) <= 600
    assert throttled.headers["Cache-Control"] == "no-store"
    assert anonymous(api, f"/links/{other}", password="another one").status_code == 200


def test_unknown_wrong_password_revoked_expired_and_used_up_links_answer_the_same_bytes(
    api: ApiClient, vault: Vault, photo: str
) -> None:
    protected = make_link(vault, photo, ["view"], password="open sesame")["token"]
    revoked = make_link(vault, photo, ["view"])
    expiring = make_link(vault, photo, ["view"])
    once = make_link(vault, photo, ["view"], max_uses=1)["token"]
    assert anonymous(api, f"/links/{revoked['token']}").status_code == 200
    assert anonymous(api, f"/links/{expiring['token']}").status_code == 200
    assert anonymous(api, f"/links/{once}").status_code == 200
    # WHEN one is revoked and one expires: the very next request fails
    assert vault.call("alice", "DELETE", f"/shares/{revoked['share_id']}").status_code == 204
    expire(expiring["share_id"])
    answers = [
        anonymous(api, f"/links/{UNKNOWN_TOKEN}"),
        anonymous(api, f"/links/{UNKNOWN_TOKEN}", password="open sesame"),
        anonymous(api, "/links/not-a-token"),
        anonymous(api, f"/links/{protected}", password="wrong password"),
        anonymous(api, f"/links/{revoked['token']}"),
        anonymous(api, f"/links/{expiring['token']}"),
        anonymous(api, f"/links/{once}"),
        anonymous(api, f"/links/{once}/download"),
    ]
    for answer in answers:
        assert_missing(answer)
    assert len({answer.body for answer in answers}) == 1


@pytest.mark.parametrize("moderated", ["flagged", "rejected", "trashed"])
def test_flagged_rejected_or_trashed_items_are_never_served_through_a_link(
    api: ApiClient, vault: Vault, photo: str, moderated: str
) -> None:
    token = make_link(vault, photo, ["view", "download"])["token"]
    record = MediaModel.get(photo)
    if moderated == "flagged":
        record.update(actions=[MediaModel.flagged.set(True)])
    elif moderated == "rejected":
        record.update(actions=[MediaModel.status.set("rejected")])
    else:
        assert vault.call("alice", "DELETE", f"/media/{photo}").status_code == 204
    assert_missing(anonymous(api, f"/links/{token}"))
    assert_missing(anonymous(api, f"/links/{token}/download"))
    assert body(vault.call("alice", "GET", f"/media/{photo}/shares"))["items"][0]["link"]["uses"] == 0


def test_links_allow_view_and_download_only_and_only_a_sharer_makes_them(
    api: ApiClient, vault: Vault, photo: str
) -> None:
    for permissions in (["edit"], ["view", "reshare"]):
        assert_error(vault.share("alice", photo, LINK, permissions), 400, "validation_error")
    assert_error(vault.share("alice", photo, user("bob"), ["view"], password="open sesame"), 400)
    assert_error(vault.share("alice", photo, user("bob"), ["view"], max_uses=3), 400)
    assert_error(vault.share("alice", photo, LINK, ["view"], password="short"), 400)
    assert_error(vault.share("alice", photo, LINK, ["view"], max_uses=0), 400)
    link = make_link(vault, photo, ["view"])
    assert_error(vault.call("alice", "PATCH", f"/shares/{link['share_id']}", {"permissions": ["edit"]}), 400)
    # bob may only view: he cannot make a link (the item reads as missing to him)
    vault.grant("alice", photo, user("bob"), ["view", "download"])
    assert_error(vault.share("bob", photo, LINK, ["view"]), 404, "not_found")
    # a holder of reshare may, and the link ends with his grant
    gina = vault.grant("alice", photo, user("gina"), ["view", "reshare"])
    reshared = vault.share("gina", photo, LINK, ["view"])
    assert reshared.status_code == 201, reshared.body
    assert anonymous(api, f"/links/{body(reshared)['token']}").status_code == 200
    assert vault.call("alice", "DELETE", f"/shares/{gina}").status_code == 204
    listed = {s["share_id"] for s in body(vault.call("alice", "GET", f"/media/{photo}/shares"))["items"]}
    assert body(reshared)["share_id"] not in listed and link["share_id"] in listed
    assert_missing(anonymous(api, f"/links/{body(reshared)['token']}"))
    assert ShareModel.count(f"token#{token_hash(body(reshared)['token'])}") == 0


def test_an_expiry_in_the_past_is_refused_and_a_future_one_is_kept(vault: Vault, photo: str) -> None:
    past = vault.share("alice", photo, LINK, ["view"], expires_at="2020-01-01T00:00:00Z")
    assert_error(past, 400, "validation_error")
    soon = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    created = make_link(vault, photo, ["view"], expires_at=soon.isoformat())
    assert datetime.fromisoformat(created["expires_at"]) == soon


def test_an_album_link_shows_the_album_and_the_items_it_may_serve(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], vault: Vault, photo: str
) -> None:
    # GIVEN an album of two photos, one of them flagged
    flagged = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], vault.tokens["alice"])
    MediaModel.get(flagged).update(actions=[MediaModel.flagged.set(True)])
    album = vault.call("alice", "POST", "/albums", {"title": "Holidays"})
    assert album.status_code == 201, album.body
    album_id = body(album)["album_id"]
    added = vault.call("alice", "POST", f"/albums/{album_id}/items", {"media_ids": [photo, flagged]})
    assert added.status_code == 200, added.body
    # WHEN alice makes a link to the album and anyone opens it
    created = vault.call("alice", "POST", f"/albums/{album_id}/shares", {"grantee": LINK, "permissions": ["view"]})
    assert created.status_code == 201, created.body
    opened = anonymous(api, f"/links/{body(created)['token']}")
    # THEN the album and only the item the item rules let a grantee see
    assert opened.status_code == 200, opened.body
    shown = body(opened)
    assert shown["type"] == "album" and shown["album"]["title"] == "Holidays"
    assert [item["media_id"] for item in shown["album"]["items"]] == [photo]
    assert_missing(anonymous(api, f"/links/{body(created)['token']}/download"))


def make_album_link(vault: Vault, media_ids: list[str], permissions: list[str], **terms: Any) -> dict[str, Any]:
    """A link to a new album of alice's holding media_ids (the album's id under `album_id`)."""
    album = vault.call("alice", "POST", "/albums", {"title": "Holidays"})
    assert album.status_code == 201, album.body
    album_id = body(album)["album_id"]
    added = vault.call("alice", "POST", f"/albums/{album_id}/items", {"media_ids": media_ids})
    assert added.status_code == 200, added.body
    grant = {"grantee": LINK, "permissions": permissions, **terms}
    created = vault.call("alice", "POST", f"/albums/{album_id}/shares", grant)
    assert created.status_code == 201, created.body
    return {**body(created), "album_id": album_id}


def album_link_stats(vault: Vault, album_id: str) -> tuple[int, int, int]:
    stats = body(vault.call("alice", "GET", f"/albums/{album_id}/shares"))["items"][0]["link"]
    return stats["uses"], stats["views"], stats["downloads"]


def test_an_album_download_link_hands_out_an_items_original_and_counts_it(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], vault: Vault, photo: str
) -> None:
    # GIVEN a view+download link to an album holding alice's photo (and another photo of hers outside it)
    loose = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], vault.tokens["alice"])
    created = make_album_link(vault, [photo], ["view", "download"])
    token = created["token"]
    assert body(anonymous(api, f"/links/{token}"))["download_allowed"] is True
    # WHEN anyone asks for the photo's original through the link
    download = anonymous(api, f"/links/{token}/items/{photo}/download")
    # THEN a short-lived URL of it, never cached, counted as the link's download
    assert download.status_code == 200, download.body
    assert download.headers["Cache-Control"] == "no-store"
    assert body(download)["url"].startswith("http") and body(download)["filename"]
    assert album_link_stats(vault, created["album_id"]) == (2, 1, 1)
    # AND an item outside the album, or taken out of it, answers like an unknown link (and counts nothing)
    assert_missing(anonymous(api, f"/links/{token}/items/{loose}/download"))
    assert_missing(anonymous(api, f"/links/{token}/items/{'0' * 32}/download"))
    assert vault.call("alice", "DELETE", f"/albums/{created['album_id']}/items/{photo}").status_code == 204
    assert_missing(anonymous(api, f"/links/{token}/items/{photo}/download"))
    assert album_link_stats(vault, created["album_id"]) == (2, 1, 1)


@pytest.mark.parametrize("moderated", ["flagged", "rejected", "trashed"])
def test_an_album_link_never_serves_a_flagged_rejected_or_trashed_items_original(
    api: ApiClient, vault: Vault, photo: str, moderated: str
) -> None:
    token = make_album_link(vault, [photo], ["view", "download"])["token"]
    record = MediaModel.get(photo)
    if moderated == "flagged":
        record.update(actions=[MediaModel.flagged.set(True)])
    elif moderated == "rejected":
        record.update(actions=[MediaModel.status.set("rejected")])
    else:
        assert vault.call("alice", "DELETE", f"/media/{photo}").status_code == 204
    assert_missing(anonymous(api, f"/links/{token}/items/{photo}/download"))


def test_an_album_link_without_download_and_an_item_link_serve_no_item_through_the_album_route(
    api: ApiClient, vault: Vault, photo: str
) -> None:
    view_only = make_album_link(vault, [photo], ["view"])["token"]
    assert body(anonymous(api, f"/links/{view_only}"))["download_allowed"] is False
    assert_missing(anonymous(api, f"/links/{view_only}/items/{photo}/download"))
    # an item link downloads through its own route only, even for the very item it shares
    item_link = make_link(vault, photo, ["view", "download"])["token"]
    assert_missing(anonymous(api, f"/links/{item_link}/items/{photo}/download"))
    assert anonymous(api, f"/links/{item_link}/download").status_code == 200


def test_an_album_links_item_download_takes_the_links_password_and_its_throttle(
    api: ApiClient, vault: Vault, photo: str
) -> None:
    token = make_album_link(vault, [photo], ["view", "download"], password="open sesame")["token"]
    path = f"/links/{token}/items/{photo}/download"
    assert_error(anonymous(api, path), 401, "password_required")
    assert anonymous(api, path, password="open sesame").status_code == 200
    wrong = anonymous(api, path, password="open says me")
    unknown = anonymous(api, f"/links/{UNKNOWN_TOKEN}/items/{photo}/download", password="open sesame")
    for answer in (wrong, unknown):
        assert_missing(answer)
    assert wrong.body == unknown.body == anonymous(api, f"/links/{UNKNOWN_TOKEN}").body
    for _ in range(4):
        assert_missing(anonymous(api, path, password="guess-guess"))
    throttled = anonymous(api, path, password="open sesame")
    assert_error(throttled, 429, "too_many_attempts")
    assert 0 < int(throttled.headers["Retry-After"]) <= 600
    assert throttled.headers["Cache-Control"] == "no-store"


def test_an_album_links_open_and_item_download_show_in_the_owners_feed(
    api: ApiClient, vault: Vault, photo: str
) -> None:
    created = make_album_link(vault, [photo], ["view", "download"])
    token, holder = created["token"], f"link:{created['share_id']}"
    assert anonymous(api, f"/links/{token}").status_code == 200
    assert anonymous(api, f"/links/{token}/items/{photo}/download").status_code == 200
    feed = body(vault.call("alice", "GET", "/me/audit"))["entries"]
    assert [(e["actor"], e["actor_role"], e["action"], e["resource"]) for e in feed] == [
        (holder, "link", "link.items.download", f"media#{photo}"),
        (holder, "link", "link.open", f"media#{photo}"),
    ]
    assert token not in json.dumps(feed)
