"""The console's upload panel in a real browser: multipart uploads that survive a dropped connection, pause and
resume (also after a reload), and drag and drop of files and folders with a total progress bar.

The browser stack declares files above 6 MiB as multipart in 5 MiB parts (tests/browser/conftest.py), so a
~16 MiB photo goes in four parts. Storage requests are watched (page.on("request")) and broken on purpose
(page.route) to prove what is sent again and what is not.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from infra.local.stack import DevStack
from tests.browser.conftest import screenshot_path, sign_in
from tests.support.http import ApiSession
from tests.support.images import jpeg_bytes, noise_png

READY_TIMEOUT_MS = 120_000
PAUSE_TIMEOUT_MS = 60_000
PART_BYTES = 5 * 1024 * 1024


@pytest.fixture
def big_photo(tmp_path: Path) -> Path:
    """A ~16 MB photo on disk (a path: the browser gives it a stable lastModified), named for this test only."""
    path = noise_png(tmp_path / f"panorama-{uuid.uuid4().hex[:8]}.png")
    size = path.stat().st_size
    assert 3 * PART_BYTES < size <= 4 * PART_BYTES, size
    return path


def part_number(url: str) -> int | None:
    """The part number of a storage PUT URL of a multipart upload (None for anything else)."""
    query = parse_qs(urlparse(url).query)
    if "uploadId" not in query or "partNumber" not in query:
        return None
    return int(query["partNumber"][0])


def count_part_puts(page: Any) -> Counter[int]:
    """Every part PUT the page starts from now on, by part number (aborted attempts included)."""
    puts: Counter[int] = Counter()

    def seen(request: Any) -> None:
        number = part_number(request.url)
        if request.method == "PUT" and number is not None:
            puts[number] += 1

    page.on("request", seen)
    return puts


def is_part_put(url: str) -> bool:
    return part_number(url) is not None


def upload_row(page: Any, filename: str) -> Any:
    return page.locator(f".upload[data-filename='{filename}']")


def pause_all_parts_but_the_first(page: Any, photo: Path) -> Any:
    """Pick the photo while every part PUT but part 1 is cut off; wait for the row to pause. The row."""

    def cut_off(route: Any) -> None:
        if route.request.method == "PUT" and part_number(route.request.url) != 1:
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(is_part_put, cut_off)
    page.get_by_label("Choose photos or videos to upload").set_input_files(str(photo))
    row = upload_row(page, photo.name)
    expect(row).to_have_attribute("data-status", "paused", timeout=PAUSE_TIMEOUT_MS)
    expect(row.get_by_role("button", name="Resume")).to_be_visible()
    expect(row.get_by_role("button", name="Cancel")).to_be_visible()
    page.unroute(is_part_put, cut_off)
    return row


def items_named(api: ApiSession, filename: str) -> list[dict[str, Any]]:
    """Alice's items (any status) with this filename."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        path = "/media?limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = api.call("GET", path).json()
        found += [item for item in page["items"] if item["filename"] == filename]
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def test_a_large_photo_goes_in_parts_and_a_dropped_connection_is_retried(
    page: Any, stack: DevStack, big_photo: Path, alice_api: ApiSession
) -> None:
    # GIVEN alice signed in, and a network that drops the first attempt of part 2 while it is being sent
    sign_in(page, stack)
    puts = count_part_puts(page)
    listings: list[str] = []
    page.on(
        "request",
        lambda request: (
            listings.append(request.url)
            if request.method == "GET" and request.url.startswith(stack.api_url) and request.url.endswith("/parts")
            else None
        ),
    )
    dropped: list[str] = []

    def drop_once(route: Any) -> None:
        if route.request.method == "PUT" and not dropped:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(lambda url: part_number(url) == 2, drop_once)

    # WHEN she picks a ~16 MB photo
    page.get_by_label("Choose photos or videos to upload").set_input_files(str(big_photo))

    # THEN it appears at once as pending in the library, is sent in four parts, part 2 twice, and turns ready
    row = upload_row(page, big_photo.name)
    expect(row.get_by_role("progressbar", name=f"Upload progress of {big_photo.name}")).to_be_visible()
    expect(page.locator(".card", has_text=big_photo.name)).to_be_visible(timeout=30_000)
    expect(row).to_have_attribute("data-status", re.compile("processing|ready"), timeout=READY_TIMEOUT_MS)
    page.screenshot(path=str(screenshot_path("upload-multipart-processing")), full_page=True)
    expect(row).to_have_attribute("data-status", "ready", timeout=READY_TIMEOUT_MS)
    assert dropped, "the connection was dropped once"
    assert dict(puts) == {1: 1, 2: 2, 3: 1, 4: 1}, "only the dropped part was sent again"
    assert row.get_by_role("progressbar").get_attribute("value") == "100"
    assert len(listings) == 1, f"storage's ETag headers were readable: no second listing to find them {listings}"
    expect(page.locator(".card[data-status='ready']", has_text=big_photo.name)).to_be_visible(timeout=30_000)
    item = alice_api.call("GET", f"/media/{row.get_attribute('data-media-id')}").json()
    assert item["status"] == "ready" and item["size"] == big_photo.stat().st_size, item
    page.screenshot(path=str(screenshot_path("upload-multipart-ready")), full_page=True)


