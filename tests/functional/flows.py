"""User flows the functional tests share: upload bytes, deliver notifications, make a ready item."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalice.local import LambdaContext

from app import processor
from infra.local.worker import lambda_record
from tests.functional.conftest import ApiClient
from tests.support.images import jpeg_bytes


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


def drain(sqs: Any, queue_url: str, function: Callable[..., Any] = processor) -> dict[str, Any]:
    """Deliver the queued messages (up to 10) to a queue-driven function as Lambda would; return its answer."""
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
        "Messages", []
    )
    assert messages, "the upload produced no notification"
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    event = {"Records": [lambda_record(m, arn, "us-east-1") for m in messages]}
    # As long as the deployed processor has (its timeout): processing budgets come from the time left.
    result: dict[str, Any] = function(event, LambdaContext("processor", 1536, max_runtime_ms=420_000))
    for message in messages:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return result


def ready_item(api: ApiClient, s3: Any, sqs: Any, queue_url: str, token: str, data: bytes | None = None) -> str:
    """Upload and process a photo; its media id."""
    media_id = upload(api, s3, token, data or jpeg_bytes(320, 240))
    assert drain(sqs, queue_url) == {"batchItemFailures": []}
    return media_id
