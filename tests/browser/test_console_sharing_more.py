"""More sharing in the web console: several items shared at once, a share edited, an album shared with me.

GIVEN a local stack serving the built console, WHEN alice shares two selected library items with bob in one go,
edits a share from My shares, or shares an album with bob, THEN bob's "Shared with me" shows what the API granted
(both items, the download the edit added, the album and its items, read-only), and a refused edit shows the
API's own message.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from infra.local.stack import DevStack
from tests.browser.conftest import TIMEOUT_MS, screenshot_path, sign_in
from tests.support.http import ApiSession
from tests.support.images import jpeg_bytes

# The machine is slow: processing and the first page loads get time.
PROCESSING_TIMEOUT_S = 120.0


@pytest.fixture
def bob_page(browser: Any, stack: DevStack) -> Iterator[Any]:
    """A second person at another browser: bob, signed in."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS * 2)
    page = context.new_page()
    sign_in(page, stack, "bob")
    yield page
    context.close()


def _ready_photo(api: ApiSession, width: int, height: int, name: str, title: str = "") -> dict[str, Any]:
    """Upload a distinct photo of alice's and wait until it is processed (optionally titled); the item."""
    media_id, stored = api.upload(jpeg_bytes(width, height, quality=71), filename=name)
    assert stored.ok, stored.text
    item = api.wait_for_status(media_id, {"ready", "failed", "rejected"}, PROCESSING_TIMEOUT_S)
    assert item["status"] == "ready", item
    if title:
        edited = api.call("PATCH", f"/media/{media_id}", {"version": item["version"], "title": title})
        assert edited.ok, edited.text
        item = edited.json()
    return dict(item)


def _share(api: ApiSession, path: str, permissions: list[str]) -> dict[str, Any]:
    shared = api.call("POST", path, {"grantee": {"type": "user", "username": "bob"}, "permissions": permissions})
    assert shared.status_code == 201, shared.text
    return dict(shared.json())


def _open_shared_with_me(page: Any, stack: DevStack) -> None:
    """Open (or, when it is open, reopen: the same hash loads nothing) Shared with me."""
    if page.url.endswith("#/shared"):
        page.get_by_role("navigation").get_by_role("link", name="My shares").click()
        page.get_by_role("heading", name="My shares").wait_for()
    page.goto(f"{stack.web_url}/#/shared")
    page.get_by_role("heading", name="Shared with me").wait_for()


def test_alice_shares_two_selected_items_with_bob_at_once_and_both_reach_him(
    page: Any, bob_page: Any, stack: DevStack, alice_api: ApiSession, bob_api: ApiSession
) -> None:
    # GIVEN two ready photos in alice's library
    run = uuid.uuid4().hex[:6]
    first = _ready_photo(alice_api, 641, 482, f"ferry-{run}.jpg")
    second = _ready_photo(alice_api, 642, 483, f"gull-{run}.jpg")
    page.set_default_timeout(TIMEOUT_MS * 2)
    sign_in(page, stack)
    for item in (first, second):
        page.locator(f".card[data-media-id='{item['media_id']}']").wait_for()

    # WHEN she selects both and opens Share…
    for item in (first, second):
        tile = page.locator(f"[data-media-id='{item['media_id']}']")
        tile.get_by_role("checkbox", name=f"Select {item['filename']}").check()
    page.get_by_text("2 selected.").wait_for()
    page.get_by_role("button", name="Share…").click()
    dialog = page.get_by_role("dialog", name="Share 2 items")
    dialog.wait_for()

    # THEN a link is not offered for several items, and the dialog says why and what to do instead
    assert dialog.get_by_label("Anyone with a link").is_disabled()
    note = dialog.locator(".share-link-note")
    assert "A link shares one item or one album" in note.inner_text()
    assert "album" in note.inner_text()
    page.screenshot(path=str(screenshot_path("sharing-many-dialog")), full_page=True)

    # WHEN she shares them with bob, view and download
    dialog.get_by_label("Username or email").fill("bob")
    dialog.get_by_label("Download").check()
    dialog.get_by_role("button", name="Share 2 items").click()

    # THEN the dialog counts two shares, one per item
    dialog.get_by_text("Shared 2 items with bob.").wait_for()
    assert dialog.locator(".share-outcomes li.shared-ok").count() == 2
    page.screenshot(path=str(screenshot_path("sharing-many-done")), full_page=True)
    for item in (first, second):
        grants = alice_api.call("GET", f"/media/{item['media_id']}/shares").json()["items"]
        assert [(g["grantee"]["name"], g["permissions"]) for g in grants] == [("bob", ["download", "view"])]

    # WHEN she shares them with someone unknown, THEN each refusal quotes the API's message
    expected = alice_api.call(
        "POST",
        f"/media/{first['media_id']}/shares",
        {"grantee": {"type": "user", "username": "nobody-here"}, "permissions": ["view"]},
    )
    assert expected.status_code == 404
    dialog.get_by_label("Username or email").fill("nobody-here")
    dialog.get_by_role("button", name="Share 2 items").click()
    alert = dialog.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text().startswith("Nothing was shared.")
    assert expected.json()["message"] in alert.inner_text()
    assert dialog.locator(".share-outcomes li.shared-failed").count() == 2
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    # AND signed in as bob, both appear under Shared with me, each with its Download
    _open_shared_with_me(bob_page, stack)
    for item in (first, second):
        card = bob_page.locator(f".card.shared[data-media-id='{item['media_id']}']")
        card.wait_for()
        assert "From alice" in card.inner_text()
        card.get_by_role("button", name=f"Download {item['filename']}").wait_for()
    bob_page.screenshot(path=str(screenshot_path("sharing-many-bob-shared-with-me")), full_page=True)


