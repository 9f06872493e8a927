"""Sharing in the web console: the share dialog, My shares, albums, the public link page, notifications.

GIVEN a local stack serving the built console, WHEN alice shares through the console (with a person, a password
link, an album link) and bob reads his notifications, THEN each page shows what the API says, including its
error messages, and a link holder needs no account.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.local.stack import DevStack
from tests.browser.conftest import TIMEOUT_MS, screenshot_path, sign_in
from tests.support.http import ApiSession
from tests.support.images import jpeg_bytes

NOTIFIER_TIMEOUT_S = 30.0
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def anonymous_page(browser: Any) -> Iterator[Any]:
    """A page of a fresh context that never signed in, phone-sized."""
    context = browser.new_context(viewport=PHONE, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def _ready_photo(api: ApiSession, width: int, height: int, name: str, title: str = "") -> tuple[str, bytes]:
    """Upload a distinct photo of alice's, wait until processed, optionally title it; (media_id, original)."""
    original = jpeg_bytes(width, height, quality=77)
    media_id, stored = api.upload(original, filename=name)
    assert stored.ok, stored.text
    item = api.wait_for_status(media_id, {"ready", "failed", "rejected"})
    assert item["status"] == "ready", item
    if title:
        assert api.call("PATCH", f"/media/{media_id}", {"version": item["version"], "title": title}).ok
    return media_id, original


def _open_share_dialog(page: Any, stack: DevStack, media_id: str, name: str) -> Any:
    page.goto(f"{stack.web_url}/#/media/{media_id}")
    page.get_by_role("heading", name=name).wait_for()
    page.get_by_role("button", name="Share", exact=True).click()
    dialog = page.get_by_role("dialog", name=f"Share {name}")
    dialog.wait_for()
    return dialog


def _wait_for_notification(api: ApiSession, share_id: str) -> dict[str, Any]:
    """Until the notifier (a worker on the notifications queue) has recorded the share for the grantee."""
    deadline = time.monotonic() + NOTIFIER_TIMEOUT_S
    while True:
        listing = api.call("GET", "/notifications?limit=100")
        assert listing.ok, listing.text
        found = [n for n in listing.json()["items"] if n["share_id"] == share_id and n["kind"] == "share.granted"]
        if found:
            return dict(found[0])
        assert time.monotonic() < deadline, f"no notification for share {share_id} after {NOTIFIER_TIMEOUT_S} s"
        time.sleep(0.1)


def _loaded(page: Any, image: Any) -> None:
    image.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())


