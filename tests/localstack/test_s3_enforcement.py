"""What moto cannot show: real S3 (LocalStack, signature validation on) enforces the presigned POST.

The API pins each upload to one key, one exact Content-Type and 1..size bytes, for 300 s. These
tests send real multipart POSTs to the URL the API hands out and assert on S3's own answer
(status and XML error code), then on what the system did afterwards.
"""

from __future__ import annotations

import io
import time
from typing import Any

import requests
from botocore.exceptions import ClientError
from PIL import Image

from infra.local.stack import DevStack
from shared.adapters.storage import S3Storage
from tests.localstack.conftest import ApiClient, post_form_upload, s3_error, wait_for
from tests.support.images import jpeg_bytes

PROCESSING_TIMEOUT = 30
THUMBNAIL_LONG_SIDE = 256


def issue_upload(
    client: ApiClient, data: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg"
) -> dict[str, Any]:
    """POST /uploads for these bytes; the 201 body."""
    response = client.create_upload(filename, content_type, len(data))
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    assert ticket["upload"]["method"] == "POST"
    return ticket


def object_exists(s3_client: Any, bucket: str, key: str) -> bool:
    """HEAD the object on LocalStack's S3."""
    try:
        s3_client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise
    return True


def assert_still_pending(client: ApiClient, media_id: str) -> None:
    """The item exists and was never processed."""
    response = client.get_media(media_id)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "pending"


def test_thin_slice_upload_is_processed_into_a_webp_thumbnail(alice: ApiClient) -> None:
    # GIVEN alice holds a presigned POST for a real 640x480 JPEG
    photo = jpeg_bytes(640, 480)
    ticket = issue_upload(alice, photo)
    upload = ticket["upload"]

    # WHEN she POSTs the signed fields and the file straight to S3
    response = post_form_upload(upload["url"], upload["fields"], photo)

    # THEN S3 accepts it, and the S3 -> SQS -> worker pipeline makes the item ready
    assert response.status_code in (201, 204), response.text

    def ready() -> dict[str, Any] | None:
        item: dict[str, Any] = alice.get_media(ticket["media_id"]).json()
        assert item["status"] != "failed", item
        return item if item["status"] == "ready" else None

    item = wait_for(ready, timeout=PROCESSING_TIMEOUT)
    assert (item["width"], item["height"]) == (640, 480)

    # AND the thumbnail URL (presigned GET, signature enforced) serves a WebP of at most 256 px
    thumbnail = requests.get(item["renditions"]["thumbnail"]["url"], timeout=10)
    assert thumbnail.status_code == 200, thumbnail.text
    with Image.open(io.BytesIO(thumbnail.content)) as image:
        assert image.format == "WEBP"
        assert max(image.size) <= THUMBNAIL_LONG_SIDE
        assert image.size[0] > image.size[1]  # landscape stays landscape


def test_s3_rejects_a_file_larger_than_declared(alice: ApiClient, stack: DevStack, s3_client: Any) -> None:
    # GIVEN a presigned POST for a file declared at its real size
    photo = jpeg_bytes(320, 240)
    ticket = issue_upload(alice, photo)
    upload = ticket["upload"]

    # WHEN the client sends more bytes than it declared
    response = post_form_upload(upload["url"], upload["fields"], photo + b"\0" * 1024)

    # THEN S3 itself refuses it (content-length-range), nothing is stored and the item stays pending
    assert response.status_code == 400, response.text
    assert s3_error(response).code == "EntityTooLarge"
    assert not object_exists(s3_client, stack.env["MEDIA_BUCKET"], upload["fields"]["key"])
    time.sleep(1)  # a wrongly accepted upload would have been picked up by the worker by now
    assert_still_pending(alice, ticket["media_id"])


def test_s3_rejects_a_different_content_type(alice: ApiClient, stack: DevStack, s3_client: Any) -> None:
    # GIVEN a presigned POST for a JPEG
    photo = jpeg_bytes(320, 240)
    ticket = issue_upload(alice, photo)
    upload = ticket["upload"]

    # WHEN the form claims another Content-Type than the signed one
    fields = {**upload["fields"], "Content-Type": "text/html"}
    response = post_form_upload(upload["url"], fields, photo, content_type="text/html")

    # THEN S3 refuses the policy (403 AccessDenied) and stores nothing
    assert response.status_code == 403, response.text
    error = s3_error(response)
    assert error.code == "AccessDenied"
    assert "Content-Type" in error.message
    assert not object_exists(s3_client, stack.env["MEDIA_BUCKET"], upload["fields"]["key"])
    assert_still_pending(alice, ticket["media_id"])


def test_s3_rejects_the_signed_fields_reused_for_another_key(alice: ApiClient, stack: DevStack, s3_client: Any) -> None:
    # GIVEN two presigned POSTs, each pinned to its own item's key
    photo = jpeg_bytes(320, 240)
    first = issue_upload(alice, photo)
    second = issue_upload(alice, photo, filename="other.jpg")
    signed_key = first["upload"]["fields"]["key"]
    other_key = second["upload"]["fields"]["key"]
    assert other_key != signed_key

    # WHEN the first ticket's signed fields are sent with the second item's key
    fields = {**first["upload"]["fields"], "key": other_key}
    response = post_form_upload(first["upload"]["url"], fields, photo)

    # THEN S3 refuses the policy (403 AccessDenied): nothing lands at either key, both stay pending
    assert response.status_code == 403, response.text
    error = s3_error(response)
    assert error.code == "AccessDenied"
    assert "key" in error.message
    bucket = stack.env["MEDIA_BUCKET"]
    assert not object_exists(s3_client, bucket, other_key)
    assert not object_exists(s3_client, bucket, signed_key)
    assert_still_pending(alice, first["media_id"])
    assert_still_pending(alice, second["media_id"])


def test_s3_rejects_an_expired_policy(alice: ApiClient, stack: DevStack, s3_client: Any) -> None:
    # GIVEN the app's own presigner issues a policy that expires after 1 s (the API uses 300 s)
    photo = jpeg_bytes(320, 240)
    ticket = issue_upload(alice, photo)
    key = ticket["upload"]["fields"]["key"]
    expiring = S3Storage(s3_client, stack.env["MEDIA_BUCKET"]).presign_post(
        key, "image/jpeg", len(photo), ttl_seconds=1
    )

    # WHEN the client uses it after it expired
    time.sleep(2.1)
    response = post_form_upload(expiring.url, expiring.fields, photo)

    # THEN S3 refuses it (403 AccessDenied, policy expired) and stores nothing
    assert response.status_code == 403, response.text
    error = s3_error(response)
    assert error.code == "AccessDenied"
    assert "expired" in error.message.lower()
    assert not object_exists(s3_client, stack.env["MEDIA_BUCKET"], key)
