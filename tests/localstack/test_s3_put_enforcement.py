"""What moto cannot show: real S3 (LocalStack, signature validation on) enforces the presigned PUT.

A declaration with `"method": "PUT"` gets a URL whose signature covers Content-Type, Content-Length and, with a
declared SHA-256, x-amz-checksum-sha256. These tests PUT to the URL the API hands out and assert on S3's own
answer, then on what the system did afterwards: only the declared bytes land, and they are processed.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import requests

from infra.local.stack import DevStack
from tests.localstack.conftest import HTTP_TIMEOUT, ApiClient, s3_error, wait_for
from tests.localstack.test_s3_enforcement import PROCESSING_TIMEOUT, assert_still_pending, object_exists
from tests.support.images import jpeg_bytes


def issue_put(client: ApiClient, data: bytes, *, checksum: bool = True) -> dict[str, Any]:
    """POST /uploads asking for a PUT (with the bytes' SHA-256 unless told not to); the ticket's upload."""
    extra: dict[str, Any] = {"method": "PUT"}
    if checksum:
        extra["sha256"] = hashlib.sha256(data).hexdigest()
    response = client.create_upload("photo.jpg", "image/jpeg", len(data), force=True, **extra)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    assert ticket["upload"]["method"] == "PUT"
    return ticket


def put(upload: dict[str, Any], data: bytes, **header_overrides: str) -> requests.Response:
    """PUT the bytes to the signed URL with its headers (some replaced)."""
    headers = {**upload["headers"], **header_overrides}
    return requests.put(upload["url"], data=data, headers=headers, timeout=HTTP_TIMEOUT)


def key_of(upload: dict[str, Any]) -> str:
    """The object key the URL is signed for (path-style: /bucket/key)."""
    path = upload["url"].split("?", 1)[0].split("://", 1)[1]
    return path.split("/", 2)[2]


def test_the_declared_bytes_put_to_the_signed_url_are_processed(alice: ApiClient) -> None:
    # GIVEN alice holds a presigned PUT for a real 640x480 JPEG, checksum declared
    photo = jpeg_bytes(640, 480)
    ticket = issue_put(alice, photo)

    # WHEN she PUTs exactly those bytes with the signed headers
    response = put(ticket["upload"], photo)

    # THEN S3 accepts them and the pipeline makes the item ready
    assert response.status_code == 200, response.text

    def ready() -> dict[str, Any] | None:
        item: dict[str, Any] = alice.get_media(ticket["media_id"]).json()
        assert item["status"] != "failed", item
        return item if item["status"] == "ready" else None

    item = wait_for(ready, timeout=PROCESSING_TIMEOUT)
    assert (item["width"], item["height"]) == (640, 480)


def test_s3_refuses_bytes_other_than_the_declared_checksum(alice: ApiClient, stack: DevStack, s3_client: Any) -> None:
    # GIVEN a PUT signed for one photo's SHA-256
    photo = jpeg_bytes(320, 240)
    ticket = issue_put(alice, photo)
    upload = ticket["upload"]

    # WHEN the client sends other bytes of the same size
    tampered = photo[:-10] + b"\0" * 10
    response = put(upload, tampered)

    # THEN S3 itself refuses them (the checksum does not match), nothing is stored, the item stays pending
    assert response.status_code == 400, response.text
    assert s3_error(response).code in {"BadDigest", "InvalidRequest"}
    assert not object_exists(s3_client, stack.env["MEDIA_BUCKET"], key_of(upload))
    time.sleep(1)  # a wrongly accepted upload would have been picked up by the worker by now
    assert_still_pending(alice, ticket["media_id"])


def test_s3_refuses_another_size_another_type_or_a_dropped_checksum(
    alice: ApiClient, stack: DevStack, s3_client: Any
) -> None:
    # GIVEN a PUT signed for one photo's size, type and checksum
    photo = jpeg_bytes(320, 240)
    ticket = issue_put(alice, photo)
    upload = ticket["upload"]
    bucket = stack.env["MEDIA_BUCKET"]

    # WHEN the client changes any signed header: more bytes, another type, or no checksum
    bigger = put(upload, photo + b"\0" * 1024)
    html = put(upload, photo, **{"Content-Type": "text/html"})
    unchecked = requests.put(upload["url"], data=photo, headers={"Content-Type": "image/jpeg"}, timeout=HTTP_TIMEOUT)

    # THEN S3 refuses each one (the signature no longer matches) and nothing lands
    for response in (bigger, html, unchecked):
        assert response.status_code == 403, response.text
        assert s3_error(response).code == "SignatureDoesNotMatch"
    assert not object_exists(s3_client, bucket, key_of(upload))
    assert_still_pending(alice, ticket["media_id"])


def test_a_put_without_a_declared_checksum_still_pins_size_and_type(
    alice: ApiClient, stack: DevStack, s3_client: Any
) -> None:
    # GIVEN a PUT declared without a SHA-256
    photo = jpeg_bytes(320, 240)
    ticket = issue_put(alice, photo, checksum=False)
    upload = ticket["upload"]
    assert upload["headers"] == {"Content-Type": "image/jpeg"}

    # WHEN the client sends fewer bytes than declared, then the declared ones
    shorter = put(upload, photo[:-1])
    exact = put(upload, photo)

    # THEN the short body is refused and the exact one is stored
    assert shorter.status_code == 403, shorter.text
    assert exact.status_code == 200, exact.text
    assert object_exists(s3_client, stack.env["MEDIA_BUCKET"], key_of(upload))
