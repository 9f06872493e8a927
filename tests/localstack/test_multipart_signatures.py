"""What moto cannot show for multipart: real S3 (LocalStack, signature validation on) enforces part URLs.

The API signs one PUT URL per part, bound to the upload, the part number and a short lifetime. These
tests PUT parts over real HTTP with a tampered signature, a swapped part number and an expired URL,
assert on S3's own answer (status and XML error code), then check that S3 holds no such part; the last
test sends a genuine part and abandons the upload through the API.

The tier's stack runs with the default multipart settings (threshold 64 MiB, 16 MiB parts), so each
upload is declared one byte over the threshold and only the parts under test are sent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from infra.local.stack import DevStack
from shared.adapters.storage import S3Storage
from tests.localstack.conftest import HTTP_TIMEOUT, ApiClient, s3_error

DEFAULT_MULTIPART_THRESHOLD_BYTES = 64 * 1024 * 1024
PART_TIMEOUT = 60


# --- helpers -----------------------------------------------------------------------------------
def _headers(client: ApiClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.token}"}


def start_multipart(client: ApiClient, stack: DevStack) -> dict[str, Any]:
    """POST /uploads for the smallest video the stack sends through multipart; the 201 body."""
    threshold = int(stack.env.get("MULTIPART_THRESHOLD_BYTES", DEFAULT_MULTIPART_THRESHOLD_BYTES))
    response = client.create_upload("clip.mp4", "video/mp4", threshold + 1)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    assert ticket["upload"]["method"] == "MULTIPART", ticket
    assert ticket["upload"]["part_count"] >= 2, ticket
    return ticket


def sign_parts(client: ApiClient, media_id: str, numbers: list[int]) -> dict[int, dict[str, Any]]:
    """POST /uploads/{id}/parts: part number -> {"part_number", "size", "url"}."""
    response = requests.post(
        f"{client.base_url}/uploads/{media_id}/parts",
        json={"part_numbers": numbers},
        headers=_headers(client),
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return {part["part_number"]: part for part in response.json()["parts"]}


def held_parts(client: ApiClient, media_id: str) -> list[dict[str, Any]]:
    """GET /uploads/{id}/parts: the parts S3 holds."""
    response = requests.get(
        f"{client.base_url}/uploads/{media_id}/parts", headers=_headers(client), timeout=HTTP_TIMEOUT
    )
    assert response.status_code == 200, response.text
    parts: list[dict[str, Any]] = response.json()["parts"]
    return parts


def abort(client: ApiClient, media_id: str) -> requests.Response:
    """DELETE /uploads/{id}."""
    return requests.delete(f"{client.base_url}/uploads/{media_id}", headers=_headers(client), timeout=HTTP_TIMEOUT)


def put_part(url: str, size: int) -> requests.Response:
    """PUT one part's bytes to a presigned UploadPart URL."""
    return requests.put(url, data=b"\0" * size, timeout=PART_TIMEOUT)


def with_query_param(url: str, name: str, value: str) -> str:
    """The URL with one query parameter's raw value replaced, everything else byte for byte."""
    base, _, query = url.partition("?")
    pairs = query.split("&")
    matches = [i for i, pair in enumerate(pairs) if pair.partition("=")[0] == name]
    assert len(matches) == 1, f"{name} not exactly once in {url}"
    pairs[matches[0]] = f"{name}={value}"
    return f"{base}?{'&'.join(pairs)}"


def query_param(url: str, name: str) -> str:
    """One query parameter's raw value."""
    values = [v for k, _, v in (pair.partition("=") for pair in url.partition("?")[2].split("&")) if k == name]
    assert len(values) == 1, f"{name} not exactly once in {url}"
    return values[0]


def multipart_upload_of(s3_client: Any, bucket: str, media_id: str) -> dict[str, Any] | None:
    """The bucket's unfinished multipart upload for this item's original (ListMultipartUploads), if any."""
    uploads = [
        upload
        for upload in s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        if upload["Key"].endswith(f"/{media_id}")
    ]
    assert len(uploads) <= 1, uploads
    return uploads[0] if uploads else None


@pytest.fixture
def ticket(alice: ApiClient, stack: DevStack) -> Iterator[dict[str, Any]]:
    """A fresh multipart upload for alice, abandoned afterwards if the test left it open."""
    issued = start_multipart(alice, stack)
    yield issued
    abort(alice, issued["media_id"])  # 204, or 404 when the test already abandoned it