def test_alice_edits_a_share_in_my_shares_to_allow_download_and_bob_gets_the_download(
    page: Any, bob_page: Any, stack: DevStack, alice_api: ApiSession
) -> None:
    # GIVEN a photo alice shared with bob to view only
    run = uuid.uuid4().hex[:6]
    item = _ready_photo(alice_api, 643, 484, f"lock-{run}.jpg", title=f"Canal lock {run}")
    title = item["title"]
    share = _share(alice_api, f"/media/{item['media_id']}/shares", ["view"])
    _open_shared_with_me(bob_page, stack)
    card = bob_page.locator(f".card.shared[data-media-id='{item['media_id']}']")
    card.wait_for()
    assert card.get_by_role("button", name=f"Download {title}").count() == 0

    # WHEN alice edits it in My shares: download allowed, an expiry a month away
    page.set_default_timeout(TIMEOUT_MS * 2)
    sign_in(page, stack)
    page.get_by_role("navigation").get_by_role("link", name="My shares").click()
    page.get_by_role("heading", name="My shares").wait_for()
    row = page.locator(f".grant[data-share-id='{share['share_id']}']")
    row.wait_for()
    row.get_by_role("button", name=f"Edit share of {title} with bob").click()
    dialog = page.get_by_role("dialog", name=f"Edit share of {title} with bob")
    dialog.wait_for()
    assert dialog.get_by_label("View").is_checked() and dialog.get_by_label("View").is_disabled()
    dialog.get_by_label("Download").check()
    until = date.today() + timedelta(days=30)
    dialog.get_by_label("Expires after").fill(until.isoformat())
    page.screenshot(path=str(screenshot_path("sharing-edit-dialog")), full_page=True)
    dialog.get_by_role("button", name="Save changes").click()

    # THEN the row shows the new terms, as the API has them
    dialog.wait_for(state="hidden")
    page.get_by_text(f"Share of {title} with bob updated").wait_for()
    row = page.locator(f".grant[data-share-id='{share['share_id']}']")
    assert "View, Download" in row.inner_text()
    assert "Expires" in row.inner_text()
    granted = alice_api.call("GET", f"/media/{item['media_id']}/shares").json()["items"]
    assert granted[0]["permissions"] == ["download", "view"]
    assert granted[0]["expires_at"][:10] in (until.isoformat(), (until + timedelta(days=1)).isoformat())
    page.screenshot(path=str(screenshot_path("sharing-edit-saved")), full_page=True)

    # AND bob, on his next visit, has the download
    _open_shared_with_me(bob_page, stack)
    card = bob_page.locator(f".card.shared[data-media-id='{item['media_id']}']")
    card.get_by_role("button", name=f"Download {title}").wait_for()
    assert "View, Download" in card.inner_text()
    bob_page.screenshot(path=str(screenshot_path("sharing-edit-bob-download")), full_page=True)

    # WHEN alice picks a day in the past, THEN the dialog shows the API's message and keeps the share as it was
    past = date.today() - timedelta(days=3)
    refused = alice_api.call("PATCH", f"/shares/{share['share_id']}", {"expires_at": f"{past.isoformat()}T12:00:00Z"})
    assert 400 <= refused.status_code < 500, refused.text
    row.get_by_role("button", name=f"Edit share of {title} with bob").click()
    dialog = page.get_by_role("dialog", name=f"Edit share of {title} with bob")
    dialog.get_by_label("Expires after").fill(past.isoformat())
    dialog.get_by_role("button", name="Save changes").click()
    alert = dialog.get_by_role("alert")
    alert.wait_for()
    assert refused.json()["message"] in alert.inner_text()
    assert dialog.is_visible(), "a refused edit leaves the dialog open to correct"
    page.screenshot(path=str(screenshot_path("sharing-edit-refused")), full_page=True)
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    again = alice_api.call("GET", f"/media/{item['media_id']}/shares").json()["items"]
    assert again[0]["expires_at"] == granted[0]["expires_at"]


