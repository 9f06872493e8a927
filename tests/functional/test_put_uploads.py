"""Declaring with `"method": "PUT"`: a presigned PUT whose signature covers the type, the exact size and the
declared SHA-256 (tests/localstack/test_s3_put_enforcement.py shows real S3 refusing anything else), for single
declarations, batches and new versions; a file past the multipart threshold goes in parts whatever was asked."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests

from shared.adapters.dynamo.media_model import MediaModel
from tests.functional.conftest import ApiClient, fresh_containers
from tests.functional.flows import drain
from tests.functional.test_api import assert_error
from tests.support.images import jpeg_bytes, png_bytes
from tests.support.tokens import TokenFactory

MIB = 1024 * 1024


def body(response: Any) -> Any:
    return json.loads(response.body)


def declaration(data: bytes, *, checksum: bool = True, **extra: Any) -> dict[str, Any]:
    sha256 = {"sha256": hashlib.sha256(data).hexdigest()} if checksum else {}
    return {
        "filename": "photo.jpg",
        "content_type": "image/jpeg",
        "size": len(data),
        "method": "PUT",
        **sha256,
        **extra,
    }


def signed(url: str) -> tuple[str, list[str]]:
    """The URL's object key (path-style) and the headers its signature covers."""
    parts = urlsplit(url)
    key = unquote(parts.path).split("/", 2)[2]
    return key, parse_qs(parts.query)["X-Amz-SignedHeaders"][0].split(";")


def test_a_put_declaration_gets_a_url_signed_for_its_type_size_and_checksum(
    api: ApiClient, tokens: TokenFactory
) -> None:
    data = jpeg_bytes(64, 48)
    response = api.call("POST", "/uploads", tokens.token("alice"), declaration(data))
    assert response.status_code == 201, response.body
    ticket = body(response)
    upload = ticket["upload"]
    assert upload["method"] == "PUT"
    checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert upload["headers"] == {"Content-Type": "image/jpeg", "x-amz-checksum-sha256": checksum}
    key, headers = signed(upload["url"])
    assert key == f"originals/user-alice/{ticket['media_id']}"
    assert headers == ["content-length", "content-type", "host", "x-amz-checksum-sha256"]
    record = MediaModel.get(ticket["media_id"])
    assert (record.status, record.size, record.sha256) == ("pending", len(data), hashlib.sha256(data).hexdigest())


def test_without_a_checksum_the_put_still_pins_type_and_size(api: ApiClient, tokens: TokenFactory) -> None:
    data = jpeg_bytes(64, 48)
    response = api.call("POST", "/uploads", tokens.token("alice"), declaration(data, checksum=False))
    assert response.status_code == 201, response.body
    upload = body(response)["upload"]
    assert upload["headers"] == {"Content-Type": "image/jpeg"}
    assert signed(upload["url"])[1] == ["content-length", "content-type", "host"]


def test_the_declared_bytes_put_to_the_url_are_processed(
    api: ApiClient, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    token = tokens.token("alice")
    data = jpeg_bytes(320, 200)
    ticket = body(api.call("POST", "/uploads", token, declaration(data)))
    upload = ticket["upload"]
    stored = requests.put(upload["url"], data=data, headers=upload["headers"], timeout=10)
    assert stored.status_code == 200, stored.text
    assert drain(sqs, aws["PROCESSING_QUEUE_URL"]) == {"batchItemFailures": []}
    item = body(api.call("GET", f"/media/{ticket['media_id']}", token))
    assert (item["status"], item["width"], item["height"]) == ("ready", 320, 200)


def test_a_batch_answers_each_file_with_the_method_it_asked_for(
    api: ApiClient, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MULTIPART_THRESHOLD_BYTES", str(6 * MIB))
    fresh_containers()
    small = jpeg_bytes(64, 48)
    files = [
        declaration(small),
        {"filename": "form.jpg", "content_type": "image/jpeg", "size": 1000},
        {"filename": "large.mp4", "content_type": "video/mp4", "size": 7 * MIB, "method": "PUT"},
    ]
    response = api.call("POST", "/uploads/batch", tokens.token("alice"), {"files": files})
    assert response.status_code == 200, response.body
    put, post, large = (ticket["upload"] for ticket in body(response)["tickets"])
    assert (put["method"], post["method"], large["method"]) == ("PUT", "POST", "MULTIPART")
    assert put["headers"]["x-amz-checksum-sha256"] == base64.b64encode(hashlib.sha256(small).digest()).decode()


def test_a_new_version_may_be_put(api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory) -> None:
    token = tokens.token("alice")
    first = jpeg_bytes(100, 80)
    ticket = body(api.call("POST", "/uploads", token, declaration(first)))
    assert requests.put(ticket["upload"]["url"], data=first, headers=ticket["upload"]["headers"], timeout=10).ok
    drain(sqs, aws["PROCESSING_QUEUE_URL"])
    second = png_bytes(90, 70)
    version = {"content_type": "image/png", "size": len(second), "sha256": hashlib.sha256(second).hexdigest()}
    response = api.call("POST", f"/media/{ticket['media_id']}/versions", token, {**version, "method": "PUT"})
    assert response.status_code == 201, response.body
    upload = body(response)["upload"]
    assert upload["method"] == "PUT" and upload["headers"]["Content-Type"] == "image/png"
    assert signed(upload["url"])[0] == f"originals/user-alice/{ticket['media_id']}"
    assert requests.put(upload["url"], data=second, headers=upload["headers"], timeout=10).ok
    drain(sqs, aws["PROCESSING_QUEUE_URL"])
    item = body(api.call("GET", f"/media/{ticket['media_id']}", token))
    assert (item["status"], item["content_type"], item["width"]) == ("ready", "image/png", 90)


@pytest.mark.parametrize("method", ["PATCH", "put", "MULTIPART", 1])
def test_an_unknown_method_is_refused_by_name(api: ApiClient, tokens: TokenFactory, method: Any) -> None:
    data = jpeg_bytes(8, 8)
    response = api.call("POST", "/uploads", tokens.token("alice"), declaration(data, method=method))
    assert_error(response, 400, "validation_error")
    assert [error["field"] for error in body(response)["errors"]] == ["method"]