# --- tests -------------------------------------------------------------------------------------
def test_given_a_part_url_with_a_tampered_signature_when_put_then_s3_refuses_and_holds_no_part(
    alice: ApiClient, ticket: dict[str, Any]
) -> None:
    # GIVEN a genuine URL for part 1 whose X-Amz-Signature has one hex character changed
    media_id = ticket["media_id"]
    part = sign_parts(alice, media_id, [1])[1]
    signature = query_param(part["url"], "X-Amz-Signature")
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    tampered = with_query_param(part["url"], "X-Amz-Signature", flipped)

    # WHEN the client PUTs the part's bytes with it
    response = put_part(tampered, part["size"])

    # THEN S3 refuses it (403 SignatureDoesNotMatch) and holds no part for the upload
    assert response.status_code == 403, response.text
    assert s3_error(response).code == "SignatureDoesNotMatch"
    assert held_parts(alice, media_id) == []


def test_given_a_url_signed_for_part_1_when_put_as_part_2_then_s3_refuses_and_holds_no_part(
    alice: ApiClient, ticket: dict[str, Any]
) -> None:
    # GIVEN a genuine URL for part 1, with partNumber=2 swapped into its query
    media_id = ticket["media_id"]
    part = sign_parts(alice, media_id, [1])[1]
    assert query_param(part["url"], "partNumber") == "1"
    swapped = with_query_param(part["url"], "partNumber", "2")

    # WHEN the client PUTs a part with it
    response = put_part(swapped, part["size"])

    # THEN S3 refuses it (the part number is signed) and holds neither part
    assert response.status_code == 403, response.text
    assert s3_error(response).code == "SignatureDoesNotMatch"
    assert held_parts(alice, media_id) == []


def test_given_a_part_url_when_a_body_of_another_size_is_put_then_s3_refuses_and_holds_no_part(
    alice: ApiClient, ticket: dict[str, Any]
) -> None:
    # GIVEN a genuine URL for part 1, which signs the part's planned size as Content-Length
    media_id = ticket["media_id"]
    part = sign_parts(alice, media_id, [1])[1]
    assert "content-length" in query_param(part["url"], "X-Amz-SignedHeaders").split("%3B")

    # WHEN the client PUTs one byte less than planned with it
    response = put_part(part["url"], part["size"] - 1)

    # THEN S3 refuses it (the signed Content-Length differs) and holds no part
    assert response.status_code == 403, response.text
    assert s3_error(response).code == "SignatureDoesNotMatch"
    assert held_parts(alice, media_id) == []


def test_given_an_expired_part_url_when_put_then_s3_refuses_and_holds_no_part(
    alice: ApiClient, stack: DevStack, s3_client: Any, ticket: dict[str, Any]
) -> None:
    # GIVEN the app's own presigner signs part 1 for 1 s (the API uses 300 s)
    media_id = ticket["media_id"]
    bucket = stack.env["MEDIA_BUCKET"]
    upload = multipart_upload_of(s3_client, bucket, media_id)
    assert upload is not None
    part_size = ticket["upload"]["part_size"]
    expiring = S3Storage(s3_client, bucket).presign_part(
        upload["Key"], upload["UploadId"], 1, size=part_size, ttl_seconds=1
    )

    # WHEN the client uses it after it expired
    time.sleep(2.1)
    response = put_part(expiring, part_size)

    # THEN S3 refuses it (403 AccessDenied, request expired) and holds no part
    assert response.status_code == 403, response.text
    error = s3_error(response)
    assert error.code == "AccessDenied"
    assert "expired" in error.message.lower()
    assert held_parts(alice, media_id) == []


def test_given_an_untampered_part_url_when_put_then_the_part_is_held_and_abandoning_drops_the_upload(
    alice: ApiClient, stack: DevStack, s3_client: Any, ticket: dict[str, Any]
) -> None:
    # GIVEN the genuine URL for part 1
    media_id = ticket["media_id"]
    bucket = stack.env["MEDIA_BUCKET"]
    part = sign_parts(alice, media_id, [1])[1]
    assert part["size"] == ticket["upload"]["part_size"]

    # WHEN the client PUTs exactly the planned bytes with it
    response = put_part(part["url"], part["size"])

    # THEN S3 accepts it with an ETag, and the API lists the part as held
    assert response.status_code == 200, response.text
    etag = response.headers.get("ETag", "")
    assert etag
    assert [(p["part_number"], p["size"], p["etag"]) for p in held_parts(alice, media_id)] == [(1, part["size"], etag)]
    upload = multipart_upload_of(s3_client, bucket, media_id)
    assert upload is not None

    # AND abandoning the upload answers 204 and leaves S3 with no unfinished upload for the key
    assert abort(alice, media_id).status_code == 204
    assert multipart_upload_of(s3_client, bucket, media_id) is None
    assert s3_client.list_multipart_uploads(Bucket=bucket, Prefix=upload["Key"]).get("Uploads", []) == []
    assert alice.get_media(media_id).status_code == 404
