"""The console's admin and partner pages in a real browser: users, settings, analytics, audit, moderation, partner.

GIVEN a local stack serving the built console, WHEN an admin (ada) or a partner (pat, organisation acme) uses the
pages in headless Chromium, THEN they see what the API says, including its error messages, and only the header
links their role may use.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from infra.local.stack import DevStack
from shared.adapters.dynamo.media_model import review_shard
from tests.browser.conftest import screenshot_path, sign_in
from tests.support.http import ApiSession, password_token

MB = 1024 * 1024
AUDIT_DELIVERY_TIMEOUT_S = 30.0
ANALYSIS_TIMEOUT_S = 30.0
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def ada_api(stack: DevStack) -> ApiSession:
    return ApiSession(stack.api_url, password_token(stack.issuer, "ada"))


def _display(error: dict[str, Any]) -> str:
    """The text the console shows for an API error body (ApiError.display in clients/web/src/api.ts)."""
    message = str(error["message"])
    # Field problems the message does not already spell out are appended.
    extra = [f"{p['field']}: {p['problem']}" for p in error.get("errors", [])]
    extra = [text for text in extra if text not in message]
    return f"{message}: {'; '.join(extra)}" if extra else message


def _wait_for_moderation(api: ApiSession, media_id: str) -> None:
    """Until the analyzer has scored the item (its own write would otherwise unflag one flagged before it)."""
    deadline = time.monotonic() + ANALYSIS_TIMEOUT_S
    while api.call("GET", f"/media/{media_id}").json().get("moderation") is None:
        assert time.monotonic() < deadline, f"the analyzer did not score {media_id} in {ANALYSIS_TIMEOUT_S} s"
        time.sleep(0.2)


def _flag_for_review(stack: DevStack, media_id: str) -> None:
    """What the analyzer's write leaves on an item whose score reached the threshold (media_model.py attributes)."""
    dynamodb = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=stack.dynamodb_url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    flagged_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")  # PynamoDB's UTCDateTimeAttribute form
    moderation = {"score": 0.93, "labels": ["test"], "provider": "test", "model": "test"}
    dynamodb.update_item(
        TableName=stack.env["MEDIA_TABLE"],
        Key={"media_id": {"S": media_id}},
        UpdateExpression="SET flagged = :t, flagged_at = :at, review_shard = :shard, moderation = :m",
        ConditionExpression="attribute_exists(media_id)",
        ExpressionAttributeValues={
            ":t": {"BOOL": True},
            ":at": {"S": flagged_at},
            ":shard": {"S": review_shard(media_id)},
            ":m": {"S": json.dumps(moderation)},
        },
    )


def test_an_admin_changes_a_quota_and_settings_sees_analytics_and_finds_her_change_in_the_audit_log(
    page: Any, stack: DevStack, ada_api: ApiSession
) -> None:
    bob_api = ApiSession(stack.api_url, password_token(stack.issuer, "bob"))
    assert bob_api.call("GET", "/me").ok  # bob's vault account exists once he has called the API
    ada_id = ada_api.call("GET", "/me").json()["user_id"]
    sign_in(page, stack, "ada")

    # Users: bob's quota
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("heading", name="Users").wait_for()
    assert page.get_by_role("link", name="Partner").is_hidden()
    page.get_by_label("Storage quota of bob (MB)").fill("2048")
    page.get_by_role("button", name="Save bob's quota").click()
    bob_card = page.locator(".admin-user[data-username='bob']")
    bob_card.get_by_text("Quota saved: 2.0 GB.").wait_for()
    assert bob_api.call("GET", "/me").json()["quota_bytes"] == 2048 * MB
    page.screenshot(path=str(screenshot_path("admin-users-quota-saved")), full_page=True)

    # Settings: an invalid change shows the API's message, a valid one lands in the history
    page.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Settings").click()
    threshold = page.get_by_label("Moderation threshold (0 to 1)")
    page.wait_for_function("el => el.value !== ''", arg=threshold.element_handle())
    settings = ada_api.call("GET", "/admin/settings").json()
    expected = ada_api.call("PATCH", "/admin/settings", {"version": settings["version"], "moderation_threshold": 1.5})
    assert expected.status_code == 400, expected.text
    threshold.fill("1.5")
    page.get_by_role("button", name="Save settings").click()
    alert = page.locator(".settings-form [role='alert']")
    alert.wait_for()
    assert alert.inner_text() == _display(expected.json())
    page.screenshot(path=str(screenshot_path("admin-settings-invalid")), full_page=True)

    retention = settings["trash_retention_days"] % 90 + 1
    threshold.fill(str(settings["moderation_threshold"]))
    page.get_by_label("Days in the trash before deletion").fill(str(retention))
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text(f"Saved: version {settings['version'] + 1}.").wait_for()
    row = page.locator(f"table.history tr[data-version='{settings['version'] + 1}']")
    row.wait_for()
    assert "trash_retention_days" in row.inner_text() and f"→ {retention}" in row.inner_text()
    assert "ada" in row.inner_text()
    page.screenshot(path=str(screenshot_path("admin-settings-history")), full_page=True)

    # Analytics: daily bars over the default range (30 days)
    page.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Analytics").click()
    chart = page.get_by_role("img", name="Items uploaded per day")
    chart.wait_for()
    assert page.locator("svg.bars rect.bar").count() == 30
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    page.screenshot(path=str(screenshot_path("admin-analytics")), full_page=True)

    # Audit: her own settings change (entries are delivered by the recorder: search until it is there)
    page.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Audit log").click()
    page.get_by_label("Actor (user id)").fill(ada_id)
    page.get_by_label("Action").fill("admin.settings.update")
    entries = page.locator("table.audit tr[data-action='admin.settings.update']")
    deadline = time.monotonic() + AUDIT_DELIVERY_TIMEOUT_S
    while True:
        with page.expect_response(lambda r: "/admin/audit?" in r.url):
            page.get_by_role("button", name="Search").click()
        if entries.count() > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert entries.count() >= 1, "ada's settings change is in the audit log"
    assert "ada" in entries.first.inner_text()
    page.screenshot(path=str(screenshot_path("admin-audit-search")), full_page=True)

    # Maintenance: a report-only reconcile answers with a job id that the page follows
    page.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Maintenance").click()
    page.get_by_role("button", name="Reconcile: report only").click()
    page.locator(".job[data-job-id]").wait_for()
    page.locator(".dlq-queue").first.wait_for()  # the dead-letter queues are listed
    page.screenshot(path=str(screenshot_path("admin-maintenance")), full_page=True)

    # A phone-sized window
    page.set_viewport_size(PHONE)
    page.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Users").click()
    page.get_by_label("Storage quota of bob (MB)").wait_for()
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), "no sideways scroll"
    page.screenshot(path=str(screenshot_path("admin-users-phone")), full_page=True)


