"""Upload -> S3 notification -> SQS -> processor, on moto, through the app's Lambda entry point."""

from __future__ import annotations

import json
from typing import Any

from chalice.local import LambdaContext

from app import processor
from infra.local.worker import lambda_record
from tests.functional.conftest import ApiClient
from tests.support.images import image_format, image_size, jpeg_bytes
from tests.support.tokens import TokenFactory


def upload(api: ApiClient, s3: Any, token: str, data: bytes, content_type: str = "image/jpeg") -> str:
    """Declare a file and put its bytes at the key the API chose (moto checks no POST policy)."""
    response = api.call(
        "POST", "/uploads", token, {"filename": "photo.jpg", "content_type": content_type, "size": len(data)}
    )
    assert response.status_code == 201, response.body
    ticket = json.loads(response.body)
    fields = ticket["upload"]["fields"]
    bucket = ticket["upload"]["url"].rstrip("/").rsplit("/", 1)[-1]
    s3.put_object(Bucket=bucket, Key=fields["key"], Body=data, ContentType=content_type)
    return str(ticket["media_id"])


def drain(sqs: Any, queue_url: str) -> dict[str, Any]:
    """Deliver every queued notification to the processor as Lambda would; return its answer."""
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
        "Messages", []
    )
    assert messages, "the upload produced no notification"
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    event = {"Records": [lambda_record(m, arn, "us-east-1") for m in messages]}
    result: dict[str, Any] = processor(event, LambdaContext("processor", 1536))
    return result


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