def test_alice_shares_a_photo_with_bob_in_the_dialog_and_revokes_it_from_my_shares(
    page: Any, stack: DevStack, alice_api: ApiSession, bob_api: ApiSession
) -> None:
    media_id, _ = _ready_photo(alice_api, 812, 609, "quay.jpg")
    sign_in(page, stack)

    # WHEN she shares it with bob (view and download) in the item page's dialog
    dialog = _open_share_dialog(page, stack, media_id, "quay.jpg")
    assert dialog.get_by_label("A person").is_checked()
    dialog.get_by_label("Username or email").fill("bob")
    dialog.get_by_label("Download").check()
    until = date.today() + timedelta(days=30)
    dialog.get_by_label("Expires after (optional)").fill(until.isoformat())
    dialog.get_by_role("button", name="Share", exact=True).click()

    # THEN the dialog says so and lists the grant
    dialog.get_by_text("Shared with bob.").wait_for()
    row = dialog.locator(".grant", has_text="bob")
    row.wait_for()
    assert "View, Download" in row.inner_text()
    assert "Expires" in row.inner_text()
    share_id = row.get_attribute("data-share-id")
    granted = alice_api.call("GET", f"/media/{media_id}/shares").json()["items"]
    assert [g["expires_at"][:10] for g in granted] in ([until.isoformat()], [(until + timedelta(days=1)).isoformat()])
    page.screenshot(path=str(screenshot_path("sharing-dialog-person")), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(screenshot_path("sharing-dialog-person-phone")))
    page.set_viewport_size({"width": 1280, "height": 900})
    assert any(
        s["media"] and s["media"]["media_id"] == media_id
        for s in bob_api.call("GET", "/shares/incoming").json()["items"]
    )

    # WHEN an unknown person is named, THEN the API's message is shown
    expected = alice_api.call(
        "POST",
        f"/media/{media_id}/shares",
        {"grantee": {"type": "user", "username": "nobody-here"}, "permissions": ["view"]},
    )
    assert expected.status_code == 404
    dialog.get_by_label("Username or email").fill("nobody-here")
    dialog.get_by_role("button", name="Share", exact=True).click()
    alert = dialog.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text() == expected.json()["message"]
    page.keyboard.press("Escape")  # a native modal dialog: Escape closes it
    dialog.wait_for(state="hidden")

    # WHEN she revokes it from My shares
    page.get_by_role("navigation").get_by_role("link", name="My shares").click()
    page.get_by_role("heading", name="My shares").wait_for()
    mine = page.locator(f".grant[data-share-id='{share_id}']")
    mine.wait_for()
    assert "quay.jpg" in mine.inner_text()
    assert "bob" in mine.inner_text()
    page.screenshot(path=str(screenshot_path("sharing-my-shares")), full_page=True)
    mine.get_by_role("button", name="Revoke share of quay.jpg with bob").click()

    # THEN it is gone: bob no longer sees the photo
    mine.get_by_text("Revoked").wait_for()
    page.screenshot(path=str(screenshot_path("sharing-my-shares-revoked")), full_page=True)
    incoming = bob_api.call("GET", "/shares/incoming?limit=100").json()["items"]
    assert all(s["share"]["share_id"] != share_id for s in incoming)
    assert alice_api.call("GET", f"/media/{media_id}/shares").json()["items"] == []


def test_a_password_link_with_two_uses_opens_anonymously_after_the_right_password(
    page: Any, anonymous_page: Any, stack: DevStack, alice_api: ApiSession
) -> None:
    media_id, original = _ready_photo(alice_api, 733, 550, "pier.jpg")
    sign_in(page, stack)

    # WHEN alice makes a password link allowing downloads, used at most twice
    dialog = _open_share_dialog(page, stack, media_id, "pier.jpg")
    dialog.get_by_label("Anyone with a link").check()
    assert dialog.get_by_label("Edit").is_hidden(), "a link allows view and download only"
    dialog.get_by_label("Download").check()
    dialog.get_by_label("Link password (optional)").fill("harbour-lights")
    dialog.get_by_label("Maximum uses (optional)").fill("2")
    dialog.get_by_role("button", name="Share", exact=True).click()

    # THEN the dialog shows the console's link page and the API's URL, once
    console_url = dialog.get_by_role("textbox", name="Console link page").input_value()
    api_url = dialog.get_by_role("textbox", name="API link").input_value()
    assert console_url.startswith(f"{stack.web_url}/#/l/")
    token = console_url.rsplit("/", 1)[1]
    assert api_url.endswith(f"/links/{token}")
    assert "password, 0 of 2 uses" in dialog.locator(".grant", has_text="Link").inner_text()
    page.screenshot(path=str(screenshot_path("sharing-dialog-link")), full_page=True)

    # WHEN someone who never signed in opens the console's link page, THEN it asks for the password
    anon = anonymous_page
    anon.goto(console_url)
    anon.get_by_role("heading", name="Password needed").wait_for()
    assert anon.get_by_role("button", name="Sign in").count() == 0, "the link page does not force a sign-in"
    anon.screenshot(path=str(screenshot_path("link-page-password")), full_page=True)

    # WHEN the password is wrong, THEN the API's message is shown
    anon.get_by_label("Password", exact=True).fill("not-the-password")
    anon.get_by_role("button", name="Open").click()
    alert = anon.get_by_role("alert")
    alert.wait_for()
    wrong = requests_get(f"{stack.api_url}/links/{token}", {"X-Link-Password": "still-not-it"})
    assert wrong.status_code == 404
    assert alert.inner_text() == wrong.json()["message"]
    anon.screenshot(path=str(screenshot_path("link-page-wrong-password")), full_page=True)

    # WHEN it is right, THEN the photo shows, and Download saves the original
    anon.get_by_label("Password", exact=True).fill("harbour-lights")
    anon.get_by_role("button", name="Open").click()
    _loaded(anon, anon.locator("img.preview"))
    anon.screenshot(path=str(screenshot_path("link-page-photo-phone")), full_page=True)
    with anon.expect_download() as download:
        anon.get_by_role("button", name="Download").click()
    assert Path(download.value.path()).read_bytes() == original

    # AND the two uses (an open, a download) are spent: the API says so, in the page's words too
    used_up = requests_get(f"{stack.api_url}/links/{token}", {"X-Link-Password": "harbour-lights"})
    assert used_up.status_code == 404
    anon.reload()
    anon.get_by_role("alert").wait_for()
    assert anon.get_by_role("alert").inner_text() == used_up.json()["message"]


