"""`make bench`: the web console over a 1,000-item library in headless Chromium: navigation to the first thumbnail
painted and to a full first screen, against the API's own GET /media (first page) with the console's token in the
same run; and the first page's bundle (index.html, JS, CSS) gzipped against its 200 KB goal."""

from __future__ import annotations

import gzip
import io
import re
import statistics
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
import requests
from PIL import Image

from infra.local.stack import DevStack, Ports
from shared.domain.media import rendition_key
from tests.browser.conftest import CHROMIUM, CONSOLE_DIST, TIMEOUT_MS, sign_in
from tests.conftest import free_port
from tests.perf.measure import row, seed_ready_items, timed
from tests.support.http import password_token
from tests.support.images import jpeg_bytes
from tests.support.stacks import watched_stack

ITEMS = 1_000
LOADS = 5  # each load is a fresh context and a real sign-in (tokens live in the page's memory only)
BUNDLE_GOAL_BYTES = 200 * 1000
VIEWPORT = {"width": 1280, "height": 900}

# Runs in every document before the console's code. Timestamps are performance.now(): milliseconds since the
# document's navigation started. An image counts once it has loaded (complete, naturalWidth > 0) and the frame
# after its load event has run (the nearest a page script gets to "painted"). The first screen is full when the
# grid's first page is in (aria-busy false) and every tile image intersecting the viewport has loaded.
PROBE = """
window.__bench = {};
const loaded = (img) => img.complete && img.naturalWidth > 0;
const inView = (img) => {
  const r = img.getBoundingClientRect();
  return r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
};
const check = (at) => {
  const grid = document.querySelector("ul.grid");
  if (!grid || grid.getAttribute("aria-busy") !== "false") return;
  const tiles = [...grid.querySelectorAll("img")];
  if (window.__bench.first === undefined && tiles.some(loaded)) window.__bench.first = at;
  const visible = tiles.filter(inView);
  if (window.__bench.full === undefined && visible.length > 0 && visible.every(loaded)) {
    window.__bench.full = at;
    window.__bench.tiles = visible.length;
  }
};
document.addEventListener("load", (event) => {
  if (event.target instanceof HTMLImageElement) requestAnimationFrame(() => check(performance.now()));
}, true);
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    if not CONSOLE_DIST.is_file():
        pytest.fail("the web console is not built: run `make web`")
    ports = Ports(emulator=free_port(), identity=free_port(), api=free_port(), dynamodb=free_port(), web=free_port())
    logs = tmp_path_factory.mktemp("bench-console")
    yield from watched_stack(ports, logs, "media-vault-bench-console", {"POWERTOOLS_LOG_LEVEL": "WARNING"})


def thumbnail_webp() -> bytes:
    """A thumbnail as the processor makes them (256 px wide, WEBP)."""
    out = io.BytesIO()
    Image.open(io.BytesIO(jpeg_bytes(256, 192))).save(out, format="WEBP")
    return out.getvalue()


def seed_library(stack: DevStack, owner: str) -> None:
    """ITEMS ready photos of `owner`, each with a stored thumbnail rendition (records and objects written directly)."""
    dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=stack.dynamodb_url)
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=stack.emulator_url)
    table, bucket, body = stack.env["MEDIA_TABLE"], stack.env["MEDIA_BUCKET"], thumbnail_webp()

    def add_thumbnail(media_id: str) -> None:
        key = rendition_key(owner, media_id, "thumbnail", "webp")
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="image/webp")
        rendition = {
            "key": {"S": key},
            "width": {"N": "256"},
            "height": {"N": "192"},
            "content_type": {"S": "image/webp"},
        }
        dynamodb.update_item(
            TableName=table,
            Key={"media_id": {"S": media_id}},
            UpdateExpression="SET renditions = :r, width = :w, height = :h",
            ExpressionAttributeValues={
                ":r": {"M": {"thumbnail": {"M": rendition}}},
                ":w": {"N": "1024"},
                ":h": {"N": "768"},
            },
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(add_thumbnail, seed_ready_items(dynamodb, table, owner, ITEMS)))


def console_load(browser: Any, stack: DevStack) -> dict[str, Any]:
    """Sign in on a fresh context and time the console's return from sign-in to its library's first screen."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(script=PROBE)
    page = context.new_page()
    seen: dict[str, str] = {}

    def note_listing(request: Any) -> None:
        if re.search(r"/media\?", request.url) and "authorization" in request.headers:
            seen.setdefault("url", request.url)
            seen.setdefault("token", request.headers["authorization"])

    page.on("request", note_listing)
    try:
        sign_in(page, stack)
        page.wait_for_function("window.__bench.full !== undefined")
        figures: dict[str, Any] = page.evaluate(
            """() => {
              const nav = performance.getEntriesByType("navigation")[0];
              const listing = performance.getEntriesByType("resource").find((e) => /\\/media\\?/.test(e.name));
              return { ...window.__bench, fetchStart: nav.fetchStart, listing: listing ? listing.duration : null };
            }"""
        )
    finally:
        context.close()
    return {**figures, **seen}


