"""Upload -> S3 notification -> SQS -> processor, on moto, through the app's Lambda entry point."""

from __future__ import annotations

import json
from typing import Any

import pytest

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


@pytest.mark.parametrize(
    ("data", "status", "reason"),
    [
        (b"<html><script>alert(1)</script></html>", "rejected", "not a photo or video format"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 200, "failed", "not a readable image"),
    ],
    ids=["html-as-jpeg", "corrupt-jpeg"],
)
def test_bad_upload_ends_with_a_reason_and_leaves_no_rendition(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory, data: bytes, status: str, reason: str
) -> None:
    token = tokens.token("alice")
    media_id = upload(api, s3, token, data)
    assert drain(sqs, aws["PROCESSING_QUEUE_URL"]) == {"batchItemFailures": []}
    item = json.loads(api.call("GET", f"/media/{media_id}", token).body)
    assert item["status"] == status
    assert reason in item["failure_reason"]
    assert item["renditions"] == {}
    listing = s3.list_objects_v2(Bucket=aws["MEDIA_BUCKET"], Prefix="renditions/")
    assert listing.get("KeyCount", 0) == 0


def test_ready_photo_shows_exif_facts_and_hides_gps_until_the_owner_shows_it(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    from io import BytesIO

    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "EOS R5"
    exif.get_ifd(0x8769)[0x9003] = "2026:07:14 18:32:05"
    exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 30.24), 3: "E", 4: (2.0, 17.0, 40.2)})
    out = BytesIO()
    Image.new("RGB", (900, 600), "navy").save(out, format="JPEG", exif=exif.tobytes())
    token = tokens.token("alice")
    media_id = upload(api, s3, token, out.getvalue())
    drain(sqs, aws["PROCESSING_QUEUE_URL"])
    item = json.loads(api.call("GET", f"/media/{media_id}", token).body)
    assert (item["status"], item["taken_at"]) == ("ready", "2026-07-14T18:32:05")
    assert (item["metadata"]["camera_make"], item["metadata"]["camera_model"]) == ("Canon", "EOS R5")
    assert "gps" not in item["metadata"] and item["location"] is None
    assert item["placeholder"]
    shown = json.loads(
        api.call("PATCH", f"/media/{media_id}", token, {"version": item["version"], "location_visible": True}).body
    )
    assert round(shown["location"]["lat"], 3) == 48.858
