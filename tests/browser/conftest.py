"""Browser tier: the built web console in headless Chromium (Debian's package) against a local stack.

One DevStack (with the console's static server) and one browser for the session; each test gets a fresh
browser context (no cookies, no tokens). Screenshots land in .build/screenshots/ (git-ignored).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local.stack import ROOT, DevStack, Ports
from tests.conftest import free_port
from tests.support.http import ApiSession, password_token
from tests.support.images import jpeg_bytes
from tests.support.stacks import watched_stack

CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
CONSOLE_DIST = ROOT / "clients" / "web" / "dist" / "index.html"
SCREENSHOTS = ROOT / ".build" / "screenshots"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    if not CONSOLE_DIST.is_file():
        pytest.fail("the web console is not built: run `make install` (npm ci && npm run build in clients/web)")
    logs = tmp_path_factory.mktemp("browser-stack-logs")
    ports = Ports(emulator=free_port(), identity=free_port(), api=free_port(), dynamodb=free_port(), web=free_port())
    yield from watched_stack(
        ports,
        logs,
        "media-vault-browser",
        # Multipart from 6 MiB in 5 MiB parts (S3's minimum): the console's resumable uploads are testable.
        extra_env={"MULTIPART_THRESHOLD_BYTES": str(6 * 1024 * 1024), "MULTIPART_PART_BYTES": str(5 * 1024 * 1024)},
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make install` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # this run's artefacts only
    SCREENSHOTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        # Playwright's own browser download cannot work here: drive the distribution's Chromium.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh context and page; console errors are collected, and a screenshot is kept when the test fails."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        page.screenshot(path=str(screenshot_path(f"FAILED-{request.node.name}")), full_page=True)
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


def screenshot_path(name: str) -> Path:
    """Where a named screenshot goes."""
    return SCREENSHOTS / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + ".png")


def sign_in(page: Any, stack: DevStack, username: str = "alice") -> None:
    """Open the console and sign in through the identity server's real login page, by keyboard."""
    page.goto(stack.web_url + "/")
    sign_in_button = page.get_by_role("button", name="Sign in")
    sign_in_button.wait_for()
    page.keyboard.press("Enter")  # the console focuses its Sign in button
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(username)
    page.get_by_label("Password").press("Enter")
    page.get_by_text(f"Signed in as {username}").wait_for()


@pytest.fixture(scope="session")
def alice_api(stack: DevStack) -> ApiSession:
    return ApiSession(stack.api_url, password_token(stack.issuer, "alice"))


@pytest.fixture(scope="session")
def bob_api(stack: DevStack) -> ApiSession:
    """Bob's view of the API; his vault account exists once he has called it."""
    bob = ApiSession(stack.api_url, password_token(stack.issuer, "bob"))
    assert bob.call("GET", "/me").ok
    return bob


@pytest.fixture
def ready_photo(alice_api: ApiSession) -> dict[str, Any]:
    """A photo of alice's, uploaded through the API and processed."""
    media_id, stored = alice_api.upload(jpeg_bytes(800, 600), filename="harbour.jpg")
    assert stored.status_code in (200, 204), stored.text
    item = alice_api.wait_for_status(media_id, {"ready", "failed", "rejected"})
    assert item["status"] == "ready", item
    return item
