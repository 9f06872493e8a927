"""Uploads beyond the basic POST: quota, dedup, multipart bookkeeping, versions."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from shared.adapters.dynamo.media_model import MediaModel
from shared.adapters.dynamo.users import UserModel
from tests.functional.conftest import ApiClient, fresh_containers
from tests.functional.flows import drain, upload
from tests.functional.test_api import assert_error
from tests.support.images import image_size, jpeg_bytes
from tests.support.tokens import TokenFactory

MIB = 1024 * 1024


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


def declare(api: ApiClient, token: str, size: int, **extra: Any) -> Any:
    return api.call(
        "POST", "/uploads", token, {"filename": "f.mp4", "content_type": "video/mp4", "size": size, **extra}
    )


def reserved(user: str) -> int:
    return int(UserModel.get(user).reserved_bytes or 0)


def test_quota_counts_pending_and_used_bytes(
    api: ApiClient, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_QUOTA_BYTES", str(10 * MIB))
    fresh_containers()
    alice = tokens.token("alice")
    assert declare(api, alice, 6 * MIB).status_code == 201
    assert reserved("user-alice") == 6 * MIB
    refused = declare(api, alice, 5 * MIB)
    assert_error(refused, 413, "quota_exceeded")
    assert "10485760" in body(refused)["message"]
    assert declare(api, alice, 4 * MIB).status_code == 201
    assert reserved("user-alice") == 10 * MIB
    assert_error(declare(api, alice, 1), 413, "quota_exceeded")
    assert declare(api, tokens.token("bob"), 4 * MIB).status_code == 201  # quotas are per user


def test_purge_gives_quota_back(api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory) -> None:
    alice = tokens.token("alice")
    data = jpeg_bytes(64, 64)
    media_id = upload(api, s3, alice, data)
    assert reserved("user-alice") == len(data)
    api.call("DELETE", f"/media/{media_id}", alice)
    assert reserved("user-alice") == len(data)  # trash still counts
    assert api.call("DELETE", f"/trash/{media_id}", alice).status_code == 204
    assert reserved("user-alice") == 0


def test_dedup_answers_with_the_ready_item_unless_forced(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    alice = tokens.token("alice")
    data = jpeg_bytes(100, 80)
    digest = hashlib.sha256(data).hexdigest()
    ticket = body(
        api.call(
            "POST",
            "/uploads",
            alice,
            {"filename": "a.jpg", "content_type": "image/jpeg", "size": len(data), "sha256": digest},
        )
    )
    fields = ticket["upload"]["fields"]
    s3.put_object(Bucket=aws["MEDIA_BUCKET"], Key=fields["key"], Body=data, ContentType="image/jpeg")
    drain(sqs, aws["PROCESSING_QUEUE_URL"])
    again = api.call(
        "POST",
        "/uploads",
        alice,
        {"filename": "b.jpg", "content_type": "image/jpeg", "size": len(data), "sha256": digest},
    )
    assert again.status_code == 200
    assert body(again) == {"media_id": ticket["media_id"], "duplicate": True, "upload": None}
    forced = api.call(
        "POST",
        "/uploads",
        alice,
        {"filename": "b.jpg", "content_type": "image/jpeg", "size": len(data), "sha256": digest, "force": True},
    )
    assert forced.status_code == 201
    bob = api.call(
        "POST",
        "/uploads",
        tokens.token("bob"),
        {"filename": "b.jpg", "content_type": "image/jpeg", "size": len(data), "sha256": digest},
    )
    assert bob.status_code == 201  # never reveals another owner's file


def test_declared_checksum_that_does_not_match_the_bytes_is_rejected(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    alice = tokens.token("alice")
    data = jpeg_bytes(100, 80)
    ticket = body(
        api.call(
            "POST",
            "/uploads",
            alice,
            {"filename": "a.jpg", "content_type": "image/jpeg", "size": len(data), "sha256": "0" * 64},
        )
    )
    s3.put_object(
        Bucket=aws["MEDIA_BUCKET"], Key=ticket["upload"]["fields"]["key"], Body=data, ContentType="image/jpeg"
    )
    drain(sqs, aws["PROCESSING_QUEUE_URL"])
    item = body(api.call("GET", f"/media/{ticket['media_id']}", alice))
    assert item["status"] == "rejected"
    assert "checksum" in item["failure_reason"]


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"filename": "a.jpg", "content_type": "image/jpeg", "size": 10, "sha256": "xyz"}, 400),
        ({"filename": "a.jpg", "content_type": "image/jpeg", "size": 10, "force": "yes"}, 400),
        ({"filename": "a.jpg", "content_type": "image/jpeg", "size": 300 * MIB}, 413),
        ({"filename": "a.mp4", "content_type": "video/mp4", "size": 6 * 1024 * MIB}, 413),
        ({"filename": "a.svg", "content_type": "image/svg+xml", "size": 10}, 415),
    ],
)
def test_declarations_outside_the_limits(api: ApiClient, tokens: TokenFactory, payload: Any, status: int) -> None:
    assert_error(api.call("POST", "/uploads", tokens.token("alice"), payload), status)


def test_large_files_get_a_multipart_plan_with_signed_parts(api: ApiClient, tokens: TokenFactory) -> None:
    alice = tokens.token("alice")
    ticket = body(declare(api, alice, 100 * MIB))
    assert ticket["upload"] == {"method": "MULTIPART", "part_size": 16 * MIB, "part_count": 7}
    media_id = ticket["media_id"]
    signed = body(api.call("POST", f"/uploads/{media_id}/parts", alice, {"part_numbers": [7, 1]}))
    assert [(p["part_number"], p["size"]) for p in signed["parts"]] == [(1, 16 * MIB), (7, 4 * MIB)]
    assert all("partNumber=" in p["url"] and "uploadId=" in p["url"] for p in signed["parts"])
    assert body(api.call("GET", f"/uploads/{media_id}/parts", alice))["parts"] == []
    for numbers in ([0], [8], [], list(range(1, 102)), "1", [True]):
        assert_error(api.call("POST", f"/uploads/{media_id}/parts", alice, {"part_numbers": numbers}), 400)
    assert_error(api.call("POST", f"/uploads/{media_id}/complete", alice, {"parts": []}), 400)
    missing = [{"part_number": n, "etag": "x"} for n in range(1, 8)]
    assert_error(api.call("POST", f"/uploads/{media_id}/complete", alice, {"parts": missing}), 409, "conflict")
    assert_error(api.call("GET", f"/uploads/{media_id}/parts", tokens.token("bob")), 404)
    assert_error(api.call("DELETE", f"/uploads/{media_id}", tokens.token("bob")), 404)
    assert api.call("DELETE", f"/uploads/{media_id}", alice).status_code == 204
    assert_error(api.call("GET", f"/media/{media_id}", alice), 404)
    assert reserved("user-alice") == 0


def test_small_items_have_no_multipart_session(api: ApiClient, tokens: TokenFactory) -> None:
    alice = tokens.token("alice")
    media_id = body(declare(api, alice, 1000))["media_id"]
    assert_error(api.call("GET", f"/uploads/{media_id}/parts", alice), 409, "conflict")


def test_new_version_keeps_the_old_and_restore_brings_it_back(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    alice, queue = tokens.token("alice"), aws["PROCESSING_QUEUE_URL"]
    first = jpeg_bytes(400, 300)
    media_id = upload(api, s3, alice, first)
    drain(sqs, queue)
    assert_error(
        api.call("POST", f"/media/{media_id}/versions", tokens.token("bob"), {"content_type": "image/jpeg", "size": 5}),
        404,
    )
    second = jpeg_bytes(300, 400)
    ticket = api.call("POST", f"/media/{media_id}/versions", alice, {"content_type": "image/jpeg", "size": len(second)})
    assert ticket.status_code == 201, ticket.body
    assert body(api.call("GET", f"/media/{media_id}", alice))["status"] == "pending"
    # A second version while one is pending is refused.
    assert_error(api.call("POST", f"/media/{media_id}/versions", alice, {"content_type": "image/jpeg", "size": 5}), 409)
    s3.put_object(
        Bucket=aws["MEDIA_BUCKET"], Key=body(ticket)["upload"]["fields"]["key"], Body=second, ContentType="image/jpeg"
    )
    drain(sqs, queue)
    item = body(api.call("GET", f"/media/{media_id}", alice))
    assert (item["status"], item["width"], item["height"], item["size"]) == ("ready", 300, 400, len(second))
    versions = body(api.call("GET", f"/media/{media_id}/versions", alice))["versions"]
    assert [v["is_current"] for v in versions] == [True, False]
    assert [v["size"] for v in versions] == [len(second), len(first)]
    assert reserved("user-alice") == len(first) + len(second)  # the old original is still stored
    assert_error(api.call("POST", f"/media/{media_id}/versions/{versions[0]['version_id']}/restore", alice), 409)
    assert_error(api.call("POST", f"/media/{media_id}/versions/nope/restore", alice), 400)
    restored = api.call("POST", f"/media/{media_id}/versions/{versions[1]['version_id']}/restore", alice)
    assert restored.status_code == 200, restored.body
    drain(sqs, queue)
    item = body(api.call("GET", f"/media/{media_id}", alice))
    assert (item["status"], item["width"], item["height"]) == ("ready", 400, 300)
    thumbnail = s3.get_object(Bucket=aws["MEDIA_BUCKET"], Key=f"renditions/user-alice/{media_id}/thumbnail.webp")
    assert image_size(thumbnail["Body"].read()) == (256, 192)
    assert len(body(api.call("GET", f"/media/{media_id}/versions", alice))["versions"]) == 3
    assert reserved("user-alice") == 2 * len(first) + len(second)  # the restore is a copy: one more version
    assert MediaModel.get(media_id).revision >= 2
