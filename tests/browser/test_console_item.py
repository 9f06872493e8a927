"""The item page in a real browser: versions of the original, the trash, AI descriptions and the video player.

GIVEN alice's items on a local stack, WHEN she works on one from its page in headless Chromium, THEN the page shows
what the API then says (including its error messages), without reloading, and by keyboard where it matters.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import requests

from infra.local.stack import DevStack
from tests.browser.conftest import screenshot_path, sign_in
from tests.support.http import ApiSession, password_token
from tests.support.images import jpeg_bytes, mpeg4_clip, noise_png

# Processing a new version (or a video) shares two cores with the other workers and test runs.
PROCESSING_TIMEOUT_MS = 90_000
DESCRIBE_TIMEOUT_MS = 90_000


def _open_item(page: Any, stack: DevStack, media_id: str) -> None:
    sign_in(page, stack)
    page.goto(f"{stack.web_url}/#/media/{media_id}")
    page.locator("h1#item-heading").wait_for()


def test_a_new_version_is_uploaded_and_the_first_one_restored(
    page: Any, stack: DevStack, ready_photo: dict[str, Any], alice_api: ApiSession
) -> None:
    media_id = ready_photo["media_id"]
    _open_item(page, stack, media_id)
    versions = page.get_by_role("region", name="Versions")
    versions.locator("tr[data-version='1'][data-current='true']").wait_for()

    # WHEN alice uploads a larger photo as a new version
    page.get_by_label("Upload a new version").set_input_files(
        files=[{"name": "harbour-v2.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(1024, 768)}]
    )

    # THEN it becomes version 2, current, processed: the page shows its dimensions
    versions.get_by_text("The new version is current.").wait_for(timeout=PROCESSING_TIMEOUT_MS)
    assert versions.locator("tr[data-version='2']").get_attribute("data-current") == "true"
    assert versions.locator("tr[data-version='1']").get_attribute("data-current") == "false"
    page.locator("dl.facts", has_text="1024 \u00d7 768").wait_for()
    listed = alice_api.call("GET", f"/media/{media_id}/versions").json()["versions"]
    assert len(listed) == 2
    page.screenshot(path=str(screenshot_path("item-version-2")), full_page=True)

    # WHEN she restores version 1, confirming first
    versions.get_by_role("button", name="Restore version 1").click()
    versions.get_by_role("button", name="Cancel").wait_for()
    page.screenshot(path=str(screenshot_path("item-restore-version-confirm")), full_page=True)
    versions.get_by_role("button", name="Yes, restore version 1").click()

    # THEN a copy of version 1 is current again (version 3), and the page shows the first photo's dimensions
    versions.get_by_text("Version 1 is current again.").wait_for(timeout=PROCESSING_TIMEOUT_MS)
    current = versions.locator("tr[data-current='true']")
    assert current.get_attribute("data-version") == "3"
    first = listed[-1]  # newest first: the oldest is version 1
    assert alice_api.call("GET", f"/media/{media_id}/versions").json()["versions"][0]["size"] == first["size"]
    page.locator("dl.facts", has_text="800 \u00d7 600").wait_for()
    page.screenshot(path=str(screenshot_path("item-version-restored")), full_page=True)


def test_a_large_new_version_goes_in_parts_and_survives_a_dropped_part(
    page: Any, stack: DevStack, ready_photo: dict[str, Any], tmp_path: Path
) -> None:
    # GIVEN a ~16 MB photo: above the browser stack's 6 MiB multipart threshold, so four 5 MiB parts
    big = noise_png(tmp_path / "harbour-panorama.png")
    media_id = ready_photo["media_id"]
    _open_item(page, stack, media_id)
    versions = page.get_by_role("region", name="Versions")
    versions.locator("tr[data-version='1'][data-current='true']").wait_for()
    puts: list[str] = []
    page.on("request", lambda r: puts.append(r.url) if r.method == "PUT" and "partNumber=" in r.url else None)
    dropped: list[str] = []

    def drop_part_two_once(route: Any) -> None:
        if not dropped:
            dropped.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(re.compile(r".*partNumber=2&.*|.*partNumber=2$"), drop_part_two_once)

    # WHEN alice uploads it as a new version, and the connection drops while part 2 is sent
    page.get_by_label("Upload a new version").set_input_files(str(big))

    # THEN it still becomes the current version, processed, with only part 2 sent twice
    versions.get_by_text("The new version is current.").wait_for(timeout=PROCESSING_TIMEOUT_MS)
    assert versions.locator("tr[data-version='2']").get_attribute("data-current") == "true"
    assert dropped, "part 2 was never sent"
    numbers = sorted(int(re.search(r"partNumber=(\d+)", url).group(1)) for url in puts)  # type: ignore[union-attr]
    assert numbers == [1, 2, 2, 3, 4], numbers
    page.locator("dl.facts", has_text="2700 \u00d7 2000").wait_for()
    page.screenshot(path=str(screenshot_path("item-large-version-in-parts")), full_page=True)


def test_a_refused_version_shows_the_apis_message(
    page: Any, stack: DevStack, ready_photo: dict[str, Any], alice_api: ApiSession
) -> None:
    media_id = ready_photo["media_id"]
    note = b"not a photo"
    expected = alice_api.call(
        "POST",
        f"/media/{media_id}/versions",
        {"filename": "notes.txt", "content_type": "text/plain", "size": len(note)},
    )
    assert expected.status_code == 415, expected.text
    _open_item(page, stack, media_id)

    page.get_by_label("Upload a new version").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": note}]
    )

    alert = page.get_by_role("region", name="Versions").get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text() == expected.json()["message"]


def test_an_item_is_trashed_and_restored_from_its_page_by_keyboard(
    page: Any, stack: DevStack, ready_photo: dict[str, Any], alice_api: ApiSession
) -> None:
    media_id = ready_photo["media_id"]
    _open_item(page, stack, media_id)

    page.get_by_role("button", name="Move harbour.jpg to the trash").focus()
    page.keyboard.press("Enter")

    page.get_by_text("In the trash since").wait_for()
    assert alice_api.call("GET", f"/media/{media_id}").json()["trashed_at"]
    assert page.get_by_label("Title").count() == 0, "a trashed item is not edited"
    assert page.get_by_role("button", name="Download harbour.jpg").count() == 0
    restore = page.get_by_role("button", name="Restore harbour.jpg from the trash")
    assert restore.evaluate("el => el === document.activeElement"), "focus moves to the way back"
    page.screenshot(path=str(screenshot_path("item-trashed")), full_page=True)

    page.keyboard.press("Enter")

    page.get_by_text("Restored from the trash.").wait_for()
    assert alice_api.call("GET", f"/media/{media_id}").json()["trashed_at"] is None
    page.get_by_role("button", name="Move harbour.jpg to the trash").wait_for()
    page.get_by_label("Title").wait_for()


def test_describe_with_ai_shows_the_description_when_it_arrives(
    page: Any, stack: DevStack, ready_photo: dict[str, Any], alice_api: ApiSession
) -> None:
    media_id = ready_photo["media_id"]
    _open_item(page, stack, media_id)
    panel = page.get_by_role("region", name="AI description")

    with page.expect_response(lambda r: r.url.endswith(f"/media/{media_id}/describe")) as queued:
        panel.get_by_role("button", name="Describe with AI").click()
    assert queued.value.status == 202

    panel.get_by_text("Description ready.").wait_for(timeout=DESCRIBE_TIMEOUT_MS)
    described = alice_api.call("GET", f"/media/{media_id}").json()["ai_description"]
    assert described["status"] == "ready"
    assert described["provider"] == "offline"
    assert described["text"] in panel.locator(".ai-description").inner_text()
    page.screenshot(path=str(screenshot_path("item-described")), full_page=True)


def test_a_refused_description_shows_the_apis_message(page: Any, stack: DevStack, ready_photo: dict[str, Any]) -> None:
    # The describe limit is a deployment setting: the API's 429 is stood in for at the network, in its own shape.
    refusal = {
        "code": "too_many_attempts",
        "message": "too many describe requests: at most 5 in 60 s; try again in 42 s",
    }

    def refuse(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()  # the CORS preflight goes to the API
            return
        headers = {"Retry-After": "42", "Access-Control-Allow-Origin": "*"}
        route.fulfill(status=429, content_type="application/json", headers=headers, body=json.dumps(refusal))

    page.route("**/media/*/describe", refuse)
    _open_item(page, stack, ready_photo["media_id"])
    panel = page.get_by_role("region", name="AI description")

    panel.get_by_role("button", name="Describe with AI").click()

    alert = panel.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text() == refusal["message"]
    assert panel.get_by_role("button", name="Describe with AI").is_enabled(), "she may try again later"


def test_a_video_plays_its_web_mp4_with_its_poster(page: Any, stack: DevStack, alice_api: ApiSession) -> None:
    # GIVEN a video browsers cannot play as it is (MPEG-4 Part 2), so processing makes a web MP4 and a poster
    media_id, stored = alice_api.upload(mpeg4_clip(), content_type="video/mp4", filename="waves.mp4")
    assert stored.ok, stored.text
    item = alice_api.wait_for_status(media_id, {"ready", "failed", "rejected"}, timeout=PROCESSING_TIMEOUT_MS / 1000)
    assert item["status"] == "ready", item
    assert {"web", "poster"} <= item["renditions"].keys()

    _open_item(page, stack, media_id)

    video = page.get_by_label("Video: waves.mp4")
    video.wait_for()
    assert video.evaluate("el => el.tagName") == "VIDEO"
    assert video.get_attribute("controls") is not None
    src, poster = video.get_attribute("src"), video.get_attribute("poster")
    assert src and poster
    answer = requests.get(src, timeout=30)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "video/mp4"
    assert requests.get(poster, timeout=30).status_code == 200
    assert page.locator("img.preview").count() == 0, "a player, not a still"
    page.wait_for_function("video => video.readyState >= 1", arg=video.element_handle())  # Chromium read it
    page.screenshot(path=str(screenshot_path("item-video")), full_page=True)


def test_an_item_opened_through_a_grant_offers_none_of_the_owners_actions(
    page: Any, stack: DevStack, ready_photo: dict[str, Any], alice_api: ApiSession
) -> None:
    # GIVEN alice shared her photo with bob to view and edit
    media_id = ready_photo["media_id"]
    bob_api = ApiSession(stack.api_url, password_token(stack.issuer, "bob"))
    assert bob_api.call("GET", "/me").ok  # bob's account exists once he has called the API
    grant = {"grantee": {"type": "user", "username": "bob"}, "permissions": ["view", "edit"]}
    shared = alice_api.call("POST", f"/media/{media_id}/shares", grant)
    assert shared.status_code == 201, shared.text
    assert bob_api.call("GET", f"/media/{media_id}/versions").status_code == 404, "the API keeps history private"

    # WHEN bob opens it from Shared with me
    sign_in(page, stack, "bob")
    page.goto(f"{stack.web_url}/#/shared/media/{media_id}")

    # THEN he may edit it, and nothing else: no versions, trash, description requests or download
    page.get_by_label("Title").wait_for()
    assert page.get_by_role("region", name="Versions").count() == 0
    assert page.get_by_role("button", name="Move harbour.jpg to the trash").count() == 0
    assert page.get_by_role("button", name="Describe with AI").count() == 0
    assert page.get_by_role("button", name="Download harbour.jpg").count() == 0
    page.screenshot(path=str(screenshot_path("item-shared-edit-only")), full_page=True)


def test_an_admin_opening_someone_elses_item_sees_its_versions_but_acts_only_as_an_admin_may(
    page: Any, stack: DevStack, ready_photo: dict[str, Any], alice_api: ApiSession
) -> None:
    # GIVEN alice's photo, which says it is hers
    media_id = ready_photo["media_id"]
    assert (
        alice_api.call("GET", f"/media/{media_id}").json()["owner_id"] == alice_api.call("GET", "/me").json()["user_id"]
    )

    # WHEN ada, an admin, opens it
    sign_in(page, stack, "ada")
    page.goto(f"{stack.web_url}/#/media/{media_id}")
    versions = page.get_by_role("region", name="Versions")
    versions.locator("tr[data-version='1']").wait_for()

    # THEN she may trash it and read its history, but not share it or change its versions in alice's name
    assert page.get_by_role("button", name="Move harbour.jpg to the trash").count() == 1
    assert page.get_by_role("button", name="Share").count() == 0
    assert not page.get_by_label("Upload a new version").is_visible()
    page.screenshot(path=str(screenshot_path("item-admin-view")), full_page=True)