def test_an_album_built_in_the_console_is_shared_as_a_link_showing_both_photos_in_order(
    page: Any, anonymous_page: Any, stack: DevStack, alice_api: ApiSession
) -> None:
    first, _ = _ready_photo(alice_api, 701, 525, "dune.jpg", title="Dune")
    second, _ = _ready_photo(alice_api, 702, 526, "reed.jpg", title="Reed")
    sign_in(page, stack)

    # WHEN alice creates an album and adds both photos from her library
    page.get_by_role("navigation").get_by_role("link", name="Albums").click()
    page.get_by_role("heading", name="Albums", exact=True).wait_for()
    page.get_by_label("Title").fill("Coast walk")
    page.get_by_role("button", name="Create album").click()
    page.get_by_role("heading", name="Coast walk").wait_for()
    page.get_by_role("button", name="Add from the library").click()
    for media_id in (first, second):
        page.locator(f".card.pick[data-media-id='{media_id}'] input").check()
    page.screenshot(path=str(screenshot_path("album-add-from-library")), full_page=True)
    page.get_by_role("button", name="Add selected").click()
    page.get_by_text("2 items added.").wait_for()
    items = page.locator(".album-item")
    order = [items.nth(i).get_attribute("data-media-id") for i in range(items.count())]
    assert sorted(order) == sorted([first, second])

    # WHEN she moves the first one down, THEN the order is swapped, as the API keeps it
    top_name = "Dune" if order[0] == first else "Reed"
    page.get_by_role("button", name=f"Move down {top_name}").click()
    page.get_by_text("Move down: done.").wait_for()
    swapped = [items.nth(i).get_attribute("data-media-id") for i in range(items.count())]
    assert swapped == order[::-1]
    album_id = page.url.rsplit("/", 1)[1]
    listed = alice_api.call("GET", f"/albums/{album_id}/items").json()["items"]
    assert [m["media_id"] for m in listed] == swapped
    page.get_by_role("button", name=f"Set as cover {top_name}").click()
    page.get_by_text("Set as cover: done.").wait_for()
    page.screenshot(path=str(screenshot_path("album-page")), full_page=True)

    # WHEN she shares the album as a link (downloads allowed)
    page.get_by_role("button", name="Share", exact=True).click()
    dialog = page.get_by_role("dialog", name="Share album Coast walk")
    dialog.get_by_label("Anyone with a link").check()
    dialog.get_by_label("Download").check()
    dialog.get_by_role("button", name="Share", exact=True).click()
    console_url = dialog.get_by_role("textbox", name="Console link page").input_value()
    page.screenshot(path=str(screenshot_path("album-share-link")), full_page=True)

    # THEN an anonymous visitor sees both photos, in the album's order, each with Download
    anon = anonymous_page
    anon.goto(console_url)
    anon.get_by_role("heading", name="Coast walk").wait_for()
    cards = anon.locator(".card.shared")
    cards.nth(1).wait_for()
    assert [cards.nth(i).get_attribute("data-media-id") for i in range(cards.count())] == swapped
    for name in ("Dune", "Reed"):
        _loaded(anon, anon.get_by_role("img", name=name))
    with anon.expect_download() as download:
        anon.get_by_role("button", name="Download Reed").click()
    assert download.value.suggested_filename == "reed.jpg"
    anon.screenshot(path=str(screenshot_path("link-page-album-phone")), full_page=True)

    # WHEN she renames the album, THEN the page shows the new title
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    page.get_by_label("Album title").fill("Coast walk, autumn")
    page.get_by_role("button", name="Save album").click()
    page.get_by_role("heading", name="Coast walk, autumn").wait_for()

    # WHEN she deletes it (confirming in place), THEN it leaves her albums, and its link stops working
    page.get_by_role("button", name="Delete album").click()
    page.get_by_role("button", name="Yes, delete it").click()
    page.get_by_role("heading", name="Albums", exact=True).wait_for()
    # The list has loaded: some album is shown, or the page says there are none.
    page.wait_for_function(
        "() => document.querySelector('.albums > p[role=status]')?.textContent === 'No albums yet.'"
        " || document.querySelectorAll('.albums .card.album').length > 0"
    )
    assert page.locator(f".card.album[data-album-id='{album_id}']").count() == 0
    gone = requests_get(f"{stack.api_url}/links/{console_url.rsplit('/', 1)[1]}", {})
    assert gone.status_code == 404
    anon.reload()
    anon.get_by_role("alert").wait_for()
    assert anon.get_by_role("alert").inner_text() == gone.json()["message"]


