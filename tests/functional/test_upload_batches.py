"""POST /uploads/batch: many declarations in one request, each file answered as POST /uploads would answer it alone,
with the writes shared (one abuse-limit count, one quota reservation, one BatchWriteItem)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.client import BaseClient

from shared.adapters.dynamo.limits import WindowCounterModel
from shared.adapters.dynamo.media_model import MediaModel
from shared.adapters.dynamo.users import UserModel
from tests.functional.conftest import ApiClient, fresh_containers
from tests.functional.flows import drain
from tests.functional.test_abuse_limits import Clock, assert_limited, limited_to
from tests.functional.test_api import assert_error
from tests.support.images import jpeg_bytes
from tests.support.tokens import TokenFactory

MIB = 1024 * 1024
# Attributes that differ between any two declarations of the same file.
PER_ITEM = {
    "media_id",
    "owner_id",
    "created_at",
    "updated_at",
    "taken_sort",
    "object_key",
    "pending_shard",
    "owner_sha256",
}


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


def photo(name: str, size: int = 1024, **extra: Any) -> dict[str, Any]:
    return {"filename": name, "content_type": "image/jpeg", "size": size, **extra}


def batch(api: ApiClient, token: str | None, files: list[dict[str, Any]]) -> Any:
    return api.call("POST", "/uploads/batch", token, {"files": files})


def reserved(user: str) -> int:
    return int(UserModel.get(user).reserved_bytes or 0)


def record(media_id: str) -> dict[str, Any]:
    """An item's stored attributes, without those that differ per declaration."""
    stored = MediaModel.get(media_id).attribute_values
    return {name: value for name, value in stored.items() if name not in PER_ITEM}


def ready_item(api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], token: str, data: bytes) -> str:
    declared = photo("ready.jpg", len(data), sha256=hashlib.sha256(data).hexdigest())
    ticket = body(api.call("POST", "/uploads", token, declared))
    s3.put_object(
        Bucket=aws["MEDIA_BUCKET"], Key=ticket["upload"]["fields"]["key"], Body=data, ContentType="image/jpeg"
    )
    drain(sqs, aws["PROCESSING_QUEUE_URL"])
    assert body(api.call("GET", f"/media/{ticket['media_id']}", token))["status"] == "ready"
    return str(ticket["media_id"])


