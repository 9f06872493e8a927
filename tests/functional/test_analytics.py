"""Analytics over HTTP: a scripted history whose numbers the test knows, read back as JSON and CSV, per role."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.local import LambdaContext

import app
from infra.local.worker import lambda_record
from tests.functional.conftest import ApiClient
from tests.functional.flows import drain, ready_item, upload
from tests.functional.test_api import assert_error
from tests.functional.test_sharing import Vault, body, org
from tests.support.images import jpeg_bytes
from tests.support.tokens import TokenFactory

CORRUPT_JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 200


def deliver_twice(api: ApiClient, s3: Any, sqs: Any, queue_url: str, token: str, data: bytes) -> str:
    """Upload, then hand the processor the same notification twice (SQS's at-least-once delivery)."""
    media_id = upload(api, s3, token, data)
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    event = {"Records": [lambda_record(m, arn, "us-east-1") for m in messages]}
    for _ in range(2):
        assert app.processor(event, LambdaContext("processor", 1536, max_runtime_ms=420_000)) == {
            "batchItemFailures": []
        }
    for message in messages:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return media_id


@pytest.fixture
def history(api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory) -> dict[str, Any]:
    """alice: 3 photos ready (one notification delivered twice), 1 failed; shares one with acme, links another;
    pat (acme) views and downloads the shared one; the link is opened twice."""
    vault = Vault(api, tokens)  # alice, bob, pat, gina and ada each call the API once
    queue = aws["PROCESSING_QUEUE_URL"]
    alice = vault.tokens["alice"]
    sizes = []
    photos = []
    for width in (320, 400):
        data = jpeg_bytes(width, 240)
        sizes.append(len(data))
        photos.append(ready_item(api, s3, sqs, queue, alice, data))
    data = jpeg_bytes(500, 240)
    sizes.append(len(data))
    photos.append(deliver_twice(api, s3, sqs, queue, alice, data))
    upload(api, s3, alice, CORRUPT_JPEG)
    assert drain(sqs, queue) == {"batchItemFailures": []}
    # the same processing outcome reported again (a lease taken over after the first attempt finished)
    recorder = app.processor_services().analytics_recorder
    ready = app.processor_services().media_repository.get(photos[2])
    assert ready is not None
    recorder.processed(ready, "ready")

    vault.grant("alice", photos[0], org("acme"), ["view", "download"])
    link = body(vault.share("alice", photos[1], {"type": "link"}, ["view"]))
    for _ in range(2):
        assert api.request("GET", f"/links/{link['token']}", headers={}, body=b"").status_code == 200
    assert vault.call("pat", "GET", f"/media/{photos[0]}").status_code == 200
    assert vault.call("pat", "GET", f"/media/{photos[0]}/download").status_code == 200
    return {"vault": vault, "bytes": sum(sizes)}


def days() -> str:
    today = datetime.now(UTC).date()
    return f"from={(today - timedelta(days=1)).isoformat()}&to={today.isoformat()}"


def test_the_owner_sees_exactly_what_happened_to_their_media(history: dict[str, Any]) -> None:
    vault: Vault = history["vault"]
    response = vault.call("alice", "GET", f"/me/analytics?{days()}")
    assert response.status_code == 200, response.body
    report = body(response)
    totals = report["totals"]
    assert report["scope"] == "user" and len(report["days"]) == 2
    assert (totals["items_uploaded"], totals["bytes_uploaded"]) == (3, history["bytes"])
    assert (totals["processed_ready"], totals["processed_failed"], totals["processed_rejected"]) == (3, 1, 0)
    assert sum(totals[name] for name in totals if name.startswith("latency_")) == 4
    assert report["latency_ms"]["p50"] is not None
    assert (totals["shares_created"], totals["link_views"], totals["link_downloads"]) == (2, 2, 0)
    assert (totals["grant_views"], totals["grant_downloads"]) == (1, 1)
    assert report["storage"] == {"image": {"items": 3, "bytes": history["bytes"]}}
    # each day is the sum of its counters; the totals are the days added up
    assert sum(day["counts"]["processed_ready"] for day in report["days"]) == 3


def test_the_same_figures_come_as_csv_one_row_per_day(history: dict[str, Any]) -> None:
    vault: Vault = history["vault"]
    response = vault.call("alice", "GET", f"/me/analytics?{days()}&format=csv")
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.body.decode())))
    assert len(rows) == 2 and rows[1]["day"] == datetime.now(UTC).date().isoformat()
    total = {name: sum(int(row[name]) for row in rows) for name in ("items_uploaded", "processed_failed", "link_views")}
    assert total == {"items_uploaded": 3, "processed_failed": 1, "link_views": 2}
    assert sum(int(row["bytes_uploaded"]) for row in rows) == history["bytes"]