def test_a_flagged_item_is_in_the_moderation_queue_and_an_admin_approves_it(
    page: Any, stack: DevStack, ready_photo: dict[str, Any], ada_api: ApiSession, alice_api: ApiSession
) -> None:
    media_id = ready_photo["media_id"]
    _wait_for_moderation(alice_api, media_id)
    _flag_for_review(stack, media_id)
    sign_in(page, stack, "ada")

    page.goto(f"{stack.web_url}/#/admin/moderation")
    card = page.locator(f".moderation-item[data-media-id='{media_id}']")
    preview = card.get_by_role("img", name="harbour.jpg")
    preview.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    assert "0.93" in card.inner_text()
    page.screenshot(path=str(screenshot_path("admin-moderation-queue")), full_page=True)

    card.get_by_label("Reason for harbour.jpg").fill("Looks fine")
    card.get_by_role("button", name="Approve harbour.jpg").click()

    card.get_by_text("Approved: harbour.jpg is no longer flagged.").wait_for()
    queued = [item["media_id"] for item in ada_api.call("GET", "/admin/moderation?limit=100").json()["items"]]
    assert media_id not in queued
    page.screenshot(path=str(screenshot_path("admin-moderation-approved")), full_page=True)


def test_a_partner_sees_the_media_shared_with_the_organisation_and_its_analytics_but_no_admin_pages(
    page: Any, stack: DevStack, ready_photo: dict[str, Any], alice_api: ApiSession
) -> None:
    media_id = ready_photo["media_id"]
    share = {"grantee": {"type": "org", "org": "acme"}, "permissions": ["view", "download"]}
    granted = alice_api.call("POST", f"/media/{media_id}/shares", share)
    assert granted.status_code == 201, granted.text
    sign_in(page, stack, "pat")

    partner_link = page.get_by_role("link", name="Partner")
    partner_link.wait_for()
    assert page.get_by_role("link", name="Admin").count() == 0, "no admin link for a partner"
    partner_link.click()
    card = page.locator(f".card[data-media-id='{media_id}']")
    thumbnail = card.get_by_role("img", name="harbour.jpg")
    thumbnail.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    assert "View, Download" in card.inner_text()
    page.screenshot(path=str(screenshot_path("partner-media")), full_page=True)

    page.get_by_role("navigation", name="Partner sections").get_by_role("link", name="Analytics").click()
    page.get_by_role("heading", name="Organisation analytics").wait_for()
    page.get_by_label("Chart").select_option("shares_received")
    chart = page.get_by_role("img", name="Shares received per day")
    chart.wait_for()
    assert page.locator("svg.bars rect.bar").count() == 30
    page.screenshot(path=str(screenshot_path("partner-analytics")), full_page=True)

    # The admin pages are not pat's: opened by hand, they show the API's refusal.
    page.goto(f"{stack.web_url}/#/admin/users")
    alert = page.get_by_role("alert")
    alert.wait_for()
    pat_api = ApiSession(stack.api_url, password_token(stack.issuer, "pat"))
    assert alert.inner_text() == pat_api.call("GET", "/admin/users?first=0&max=20").json()["message"]
