"""The web console in a real browser: sign-in with PKCE, upload, library, item edit, sharing, sign-out.

GIVEN a local stack serving the built console, WHEN a person uses it in headless Chromium, THEN they see
what the API says (including its error messages), without reloading.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from infra.local.stack import DevStack
from tests.browser.conftest import screenshot_path, sign_in
from tests.support.http import ApiSession, password_token
from tests.support.images import jpeg_bytes, mpeg4_clip

PROCESSING_TIMEOUT_MS = 30_000
VIDEO_TIMEOUT_MS = 90_000
NOTIFIER_TIMEOUT_S = 30.0


def test_sign_in_with_pkce_keeps_tokens_out_of_storage_and_sign_out_ends_the_session(
    page: Any, stack: DevStack
) -> None:
    token_requests: list[dict[str, str]] = []
    page.on(
        "request",
        lambda r: (
            token_requests.append(dict(r.post_data_json or {}))
            if r.url.endswith("/protocol/openid-connect/token")
            else None
        ),
    )

    sign_in(page, stack)

    assert page.url.rstrip("/") == stack.web_url, "the code and state leave the address bar"
    exchange = token_requests[0]
    assert exchange["grant_type"] == "authorization_code"
    assert len(exchange["code_verifier"]) >= 43
    stored = page.evaluate("() => JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})")
    assert "eyJ" not in stored, "tokens are kept in memory only"
    page.get_by_role("heading", name="Library").wait_for()
    page.screenshot(path=str(screenshot_path("signed-in-library")))

    page.get_by_role("button", name="Sign out").click()

    page.get_by_role("button", name="Sign in").wait_for()
    page.get_by_role("button", name="Sign in").click()
    # The identity server's session ended: it asks for a password again instead of signing straight in.
    page.get_by_label("Password").wait_for()
    page.screenshot(path=str(screenshot_path("after-sign-out-login-page")))


def test_a_reload_signs_back_in_silently_on_the_same_page_but_not_after_sign_out(page: Any, stack: DevStack) -> None:
    authorizations: list[str] = []
    page.on("request", lambda r: authorizations.append(r.url) if "/protocol/openid-connect/auth?" in r.url else None)
    # GIVEN alice signed in, on her albums page
    sign_in(page, stack)
    page.goto(stack.web_url + "/#/albums")
    page.get_by_role("heading", name="Albums").wait_for()
    asked = len(authorizations)

    # WHEN she reloads (the tokens were in memory only)
    page.reload()

    # THEN the identity server's session signs her back in without its login page, on the same page
    page.get_by_text("Signed in as alice").wait_for()
    page.get_by_role("heading", name="Albums").wait_for()
    assert page.url == stack.web_url + "/#/albums"
    silent = authorizations[asked:]
    assert len(silent) == 1 and "prompt=none" in silent[0], silent
    assert page.get_by_label("Password").count() == 0
    page.screenshot(path=str(screenshot_path("reload-signed-in-silently")))

    # WHEN she signs out and reloads; THEN she stays signed out, asked once at most, with no loop of redirects
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    asked = len(authorizations)
    page.reload()
    page.get_by_role("button", name="Sign in").wait_for()
    page.wait_for_timeout(500)
    assert len(authorizations) == asked, "a signed-out tab is not signed back in"
    assert page.get_by_text("Signed in as alice").count() == 0


def test_an_uploaded_photo_appears_pending_and_turns_ready_without_a_reload(page: Any, stack: DevStack) -> None:
    sign_in(page, stack)
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    page.get_by_label("Choose photos or videos to upload").set_input_files(
        files=[{"name": "lighthouse.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(1200, 900)}]
    )

    row = page.locator(".upload[data-filename='lighthouse.jpg']")
    row.get_by_role("progressbar", name="Upload progress of lighthouse.jpg").wait_for()
    card = page.locator(".card", has_text="lighthouse.jpg")
    card.wait_for()
    page.screenshot(path=str(screenshot_path("upload-in-progress")))
    page.locator(".card[data-status='ready']", has_text="lighthouse.jpg").wait_for(timeout=PROCESSING_TIMEOUT_MS)
    assert row.get_attribute("data-status") == "ready"
    assert row.get_by_role("progressbar").get_attribute("value") == "100"
    thumbnail = card.get_by_role("img", name="lighthouse.jpg")
    thumbnail.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    assert navigations == [], "the grid updates in place"
    page.screenshot(path=str(screenshot_path("upload-ready")))


def test_a_video_turns_ready_and_a_file_that_is_no_photo_shows_why_it_was_rejected(page: Any, stack: DevStack) -> None:
    # GIVEN alice signed in; WHEN she picks a video and a "photo" whose bytes are no image at all
    sign_in(page, stack)
    page.get_by_label("Choose photos or videos to upload").set_input_files(
        files=[
            {"name": "waves.mp4", "mimeType": "video/mp4", "buffer": mpeg4_clip()},
            {"name": "holiday.jpg", "mimeType": "image/jpeg", "buffer": b"these bytes are not a JPEG\n" * 64},
        ]
    )

    # THEN the video turns ready in the grid, and the impostor ends rejected with the reason in its upload row
    page.locator(".card[data-status='ready']", has_text="waves.mp4").wait_for(timeout=VIDEO_TIMEOUT_MS)
    page.locator(".card[data-status='rejected']", has_text="holiday.jpg").wait_for(timeout=VIDEO_TIMEOUT_MS)
    row = page.locator(".upload[data-filename='holiday.jpg']")
    state = row.locator(".upload-state")
    state.wait_for()
    assert row.get_attribute("data-status") == "rejected"
    text = state.inner_text()
    assert text.startswith("rejected: ") and len(text) > len("rejected: "), text
    page.screenshot(path=str(screenshot_path("upload-video-ready-and-rejected")), full_page=True)


def test_the_item_page_shows_the_preview_and_an_edit_is_saved(
    page: Any, stack: DevStack, ready_photo: dict[str, Any]
) -> None:
    sign_in(page, stack)
    page.locator(f".card[data-media-id='{ready_photo['media_id']}'] a").click()

    preview = page.locator("img.preview")
    preview.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    facts = page.locator("dl.facts")
    assert "harbour.jpg" in facts.inner_text()
    assert "800 \u00d7 600" in facts.inner_text()

    page.get_by_label("Title").fill("Harbour at dusk")
    page.get_by_label("Tags").fill("sea, evening")
    page.get_by_role("button", name="Save changes").click()

    page.get_by_role("heading", name="Harbour at dusk").wait_for()
    page.get_by_text("Saved.").wait_for()
    assert sorted(page.get_by_label("Tags").input_value().split(", ")) == ["evening", "sea"]
    page.screenshot(path=str(screenshot_path("item-edited")), full_page=True)
    page.get_by_role("link", name="Back to the library").click()
    page.locator(f".card[data-media-id='{ready_photo['media_id']}']", has_text="Harbour at dusk").wait_for()


def test_a_stale_edit_shows_the_apis_message(
    page: Any, stack: DevStack, ready_photo: dict[str, Any], alice_api: ApiSession
) -> None:
    media_id = ready_photo["media_id"]
    sign_in(page, stack)
    page.goto(f"{stack.web_url}/#/media/{media_id}")
    page.get_by_label("Title").wait_for()
    # Someone else (another tab, the CLI) edits the item after the page loaded it.
    assert alice_api.call("PATCH", f"/media/{media_id}", {"version": ready_photo["version"], "title": "Elsewhere"}).ok
    expected = alice_api.call("PATCH", f"/media/{media_id}", {"version": ready_photo["version"], "title": "x"})
    assert expected.status_code == 409

    page.get_by_label("Title").fill("Mine")
    page.get_by_role("button", name="Save changes").click()

    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text() == expected.json()["message"]
    assert page.get_by_label("Title").input_value() == "Mine", "what was typed is kept"
    page.screenshot(path=str(screenshot_path("stale-edit-409")), full_page=True)


def test_filters_narrow_the_grid_with_the_apis_answer(
    page: Any, stack: DevStack, ready_photo: dict[str, Any], alice_api: ApiSession
) -> None:
    media_id = ready_photo["media_id"]
    marker = f"kite-{media_id[:8]}"
    assert alice_api.call("PATCH", f"/media/{media_id}", {"version": ready_photo["version"], "title": marker}).ok
    sign_in(page, stack)
    page.locator(".card").first.wait_for()

    page.get_by_label("Search").fill(marker)
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_function("() => document.querySelectorAll('.grid .card').length === 1")
    assert page.locator(".card").get_attribute("data-media-id") == media_id

    # The same text among videos only: the photo is not one (other tests' videos do not carry the marker)
    page.get_by_label("Type").select_option("video")
    page.get_by_role("button", name="Apply filters").click()
    page.get_by_text("Nothing here yet").wait_for()
    assert page.locator(".card").count() == 0

    page.screenshot(path=str(screenshot_path("filters")))


def test_tag_dates_and_sort_narrow_and_order_the_grid(page: Any, stack: DevStack, alice_api: ApiSession) -> None:
    # GIVEN two of alice's photos with one tag, taken two years apart
    ids = []
    for taken in ("2019-07-14T09:30:00", "2021-03-02T16:00:00"):
        media_id, stored = alice_api.upload(jpeg_bytes(320, 240), filename=f"tide-{taken[:4]}.jpg")
        assert stored.status_code in (200, 204), stored.text
        item = alice_api.wait_for_status(media_id, {"ready", "failed", "rejected"})
        tag = f"tide-{ids[0][:8]}" if ids else f"tide-{media_id[:8]}"
        change = {"version": item["version"], "tags": [tag], "taken_at": taken}
        edited = alice_api.call("PATCH", f"/media/{media_id}", change)
        assert edited.ok, edited.text
        ids.append(media_id)
    tag = f"tide-{ids[0][:8]}"
    sign_in(page, stack)
    page.locator(".card").first.wait_for()

    def shown() -> list[str]:
        return [str(card.get_attribute("data-media-id")) for card in page.locator(".grid .card").all()]

    # WHEN she filters by the tag (typed in capitals) and sorts by the oldest taken first; THEN both, in that order
    page.get_by_label("Tag", exact=True).fill(tag.upper())
    page.get_by_label("Sort", exact=True).select_option("taken-asc")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_function("() => document.querySelectorAll('.grid .card').length === 2")
    assert shown() == ids
    # ... newest taken first: the other way round
    page.get_by_label("Sort", exact=True).select_option("taken-desc")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_function(f"() => document.querySelector('.grid .card')?.dataset.mediaId === '{ids[1]}'")
    assert shown() == ids[::-1]
    # ... taken in 2021 only
    page.get_by_label("Taken from").fill("2021-01-01")
    page.get_by_label("Taken until").fill("2021-12-31")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_function("() => document.querySelectorAll('.grid .card').length === 1")
    assert shown() == [ids[1]]
    page.screenshot(path=str(screenshot_path("filters-tag-dates-sort")))
    # ... uploaded before either existed: nothing
    page.get_by_label("Taken from").fill("")
    page.get_by_label("Taken until").fill("")
    page.get_by_label("Uploaded until").fill("2020-01-01")
    page.get_by_role("button", name="Apply filters").click()
    page.get_by_text("Nothing here yet").wait_for()


def test_infinite_scroll_loads_the_next_page(page: Any, stack: DevStack, alice_api: ApiSession) -> None:
    # More items than one page (24): scrolling to the end loads the rest through next_cursor.
    for n in range(26 - _count(alice_api)):
        _, stored = alice_api.upload(jpeg_bytes(64, 48), filename=f"filler-{n}.jpg")
        assert stored.ok, stored.text
    total = _count(alice_api)
    sign_in(page, stack)
    page.wait_for_function("() => document.querySelectorAll('.grid .card').length === 24")

    page.get_by_role("button", name="Load more").scroll_into_view_if_needed()

    page.wait_for_function(f"() => document.querySelectorAll('.grid .card').length === {total}")
    assert page.get_by_role("button", name="Load more").is_hidden()


def _count(api: ApiSession) -> int:
    count, cursor = 0, None
    while True:
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        page = api.session.get(f"{api.base_url}/media", params=params, timeout=10).json()
        count += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return count


def test_an_api_error_is_shown_as_the_apis_message(page: Any, stack: DevStack, alice_api: ApiSession) -> None:
    unknown = "00000000-0000-0000-0000-000000000000"
    expected = alice_api.call("GET", f"/media/{unknown}")
    assert expected.status_code == 404
    sign_in(page, stack)

    page.goto(f"{stack.web_url}/#/media/{unknown}")

    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text() == expected.json()["message"]


def test_tokens_are_refreshed_before_they_expire(page: Any, stack: DevStack) -> None:
    # The browser's clock runs ahead of the servers': the access token (300 s) is renewed at ~270 s.
    page.clock.install()
    with page.expect_response(lambda r: "/media?" in r.url):
        sign_in(page, stack)

    with page.expect_request(
        lambda r: (
            r.url.endswith("/protocol/openid-connect/token")
            and (r.post_data_json or {}).get("grant_type") == "refresh_token"
        )
    ) as refresh:
        page.clock.fast_forward("04:35")
    assert refresh.value.response().ok

    with page.expect_response(lambda r: "/media?" in r.url) as listing:
        page.get_by_role("button", name="Apply filters").click()
    assert listing.value.status == 200
    assert page.get_by_text("Signed in as alice").is_visible()


def test_bob_opens_what_alice_shared_and_downloads_the_original(
    page: Any, stack: DevStack, alice_api: ApiSession
) -> None:
    # GIVEN alice shared a processed photo with bob (view and download), and the notifier told bob so
    original = jpeg_bytes(720, 540, quality=80)
    media_id, stored = alice_api.upload(original, filename="shared-lighthouse.jpg")
    assert stored.ok, stored.text
    assert alice_api.wait_for_status(media_id, {"ready", "failed", "rejected"})["status"] == "ready"
    bob_api = ApiSession(stack.api_url, password_token(stack.issuer, "bob"))
    assert bob_api.call("GET", "/me").ok  # bob's account exists once he has called the API
    shared = alice_api.call(
        "POST",
        f"/media/{media_id}/shares",
        {"grantee": {"type": "user", "username": "bob"}, "permissions": ["view", "download"]},
    )
    assert shared.status_code == 201, shared.text
    _wait_for_notification(bob_api, shared.json()["share_id"])

    # WHEN bob signs in, THEN the header says he has unread notifications
    sign_in(page, stack, "bob")
    badge = page.locator(".unread-badge")
    badge.wait_for()
    assert int(badge.inner_text()) >= 1
    page.screenshot(path=str(screenshot_path("shared-unread-badge")))

    # WHEN he opens Shared with me, THEN the photo is there, alice's, with what the grant allows
    page.get_by_role("navigation").get_by_role("link", name="Shared with me").click()
    page.get_by_role("heading", name="Shared with me").wait_for()
    card = page.locator(f".card.shared[data-media-id='{media_id}']")
    card.wait_for()
    assert "From alice" in card.inner_text()
    assert "View, Download" in card.inner_text()
    assert "No expiry" in card.inner_text()
    thumbnail = card.get_by_role("img", name="shared-lighthouse.jpg")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    badge.wait_for(state="hidden")  # seeing the page reads the notifications
    assert page.url == f"{stack.web_url}/#/shared", "the page share emails link to"
    page.screenshot(path=str(screenshot_path("shared-with-me")), full_page=True)

    # WHEN he opens it, THEN he sees it read-only: its owner, no edit form
    card.get_by_role("link", name="shared-lighthouse.jpg").click()
    page.get_by_role("heading", name="shared-lighthouse.jpg").wait_for()
    preview = page.locator("img.preview")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    assert page.locator("dd.owner").inner_text() == "alice"
    assert page.get_by_role("button", name="Save changes").count() == 0
    assert page.get_by_label("Title").count() == 0
    page.screenshot(path=str(screenshot_path("shared-item-read-only")), full_page=True)

    # WHEN he downloads it, THEN he gets the original's bytes, under its name
    with page.expect_download() as download:
        page.locator(".item").get_by_role("button", name="Download shared-lighthouse.jpg").click()
    assert download.value.suggested_filename == "shared-lighthouse.jpg"
    assert Path(download.value.path()).read_bytes() == original
    page.get_by_role("link", name="Back to Shared with me").click()
    card.wait_for()


def _wait_for_notification(api: ApiSession, share_id: str) -> None:
    """Until the notifier (a worker on the notifications queue) has recorded the share for the grantee."""
    deadline = time.monotonic() + NOTIFIER_TIMEOUT_S
    while True:
        listing = api.call("GET", "/notifications?limit=100")
        assert listing.ok, listing.text
        if any(n["share_id"] == share_id for n in listing.json()["items"]):
            return
        assert time.monotonic() < deadline, f"no notification for share {share_id} after {NOTIFIER_TIMEOUT_S} s"
        time.sleep(0.1)