def test_a_partner_sees_their_organisation_only(history: dict[str, Any]) -> None:
    vault: Vault = history["vault"]
    acme = body(vault.call("pat", "GET", f"/partner/analytics?{days()}"))
    assert acme["scope"] == "org"
    totals = acme["totals"]
    assert (totals["shares_received"], totals["grant_views"], totals["grant_downloads"]) == (1, 1, 1)
    assert (totals["link_views"], totals["items_uploaded"], totals["shares_created"]) == (0, 0, 0)
    assert totals["active_users"] == 1  # pat
    globex = body(vault.call("gina", "GET", f"/partner/analytics?{days()}"))["totals"]
    assert (globex["shares_received"], globex["grant_views"], globex["active_users"]) == (0, 0, 1)


def test_an_admin_sees_the_whole_system(history: dict[str, Any]) -> None:
    vault: Vault = history["vault"]
    system = body(vault.call("ada", "GET", f"/admin/analytics?{days()}"))
    totals = system["totals"]
    assert system["scope"] == "system"
    assert (totals["processed_ready"], totals["processed_failed"], totals["shares_created"]) == (3, 1, 2)
    assert (totals["grant_views"], totals["link_views"]) == (1, 2)
    assert totals["active_users"] == 5  # alice, bob, pat, gina, ada: once each, however often they called
    assert system["storage"]["image"]["items"] == 3


def test_roles_tokens_and_ranges_are_checked(api: ApiClient, tokens: TokenFactory) -> None:
    vault = Vault(api, tokens)
    assert_error(vault.call("bob", "GET", "/admin/analytics"), 403, "forbidden")
    assert_error(vault.call("bob", "GET", "/partner/analytics"), 403, "forbidden")
    assert api.call("GET", "/me/analytics").status_code == 401
    today = datetime.now(UTC).date()
    reversed_range = f"from={today.isoformat()}&to={(today - timedelta(days=1)).isoformat()}"
    assert_error(vault.call("bob", "GET", f"/me/analytics?{reversed_range}"), 400, "validation_error")
    too_long = f"from={(today - timedelta(days=366)).isoformat()}&to={today.isoformat()}"
    response = vault.call("bob", "GET", f"/me/analytics?{too_long}")
    assert_error(response, 400, "validation_error")
    assert "366 days" in json.loads(response.body)["message"]
    for junk in ("from=yesterday", "format=xml", "to=2026-02-30"):
        assert_error(vault.call("bob", "GET", f"/me/analytics?{junk}"), 400, "validation_error")
    # with no range: the last 30 days, all zeros for someone who did nothing
    quiet = body(vault.call("bob", "GET", "/me/analytics"))
    assert len(quiet["days"]) == 30 and quiet["totals"]["items_uploaded"] == 0 and quiet["storage"] == {}


def test_a_purged_item_leaves_storage_but_stays_counted_as_uploaded(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    vault = Vault(api, tokens)
    media_id = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], vault.tokens["bob"])
    assert body(vault.call("bob", "GET", "/me/analytics"))["storage"]["image"]["items"] == 1
    assert vault.call("bob", "DELETE", f"/media/{media_id}").status_code == 204
    assert vault.call("bob", "DELETE", f"/trash/{media_id}").status_code == 204
    report = body(vault.call("bob", "GET", "/me/analytics"))
    assert report["storage"] == {"image": {"items": 0, "bytes": 0}}
    assert report["totals"]["items_uploaded"] == 1