def test_bob_opens_an_album_alice_shared_and_sees_its_items_read_only(
    page: Any, stack: DevStack, alice_api: ApiSession, bob_api: ApiSession
) -> None:
    # GIVEN an album of two of alice's photos, shared with bob to view
    run = uuid.uuid4().hex[:6]
    first = _ready_photo(alice_api, 644, 485, f"moor-{run}.jpg", title=f"Moor {run}")
    second = _ready_photo(alice_api, 645, 486, f"tor-{run}.jpg", title=f"Tor {run}")
    album = alice_api.call("POST", "/albums", {"title": f"Dartmoor {run}", "description": "Two days of walking"})
    assert album.status_code == 201, album.text
    album_id = album.json()["album_id"]
    added = alice_api.call("POST", f"/albums/{album_id}/items", {"media_ids": [first["media_id"], second["media_id"]]})
    assert added.ok, added.text
    _share(alice_api, f"/albums/{album_id}/shares", ["view"])
    order = [m["media_id"] for m in bob_api.call("GET", f"/albums/{album_id}/items").json()["items"]]
    assert sorted(order) == sorted([first["media_id"], second["media_id"]])

    # WHEN bob opens it from Shared with me
    page.set_default_timeout(TIMEOUT_MS * 2)
    sign_in(page, stack, "bob")
    _open_shared_with_me(page, stack)
    card = page.locator(f".card.shared.album[data-album-id='{album_id}']")
    card.wait_for()
    page.screenshot(path=str(screenshot_path("sharing-album-card")), full_page=True)
    card.get_by_role("link").click()

    # THEN the album shows its items in order, and nothing to change
    page.get_by_role("heading", name=f"Dartmoor {run}").wait_for()
    assert page.url.endswith(f"#/shared/albums/{album_id}")
    page.get_by_text("Two days of walking").wait_for()
    items = page.locator(".album-item")
    items.nth(1).wait_for()
    assert [items.nth(i).get_attribute("data-media-id") for i in range(items.count())] == order
    for label in ("Share", "Delete album", "Add from the library", "Save album"):
        assert page.get_by_role("button", name=label, exact=True).count() == 0, label
    assert page.get_by_role("button", name=f"Remove Moor {run}").count() == 0
    page.screenshot(path=str(screenshot_path("sharing-album-read-only")), full_page=True)

    # WHEN he opens an item, THEN its item page shows it, shared by alice through the album
    page.get_by_role("link", name=f"Tor {run}").click()
    page.get_by_role("heading", name=f"Tor {run}").wait_for()
    assert page.url.endswith(f"#/shared/media/{second['media_id']}")
    page.get_by_text("alice").first.wait_for()
    assert page.get_by_role("alert").count() == 0
    page.screenshot(path=str(screenshot_path("sharing-album-item")), full_page=True)
