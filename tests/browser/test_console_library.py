"""The library page in a real browser: BlurHash placeholders under the thumbnails, and bulk actions on a selection.

GIVEN alice's ready photos, WHEN she selects tiles (by mouse or keyboard) and runs a bulk action, THEN the API
holds the change for exactly those items, the grid shows it, and errors read as the API's own message.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from infra.local.stack import DevStack
from tests.browser.conftest import screenshot_path, sign_in
from tests.support.http import ApiSession
from tests.support.images import jpeg_bytes

PROCESSING_TIMEOUT_S = 90.0

# Every pixel of the canvas painted (opaque), and how many distinct colours: a blur of a gradient has several.
CANVAS_PAINT = """canvas => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const colours = new Set();
  let opaque = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] === 255) opaque += 1;
    colours.add(`${data[i]},${data[i + 1]},${data[i + 2]}`);
  }
  return { opaque, pixels: canvas.width * canvas.height, colours: colours.size };
}"""


@pytest.fixture
def trip_photos(alice_api: ApiSession) -> list[dict[str, Any]]:
    """Three ready photos of alice's with names of their own, oldest first."""
    run = uuid.uuid4().hex[:8]
    ids = []
    for n in range(3):
        media_id, stored = alice_api.upload(jpeg_bytes(640, 480), filename=f"trip-{run}-{n}.jpg")
        assert stored.ok, stored.text
        ids.append(media_id)
    items = [
        alice_api.wait_for_status(media_id, {"ready", "failed", "rejected"}, PROCESSING_TIMEOUT_S) for media_id in ids
    ]
    assert [item["status"] for item in items] == ["ready"] * 3, items
    assert all(item["placeholder"] for item in items), "processing gives every photo a BlurHash"
    return items


def _card(page: Any, item: dict[str, Any]) -> Any:
    return page.locator(f".card[data-media-id='{item['media_id']}']")


def _select(page: Any, item: dict[str, Any]) -> Any:
    """The item's own checkbox (other tests of the session upload files of the same name)."""
    tile = page.locator(f"[data-media-id='{item['media_id']}']")
    return tile.get_by_role("checkbox", name=f"Select {item['filename']}")


def _bulk_status(page: Any, text: str) -> None:
    page.locator(".bulk-status", has_text=text).wait_for()


def test_tiles_paint_their_blurhash_under_the_loaded_thumbnail(
    page: Any, stack: DevStack, trip_photos: list[dict[str, Any]]
) -> None:
    sign_in(page, stack)

    for item in trip_photos:
        card = _card(page, item)
        canvas = card.locator("canvas.blurhash")
        canvas.wait_for(state="attached")
        paint = page.evaluate(CANVAS_PAINT, canvas.element_handle())
        assert 0 < paint["pixels"] <= 32 * 32, "decoded small and scaled by CSS"
        assert paint["opaque"] == paint["pixels"], "every placeholder pixel is painted"
        assert paint["colours"] > 1, "a blur of the photo, not a flat fill"
        thumbnail = card.get_by_role("img", name=item["filename"])
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0 && img.classList.contains('loaded')",
            arg=thumbnail.element_handle(),
        )
    page.screenshot(path=str(screenshot_path("library-blurhash-grid")))


def test_bulk_tag_trash_and_add_to_a_new_album(
    page: Any, stack: DevStack, alice_api: ApiSession, trip_photos: list[dict[str, Any]]
) -> None:
    first, second, third = trip_photos
    sign_in(page, stack)
    for item in trip_photos:
        _card(page, item).wait_for()

    # Two tiles chosen, one by keyboard: the checkbox takes focus and Space toggles it.
    _select(page, first).focus()
    page.keyboard.press("Space")
    _select(page, second).check()
    page.get_by_text("2 selected.").wait_for()
    page.get_by_label("Tags to add").fill("trip")
    page.get_by_role("button", name="Add tags").click()

    _bulk_status(page, "2 tagged.")
    page.screenshot(path=str(screenshot_path("library-bulk-tagged")))
    tagged = alice_api.call("GET", "/media?tag=trip&limit=100").json()["items"]
    assert {item["media_id"] for item in tagged} == {first["media_id"], second["media_id"]}
    assert not _select(page, first).is_checked(), "the grid is refreshed and the selection cleared"

    _select(page, third).check()
    page.get_by_role("button", name="Move to trash").click()

    _bulk_status(page, "1 moved to the trash.")
    _card(page, third).wait_for(state="detached")
    trashed = alice_api.call("GET", f"/media/{third['media_id']}")
    assert trashed.ok, trashed.text
    assert trashed.json()["trashed_at"]
    page.screenshot(path=str(screenshot_path("library-bulk-trashed")))

    title = f"Trip {uuid.uuid4().hex[:8]}"
    _select(page, first).check()
    _select(page, second).check()
    page.get_by_label("Album", exact=True).select_option(label="New album…")
    page.get_by_label("New album title").fill(title)
    page.get_by_role("button", name="Add to album").click()

    _bulk_status(page, f"2 added to {title}.")
    page.screenshot(path=str(screenshot_path("library-bulk-album")))
    albums = alice_api.call("GET", "/albums?limit=100").json()["items"]
    album_id = next(album["album_id"] for album in albums if album["title"] == title)
    listed = alice_api.call("GET", f"/albums/{album_id}/items").json()["items"]
    assert {item["media_id"] for item in listed} == {first["media_id"], second["media_id"]}


def test_a_refused_bulk_edit_is_summarised_with_the_apis_message(
    page: Any, stack: DevStack, alice_api: ApiSession, ready_photo: dict[str, Any]
) -> None:
    too_long = "x" * 51
    expected = alice_api.call(
        "PATCH", f"/media/{ready_photo['media_id']}", {"version": ready_photo["version"], "tags": [too_long]}
    )
    assert expected.status_code == 400, expected.text
    sign_in(page, stack)

    _select(page, ready_photo).check()
    page.get_by_label("Tags to add").fill(too_long)
    page.get_by_role("button", name="Add tags").click()

    alert = page.locator(".bulk-status[role='alert']")
    alert.wait_for()
    assert alert.inner_text().startswith("0 tagged, 1 failed: ")
    assert expected.json()["message"] in alert.inner_text()
    assert alice_api.call("GET", f"/media/{ready_photo['media_id']}").json()["tags"] == []
