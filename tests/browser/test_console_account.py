"""The account page in a real browser: a person exports their data and downloads the archive, then deletes their
account and is signed out; the API refuses the erased account afterwards.

A user of their own (made in the realm for this test) is erased, so the seed users the other tests share stay.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import requests

from infra.local.stack import DevStack
from tests.browser.conftest import screenshot_path, sign_in
from tests.support.http import ApiSession, password_token
from tests.support.images import jpeg_bytes
from tests.support.realm import create_realm_user

EXPORT_TIMEOUT_MS = 90_000


def test_a_person_exports_their_data_then_deletes_their_account(page: Any, stack: DevStack) -> None:
    # GIVEN erin, a realm user with one processed photo
    create_realm_user(stack.issuer, "erin")
    erin = ApiSession(stack.api_url, password_token(stack.issuer, "erin"))
    media_id, stored = erin.upload(jpeg_bytes(640, 480), filename="lighthouse.jpg")
    assert stored.status_code in (200, 204), stored.text
    assert erin.wait_for_status(media_id, {"ready", "failed", "rejected"})["status"] == "ready"
    sign_in(page, stack, "erin")

    # WHEN she opens her account page and asks for an export
    page.get_by_role("link", name="Account").click()
    page.get_by_role("heading", name="Your account", exact=True).wait_for()
    page.get_by_role("button", name="Export my data").click()

    # THEN it reports its progress and ends with a download holding her photo
    page.get_by_text("Your export is ready").wait_for(timeout=EXPORT_TIMEOUT_MS)
    link = page.get_by_role("link", name="Download").first
    archive = requests.get(str(link.get_attribute("href")), timeout=30)
    assert archive.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert any(name.startswith(f"media/{media_id}/") and name.endswith("lighthouse.jpg") for name in names), names
    page.screenshot(path=str(screenshot_path("account-export-ready")))

    # WHEN she comes back to the page later; THEN the finished export is still offered
    page.goto(stack.web_url + "/#/")
    page.goto(stack.web_url + "/#/account")
    page.get_by_text("Your export is ready").wait_for(timeout=EXPORT_TIMEOUT_MS)

    # WHEN she types a name other than hers; THEN deleting stays impossible
    confirm = page.get_by_label("Type your username (erin) to confirm")
    delete = page.get_by_role("button", name="Delete my account and data")
    confirm.fill("alice")
    assert delete.is_disabled()
    page.screenshot(path=str(screenshot_path("account-delete-confirm")))

    # WHEN she types her own and deletes
    confirm.fill("erin")
    delete.click()

    # THEN she is told, signed out, and the API refuses her account from then on
    page.get_by_text("Your account is closed").wait_for()
    page.get_by_role("button", name="Sign in").wait_for(timeout=15_000)
    refused = ApiSession(stack.api_url, password_token(stack.issuer, "erin")).call("GET", "/media")
    assert refused.status_code == 403, refused.text
    assert refused.json()["message"] == "this account was erased"