def test_bench_console_first_screen_against_api_listing(stack: DevStack) -> None:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make install` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    token = password_token(stack.issuer, "alice")
    owner = requests.get(f"{stack.api_url}/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    seed_library(stack, owner["user_id"])

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            loads = [console_load(browser, stack) for _ in range(LOADS)]
        finally:
            browser.close()

    # The console's own listing request, replayed with its own token: the API's share of the wait.
    last = loads[-1]
    session = requests.Session()
    session.headers["Authorization"] = last["token"]
    listing = session.get(last["url"], timeout=10)
    listing.raise_for_status()
    api_page = timed(lambda: session.get(last["url"], timeout=10).raise_for_status(), samples=50)

    # From the console document's own request (after the identity server's redirect) to the figure.
    first = [(load["first"] - load["fetchStart"]) / 1000 for load in loads]
    full = [(load["full"] - load["fetchStart"]) / 1000 for load in loads]
    in_page = [load["listing"] / 1000 for load in loads if load["listing"] is not None]
    api_p50 = statistics.median(api_page)
    print(
        f"\n== console over {ITEMS} items: return from sign-in to the library, {LOADS} loads in headless Chromium "
        f"(first page {len(listing.json()['items'])} items, {loads[-1]['tiles']} tiles in a "
        f"{VIEWPORT['width']}x{VIEWPORT['height']} viewport)"
    )
    print(row("GET /media page 1, requests (baseline)", api_page))
    print(row("GET /media page 1, in the console", in_page, api_page))
    print(row("navigation -> first thumbnail", first, api_page))
    print(row("navigation -> full first screen", full, api_page))
    redirect = statistics.median(load["fetchStart"] for load in loads)
    print(f"  (before the console's request: the identity server's redirect, p50 {redirect:.0f} ms, not counted)")
    print(
        f"  ratios p50: first thumbnail {statistics.median(first) / api_p50:.1f}x, "
        f"full first screen {statistics.median(full) / api_p50:.1f}x the API's GET /media"
    )
    assert len(listing.json()["items"]) > 0


def test_bench_console_bundle_fits_its_goal() -> None:
    if not CONSOLE_DIST.is_file():
        pytest.fail("the web console is not built: run `make web`")
    dist = CONSOLE_DIST.parent
    index = CONSOLE_DIST.read_text()
    # What the index page itself loads: its module script and stylesheets (the source map only with dev tools open).
    loaded = ["index.html", *(p.lstrip("/") for p in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', index))]
    sizes = {
        name: (len(data), len(gzip.compress(data, compresslevel=6)))
        for name in loaded
        for data in [(dist / name).read_bytes()]
    }
    raw, packed = sum(s[0] for s in sizes.values()), sum(s[1] for s in sizes.values())
    print(f"\n== console first-page bundle, gzip -6 (goal {BUNDLE_GOAL_BYTES / 1000:.0f} KB)")
    for name, (size, gz) in sizes.items():
        print(f"  {name:<12} {size / 1000:7.1f} KB raw  {gz / 1000:6.1f} KB gzip")
    print(
        f"  {'total':<12} {raw / 1000:7.1f} KB raw  {packed / 1000:6.1f} KB gzip"
        f"  ({packed / BUNDLE_GOAL_BYTES:.0%} of goal)"
    )
    assert {"index.html", "app.js", "app.css"} <= set(sizes), sizes
    assert packed <= BUNDLE_GOAL_BYTES