def test_each_file_is_answered_as_it_would_be_alone(
    api: ApiClient,
    s3: Any,
    sqs: Any,
    aws: dict[str, str],
    tokens: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEFAULT_QUOTA_BYTES", str(20 * MIB))
    monkeypatch.setenv("MULTIPART_THRESHOLD_BYTES", str(6 * MIB))
    fresh_containers()
    alice, bob = tokens.token("alice"), tokens.token("bob")
    data = jpeg_bytes(100, 80)
    existing = ready_item(api, s3, sqs, aws, alice, data)
    base = reserved("user-alice")
    files = [
        photo("../small\x00.jpg", 1000, sha256="a" * 64),
        {"filename": "large.mp4", "content_type": "video/mp4", "size": 7 * MIB},
        photo("copy.jpg", len(data), sha256=hashlib.sha256(data).hexdigest()),
        {"filename": "doc.svg", "content_type": "image/svg+xml", "size": 10},
        photo("huge.jpg", 300 * MIB),
        {"filename": "over.mp4", "content_type": "video/mp4", "size": 13 * MIB},  # 20 MiB quota: only 13 MiB left
        photo("last.jpg", 2000),
    ]
    response = batch(api, alice, files)
    assert response.status_code == 200, response.body
    tickets = body(response)["tickets"]
    assert len(tickets) == len(files)
    small, large, duplicate, svg, huge, over, last = tickets
    assert small["upload"]["method"] == "POST" and not small["duplicate"]
    plan = large["upload"]
    assert plan["method"] == "MULTIPART" and plan["part_count"] == -(-7 * MIB // plan["part_size"])
    assert duplicate == {"media_id": existing, "duplicate": True, "upload": None}
    assert svg["error"]["code"] == "unsupported_media_type" and svg["error"]["message"]
    assert huge["error"]["code"] == "payload_too_large"
    assert over["error"]["code"] == "quota_exceeded"
    assert last["upload"]["method"] == "POST"
    # Quota: exactly the bytes of the files declared.
    assert reserved("user-alice") == base + 1000 + 7 * MIB + 2000
    # The records are what one declaration of each file makes.
    for ticket, declared, status in ((small, files[0], 201), (large, files[1], 201), (last, files[6], 201)):
        alone = api.call("POST", "/uploads", bob, declared)
        assert alone.status_code == status, alone.body
        mine, theirs = record(ticket["media_id"]), record(body(alone)["media_id"])
        if declared["size"] > 6 * MIB:
            assert mine.pop("upload_id") and theirs.pop("upload_id")
        assert mine == theirs
    assert record(small["media_id"])["filename"] == "small.jpg"
    # The multipart upload is real: its parts can be signed.
    numbers = list(range(1, plan["part_count"] + 1))
    signed = api.call("POST", f"/uploads/{large['media_id']}/parts", alice, {"part_numbers": numbers})
    assert signed.status_code == 200, signed.body
    # Nothing else was created.
    owned = {m.media_id for m in MediaModel.scan() if m.owner_id == "user-alice"}
    assert owned == {existing, small["media_id"], large["media_id"], last["media_id"]}


def test_a_batch_over_quota_declares_the_files_that_fit_in_order(
    api: ApiClient, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_QUOTA_BYTES", str(10 * MIB))
    fresh_containers()
    alice = tokens.token("alice")
    sizes = [4 * MIB, 4 * MIB, 4 * MIB, 2 * MIB, 1]
    tickets = body(batch(api, alice, [photo(f"{n}.jpg", size) for n, size in enumerate(sizes)]))["tickets"]
    assert ["error" in t for t in tickets] == [False, False, True, False, True]
    assert tickets[2]["error"]["code"] == "quota_exceeded"
    assert reserved("user-alice") == 10 * MIB


def test_the_abuse_limit_counts_every_file_of_a_batch(
    api: ApiClient, tokens: TokenFactory, aws: dict[str, str]
) -> None:
    clock = Clock(__import__("tests.functional.test_abuse_limits", fromlist=["START"]).START)
    restore = limited_to(clock, uploads=5)
    try:
        alice = tokens.token("alice")
        first = body(batch(api, alice, [photo(f"{n}.jpg") for n in range(3)]))["tickets"]
        assert all("upload" in t for t in first)
        assert [int(c.hits) for c in WindowCounterModel.scan()] == [3]
        # Two more fit: the first two of the next batch are declared, the rest answer too_many_attempts.
        second = body(batch(api, alice, [photo(f"b{n}.jpg") for n in range(4)]))["tickets"]
        assert ["error" in t for t in second] == [False, False, True, True]
        assert second[2]["error"]["code"] == "too_many_attempts"
        assert len([m for m in MediaModel.scan() if m.owner_id == "user-alice"]) == 5
        # None fit: the whole request is refused, as POST /uploads would be.
        assert_limited(batch(api, alice, [photo("c.jpg")]), 50)
        assert_limited(api.call("POST", "/uploads", alice, photo("d.jpg")), 50)
        assert [int(c.hits) for c in WindowCounterModel.scan()] == [5]
    finally:
        restore()


def test_a_batch_needs_a_token_and_at_most_25_files(api: ApiClient, tokens: TokenFactory) -> None:
    assert batch(api, None, [photo("a.jpg")]).status_code == 401
    alice = tokens.token("alice")
    assert_error(batch(api, alice, [photo(f"{n}.jpg") for n in range(26)]), 400, "validation_error")
    assert_error(batch(api, alice, []), 400, "validation_error")
    assert_error(api.call("POST", "/uploads/batch", alice, {"files": [{"filename": "a.jpg"}]}), 400)
    assert not list(MediaModel.scan())


@pytest.fixture
def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The DynamoDB operations the code under test sends (every botocore client)."""
    calls: list[str] = []
    original = BaseClient._make_api_call

    def counted(self: BaseClient, operation: str, params: Any) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            calls.append(operation)
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counted)
    yield calls


def test_a_batch_of_20_makes_far_fewer_dynamodb_calls_than_20_declarations(
    api: ApiClient, tokens: TokenFactory, dynamodb_calls: list[str]
) -> None:
    alice = tokens.token("alice")
    assert api.call("GET", "/me", alice).status_code == 200  # the account exists before counting
    files = [photo(f"{n}.jpg", 1000 + n, sha256=hashlib.sha256(bytes([n])).hexdigest()) for n in range(20)]
    dynamodb_calls.clear()
    for declared in files:
        assert (
            api.call("POST", "/uploads", alice, {**declared, "filename": f"single-{declared['filename']}"}).status_code
            == 201
        )
    singles = len(dynamodb_calls)
    dynamodb_calls.clear()
    tickets = body(batch(api, alice, files))["tickets"]
    assert all(t["upload"]["method"] == "POST" for t in tickets)
    batched = list(dynamodb_calls)
    assert singles >= 100, singles
    assert len(batched) <= 20 + 5, batched
    assert batched.count("BatchWriteItem") == 1
    assert batched.count("Query") == 20  # one per distinct checksum
    assert len({m.media_id for m in MediaModel.scan() if m.owner_id == "user-alice"}) == 40
