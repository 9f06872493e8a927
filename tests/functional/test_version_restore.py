"""Restoring an older original: what the person wrote about the item stays; what describes the bytes follows them."""

from __future__ import annotations

import json
from typing import Any

from tests.functional.conftest import ApiClient
from tests.functional.flows import drain, upload
from tests.support.images import jpeg_bytes, png_bytes
from tests.support.tokens import TokenFactory


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


def new_version(api: ApiClient, s3: Any, bucket: str, token: str, media_id: str, data: bytes, **declared: Any) -> None:
    ticket = api.call("POST", f"/media/{media_id}/versions", token, {"size": len(data), **declared})
    assert ticket.status_code == 201, ticket.body
    key = body(ticket)["upload"]["fields"]["key"]
    s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=declared["content_type"])


def edit(api: ApiClient, token: str, media_id: str, **changes: Any) -> dict[str, Any]:
    current = body(api.call("GET", f"/media/{media_id}", token))
    response = api.call("PATCH", f"/media/{media_id}", token, {"version": current["version"], **changes})
    assert response.status_code == 200, response.body
    return dict(body(response))


def test_given_a_png_replaced_a_jpeg_when_the_jpeg_is_restored_then_the_edits_stay_and_the_file_is_the_jpeg(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    alice, queue, bucket = tokens.token("alice"), aws["PROCESSING_QUEUE_URL"], aws["MEDIA_BUCKET"]
    # GIVEN a JPEG (photo.jpg) alice described, then replaced with a PNG under another name
    first = jpeg_bytes(400, 300)
    media_id = upload(api, s3, alice, first)
    drain(sqs, queue)
    edit(api, alice, media_id, title="Beach", description="First swim", tags=["sea"])
    second = png_bytes(300, 400)
    new_version(api, s3, bucket, alice, media_id, second, filename="beach-edit.png", content_type="image/png")
    drain(sqs, queue)
    replaced = body(api.call("GET", f"/media/{media_id}", alice))
    assert (replaced["status"], replaced["filename"], replaced["content_type"]) == (
        "ready",
        "beach-edit.png",
        "image/png",
    )
    # ... and edited again after the new version
    edit(api, alice, media_id, title="Beach at noon", tags=["sea", "summer"])
    versions = body(api.call("GET", f"/media/{media_id}/versions", alice))["versions"]
    older = next(v for v in versions if not v["is_current"])

    # WHEN alice restores the JPEG
    restored = api.call("POST", f"/media/{media_id}/versions/{older['version_id']}/restore", alice)
    assert restored.status_code == 200, restored.body
    answered = body(restored)
    drain(sqs, queue)

    # THEN the item is ready with the JPEG's bytes, described as a JPEG, and keeps what alice wrote last
    item = body(api.call("GET", f"/media/{media_id}", alice))
    assert (item["status"], item["width"], item["height"]) == ("ready", 400, 300), item
    assert (item["content_type"], item["size"]) == ("image/jpeg", len(first))
    assert item["filename"] == "beach-edit.jpg"  # the name it had, with the extension of the bytes
    assert (item["title"], item["description"], item["tags"]) == ("Beach at noon", "First swim", ["sea", "summer"])
    # ... and the restore's own answer already said so
    assert (answered["filename"], answered["content_type"], answered["size"]) == (
        "beach-edit.jpg",
        "image/jpeg",
        len(first),
    )
    assert answered["title"] == "Beach at noon"


def test_given_a_jpeg_replaced_by_a_jpeg_when_restored_then_the_name_and_the_edits_stay(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    alice, queue, bucket = tokens.token("alice"), aws["PROCESSING_QUEUE_URL"], aws["MEDIA_BUCKET"]
    # GIVEN a JPEG replaced by another JPEG under the same name, described after the replacement
    first = jpeg_bytes(400, 300)
    media_id = upload(api, s3, alice, first)
    drain(sqs, queue)
    new_version(api, s3, bucket, alice, media_id, jpeg_bytes(300, 400), content_type="image/jpeg")
    drain(sqs, queue)
    edit(api, alice, media_id, title="Harbour", description="Boats", tags=["boats"])
    older = next(
        v for v in body(api.call("GET", f"/media/{media_id}/versions", alice))["versions"] if not v["is_current"]
    )

    # WHEN alice restores the first one
    assert api.call("POST", f"/media/{media_id}/versions/{older['version_id']}/restore", alice).status_code == 200
    drain(sqs, queue)

    # THEN the bytes are the first, and nothing alice wrote changed
    item = body(api.call("GET", f"/media/{media_id}", alice))
    assert (item["status"], item["width"], item["height"], item["size"]) == ("ready", 400, 300, len(first))
    assert (item["filename"], item["content_type"]) == ("photo.jpg", "image/jpeg")
    assert (item["title"], item["description"], item["tags"]) == ("Harbour", "Boats", ["boats"])