def test_bobs_notifications_show_alices_share_and_marking_it_read_clears_the_count(
    page: Any, stack: DevStack, alice_api: ApiSession, bob_api: ApiSession
) -> None:
    # GIVEN bob has read everything so far, and then alice shares a photo with him
    while bob_api.call("POST", "/notifications/read-all").json()["unread_count"] > 0:
        pass
    media_id, _ = _ready_photo(alice_api, 640, 481, "tide.jpg", title="Low tide")
    shared = alice_api.call(
        "POST",
        f"/media/{media_id}/shares",
        {"grantee": {"type": "user", "username": "bob"}, "permissions": ["view", "download"]},
    )
    assert shared.status_code == 201, shared.text
    _wait_for_notification(bob_api, shared.json()["share_id"])

    # WHEN bob opens Notifications, THEN alice's share is there, unread, and the header counts it
    sign_in(page, stack, "bob")
    badge = page.locator(".count-badge")
    badge.wait_for()
    assert badge.inner_text() == "1"
    page.get_by_role("navigation").get_by_role("link", name="Notifications").click()
    page.get_by_role("heading", name="Notifications").wait_for()
    row = page.locator(f".notification[data-share-id='{shared.json()['share_id']}']")
    row.wait_for()
    assert "alice shared Low tide with you (view, download)." in row.inner_text()
    page.get_by_text("1 unread").wait_for()
    page.screenshot(path=str(screenshot_path("notifications-unread")), full_page=True)

    # WHEN he marks it read, THEN nothing is unread any more, on the page and in the header
    row.get_by_role("button", name="Mark read: alice shared Low tide with you (view, download).").click()
    page.get_by_text("Nothing unread.").wait_for()
    badge.wait_for(state="hidden")
    assert page.locator(".unread-badge").is_hidden()
    assert bob_api.call("GET", "/notifications?unread_only=true").json()["unread_count"] == 0
    page.screenshot(path=str(screenshot_path("notifications-read")), full_page=True)
    page.set_viewport_size(PHONE)
    page.get_by_role("button", name="Mark all read").wait_for()
    page.screenshot(path=str(screenshot_path("notifications-phone")), full_page=True)


def requests_get(url: str, headers: dict[str, str]) -> requests.Response:
    """An anonymous GET (no token), as a link holder's browser sends it."""
    return requests.get(url, headers=headers, timeout=10)