def test_a_paused_upload_resumes_sending_only_the_missing_parts(
    page: Any, stack: DevStack, big_photo: Path, alice_api: ApiSession
) -> None:
    # GIVEN an upload paused after its first part, the connection gone for every other part
    sign_in(page, stack)
    puts = count_part_puts(page)
    row = pause_all_parts_but_the_first(page, big_photo)
    expect(row.locator(".upload-state")).to_have_text(re.compile("^Paused: "))
    page.screenshot(path=str(screenshot_path("upload-paused")), full_page=True)
    before = Counter(puts)
    assert before[1] == 1, before

    # WHEN the connection is back and she clicks Resume
    row.get_by_role("button", name="Resume").click()

    # THEN the parts storage did not hold are sent, once each, and the item turns ready
    expect(row).to_have_attribute("data-status", "ready", timeout=READY_TIMEOUT_MS)
    again = puts - before
    assert dict(again) == {2: 1, 3: 1, 4: 1}, f"before {before}, after resume {again}"
    assert len(items_named(alice_api, big_photo.name)) == 1
    page.screenshot(path=str(screenshot_path("upload-resumed-ready")), full_page=True)


def test_an_upload_paused_before_a_reload_continues_when_the_same_file_is_picked(
    page: Any, stack: DevStack, big_photo: Path, alice_api: ApiSession
) -> None:
    # GIVEN an upload paused after its first part
    sign_in(page, stack)
    row = pause_all_parts_but_the_first(page, big_photo)
    media_id = row.get_attribute("data-media-id")
    assert media_id

    # WHEN she reloads the page (signed in again silently) and picks the same file
    page.reload()
    page.get_by_text("Signed in as alice").wait_for()
    puts = count_part_puts(page)
    page.get_by_label("Choose photos or videos to upload").set_input_files(str(big_photo))

    # THEN the same item continues from the parts storage holds, and turns ready: no second item was declared
    row = upload_row(page, big_photo.name)
    expect(row).to_have_attribute("data-media-id", media_id)
    expect(row).to_have_attribute("data-status", "ready", timeout=READY_TIMEOUT_MS)
    assert 1 not in puts, f"part 1 was stored before the reload: {puts}"
    assert set(puts) == {2, 3, 4}, puts
    named = items_named(alice_api, big_photo.name)
    assert [item["media_id"] for item in named] == [media_id], named
    assert named[0]["status"] == "ready"
    remembered = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('media-vault.upload:'))")
    assert remembered == [], "a finished upload is forgotten"
    page.screenshot(path=str(screenshot_path("upload-resumed-after-reload")), full_page=True)


