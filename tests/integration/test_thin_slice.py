"""The thin slice over real HTTP: token -> upload ticket -> S3 POST -> queue -> worker -> ready item."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import requests

from infra.local.stack import DevStack
from tests.support.http import ApiSession, password_token
from tests.support.images import image_format, image_size, jpeg_bytes


def session(stack: DevStack, username: str | None) -> ApiSession:
    return ApiSession(stack.api_url, password_token(stack.issuer, username) if username else None)


def test_health_and_openapi_are_public(stack: DevStack) -> None:
    anonymous = session(stack, None)
    assert anonymous.call("GET", "/health").json() == {"status": "ok"}
    assert "/uploads" in anonymous.call("GET", "/openapi.json").json()["paths"]


def test_upload_becomes_ready_with_a_viewable_thumbnail(stack: DevStack) -> None:
    alice = session(stack, "alice")
    media_id, stored = alice.upload(jpeg_bytes(2000, 1500))
    assert stored.status_code in (200, 201, 204), stored.text
    item = alice.wait_for_status(media_id, {"ready", "failed"})
    assert item["status"] == "ready", item
    assert (item["width"], item["height"]) == (2000, 1500)
    thumbnail = requests.get(item["renditions"]["thumbnail"]["url"], timeout=10)
    assert thumbnail.status_code == 200
    assert image_format(thumbnail.content) == "WEBP"
    assert max(image_size(thumbnail.content)) == 256


def test_a_pdf_declared_as_jpeg_is_rejected_and_a_corrupt_jpeg_fails(stack: DevStack) -> None:
    alice = session(stack, "alice")
    pdf, _ = alice.upload(b"%PDF-1.7 definitely not a jpeg")
    corrupt, _ = alice.upload(b"\xff\xd8\xff\xe0" + bytes(500))
    rejected = alice.wait_for_status(pdf, {"ready", "failed", "rejected"})
    failed = alice.wait_for_status(corrupt, {"ready", "failed", "rejected"})
    assert (rejected["status"], failed["status"]) == ("rejected", "failed")
    assert "not a photo or video format" in rejected["failure_reason"]
    assert failed["failure_reason"]


def test_identity_errors_and_isolation(stack: DevStack) -> None:
    alice, bob = session(stack, "alice"), session(stack, "bob")
    media_id, _ = alice.upload(jpeg_bytes(64, 64))
    for client in (session(stack, None), ApiSession(stack.api_url, "garbage.token.here")):
        response = client.call("GET", f"/media/{media_id}")
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
    others = bob.call("GET", f"/media/{media_id}")
    missing = alice.call("GET", "/media/ffffffffffffffffffffffffffffffff")
    assert others.status_code == missing.status_code == 404
    assert others.json() == missing.json()
    bad = alice.call("POST", "/uploads", {"filename": "x.jpg", "content_type": "image/jpeg", "size": -3})
    assert bad.status_code == 400
    assert set(bad.json()) == {"code", "message", "errors"}
    assert [problem["field"] for problem in bad.json()["errors"]] == ["size"]


def test_poison_message_ends_in_the_dead_letter_queue(stack: DevStack) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=stack.emulator_url)
    queue_url = stack.env["PROCESSING_QUEUE_URL"]
    dlq_url = queue_url + "-dlq"
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]}))
    deadline = time.monotonic() + 30
    received: list[dict[str, Any]] = []
    while not received and time.monotonic() < deadline:
        received = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1).get("Messages", [])
    assert received, "the poison message never reached the dead-letter queue"
    assert "ObjectCreated:Put" in received[0]["Body"]


def test_a_grantees_read_reaches_the_owners_audit_feed_and_analytics_through_the_recorder(stack: DevStack) -> None:
    # The API spools the audit entry and the view count; the recorder worker writes them a moment later.
    alice, bob = session(stack, "alice"), session(stack, "bob")
    bob.call("GET", "/me").raise_for_status()
    media_id, _ = alice.upload(jpeg_bytes(64, 64))
    assert alice.wait_for_status(media_id, {"ready", "failed"})["status"] == "ready"
    grant = {"grantee": {"type": "user", "username": "bob"}, "permissions": ["view"]}
    assert alice.call("POST", f"/media/{media_id}/shares", grant).status_code == 201
    today = time.strftime("%Y-%m-%d", time.gmtime())
    before = alice.call("GET", f"/me/analytics?from={today}&to={today}").json()["totals"]["grant_views"]
    assert bob.call("GET", f"/media/{media_id}").status_code == 200
    deadline = time.monotonic() + 15
    while True:
        feed = alice.call("GET", "/me/audit").json()["entries"]
        reads = [e for e in feed if e["resource"] == f"media#{media_id}" and e["action"] == "media.read"]
        views = alice.call("GET", f"/me/analytics?from={today}&to={today}").json()["totals"]["grant_views"]
        if (reads and views == before + 1) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [e["actor_name"] for e in reads] == ["bob"]
    assert views == before + 1
