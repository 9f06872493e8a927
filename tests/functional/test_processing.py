"""Upload -> S3 notification -> SQS -> processor, on moto, through the app's Lambda entry point."""

from __future__ import annotations

import json
from typing import Any

from tests.functional.conftest import ApiClient
from tests.functional.flows import drain, upload
from tests.support.images import image_format, image_size, jpeg_bytes
from tests.support.tokens import TokenFactory


def test_uploaded_jpeg_becomes_ready_with_a_thumbnail(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    token = tokens.token("alice")
    media_id = upload(api, s3, token, jpeg_bytes(1200, 900))
    assert drain(sqs, aws["PROCESSING_QUEUE_URL"]) == {"batchItemFailures": []}
    item = json.loads(api.call("GET", f"/media/{media_id}", token).body)
    assert item["status"] == "ready"
    assert (item["width"], item["height"]) == (1200, 900)
    thumbnail = item["renditions"]["thumbnail"]
    assert (thumbnail["width"], thumbnail["height"]) == (256, 192)
    key = f"renditions/user-alice/{media_id}/thumbnail.webp"
    assert thumbnail["url"].split("?")[0].endswith(key)
    stored = s3.get_object(Bucket=aws["MEDIA_BUCKET"], Key=key)["Body"].read()
    assert image_format(stored) == "WEBP"
    assert image_size(stored) == (256, 192)


def test_unreadable_upload_fails_with_a_reason_and_leaves_no_rendition(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    token = tokens.token("alice")
    media_id = upload(api, s3, token, b"<html><script>alert(1)</script></html>")
    assert drain(sqs, aws["PROCESSING_QUEUE_URL"]) == {"batchItemFailures": []}
    item = json.loads(api.call("GET", f"/media/{media_id}", token).body)
    assert item["status"] == "failed"
    assert "not a readable image" in item["failure_reason"]
    assert item["renditions"] == {}
    listing = s3.list_objects_v2(Bucket=aws["MEDIA_BUCKET"], Prefix="renditions/")
    assert listing.get("KeyCount", 0) == 0