def test_a_cancelled_multipart_upload_is_abandoned(
    page: Any, stack: DevStack, big_photo: Path, alice_api: ApiSession
) -> None:
    # GIVEN a paused upload
    sign_in(page, stack)
    row = pause_all_parts_but_the_first(page, big_photo)
    media_id = row.get_attribute("data-media-id")

    # WHEN she cancels it
    row.get_by_role("button", name="Cancel").click()

    # THEN the API no longer holds the upload, and the browser forgets it
    expect(row).to_have_attribute("data-status", "cancelled")
    expect(row.get_by_role("button")).to_have_count(0)
    assert alice_api.call("GET", f"/uploads/{media_id}/parts").status_code in (404, 409)
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('media-vault.upload:'))") == []


DROP = """async ({ files }) => {
  const transfer = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], f.name, { type: f.type }));
  }
  const zone = document.querySelector(".drop-zone");
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }));
  }
}"""


def test_dropped_files_and_a_picked_folder_upload_with_a_total_progress_bar(
    page: Any, stack: DevStack, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    dropped = [(f"dropped-{run}-{n}.jpg", jpeg_bytes(700 + n, 500 + n)) for n in range(2)]
    folder = tmp_path / f"trip-{run}"
    (folder / "day2").mkdir(parents=True)
    (folder / f"beach-{run}.jpg").write_bytes(jpeg_bytes(640 + 3, 480 + 3))
    (folder / "day2" / f"dunes-{run}.jpg").write_bytes(jpeg_bytes(640 + 4, 480 + 4))
    (folder / f"notes-{run}.txt").write_text("packing list")
    sign_in(page, stack)

    # WHEN alice drops two photos and a text file on the drop zone, then picks a folder
    files = [(name, "image/jpeg", data) for name, data in dropped] + [(f"readme-{run}.txt", "text/plain", b"hello")]
    page.evaluate(DROP, {"files": [{"name": n, "type": t, "data": base64.b64encode(d).decode()} for n, t, d in files]})
    page.get_by_label("Choose a folder to upload").set_input_files(str(folder))

    # THEN the total progress bar shows the batch, non-media files are skipped with a reason, and all turn ready
    total = page.get_by_role("progressbar", name="Total upload progress")
    expect(total).to_be_visible()
    expect(page.locator(".upload-total-files")).to_have_text(re.compile(r"^\d+ of \d+ files?$"))
    page.screenshot(path=str(screenshot_path("upload-drop-in-progress")), full_page=True)
    for name in [f"readme-{run}.txt", f"notes-{run}.txt"]:
        expect(upload_row(page, name)).to_have_attribute("data-status", "skipped")
        expect(upload_row(page, name)).to_contain_text("Skipped: not a photo or video (text/plain)")
    names = [name for name, _ in dropped] + [f"beach-{run}.jpg", f"dunes-{run}.jpg"]
    for name in names:
        expect(upload_row(page, name)).to_have_attribute("data-status", "ready", timeout=READY_TIMEOUT_MS)
    expect(page.locator(".upload-total-files")).to_have_text(re.compile(r"^(\d+) of \1 files?$"))
    assert total.get_attribute("value") == "100"
    expect(upload_row(page, f"dunes-{run}.jpg")).to_contain_text(f"day2/dunes-{run}.jpg")
    page.screenshot(path=str(screenshot_path("upload-drop-ready")), full_page=True)

    # WHEN she picks one of the dropped photos again; THEN its hash finds it: nothing is uploaded
    name, data = dropped[0]
    page.get_by_label("Choose photos or videos to upload").set_input_files(
        files=[{"name": name, "mimeType": "image/jpeg", "buffer": data}]
    )
    again = page.locator(f".upload[data-filename='{name}'][data-status='duplicate']")
    expect(again).to_contain_text("Already in your library")
