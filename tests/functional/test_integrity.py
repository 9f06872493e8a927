"""Integrity under attack: quota moves exactly once under any interleaving, the bytes served are the bytes
processed, and every processing attempt ends.

Races release their threads together with a barrier (each thread its own "container": see `containers`), or
pause one party right after it has read the item until the other has run whole (an event, never a sleep).
moto's in-process DynamoDB does not lock, so the `atomic_dynamodb` fixture serialises its writes to give the
threads DynamoDB's per-request atomicity (a conditional write or transaction is all-or-nothing); everything
above the backend (Chalice, the services, PynamoDB, botocore) runs truly concurrently.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from chalice.local import LambdaContext

from app import api_services, janitor, janitor_services, processor_services
from shared.adapters.dynamo.media_model import MediaModel
from shared.adapters.dynamo.users import UserModel
from shared.config import get_settings
from tests.conftest import load_event
from tests.functional.conftest import ApiClient, fresh_containers
from tests.functional.flows import ready_item, upload
from tests.functional.test_exactly_once import FIRST, SECOND, Harness, with_version
from tests.support.images import jpeg_bytes
from tests.support.tokens import TokenFactory

MIB = 1024 * 1024
OWNER = "user-alice"


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


def reserved() -> int:
    return int(UserModel.get(OWNER).reserved_bytes or 0)


def stored_bytes(s3: Any, bucket: str) -> int:
    """What the owner really keeps in the bucket: every version of every original."""
    listing = s3.list_object_versions(Bucket=bucket, Prefix=f"originals/{OWNER}/")
    return sum(int(v["Size"]) for v in listing.get("Versions", []))


def at_once(count: int, action: Callable[[int], Any]) -> list[Any]:
    """Run action(0..count-1) on as many threads, released together; their results in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(n: int) -> None:
        barrier.wait()
        results[n] = action(n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    with environ_kept():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    return results


@contextmanager
def environ_kept() -> Iterator[None]:
    """Chalice's test client swaps os.environ for a copy during each request and puts back the one it saw:
    overlapping requests can leave a copy in place, which would outlive the test's monkeypatching."""
    environ = os.environ
    try:
        yield
    finally:
        os.environ = environ  # noqa: B003 - putting back the very object Chalice swapped out


class PerThread:
    """An attribute of the Chalice app held per thread: each thread plays its own Lambda container (a container
    serves one request at a time, so Chalice keeps the current request in one attribute of the app)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __get__(self, app: Any, owner: type) -> Any:
        return getattr(self._local, "value", None)

    def __set__(self, app: Any, value: Any) -> None:
        self._local.value = value


@pytest.fixture
def containers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Concurrent requests through the one in-process app, each with its own current request."""
    from chalice.app import Chalice

    monkeypatch.setattr(Chalice, "current_request", PerThread(), raising=False)
    monkeypatch.setattr(Chalice, "lambda_context", PerThread(), raising=False)


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Multipart from 6 MiB with 5 MiB parts (S3's smallest), so a real multipart upload stays small."""
    monkeypatch.setenv("MULTIPART_THRESHOLD_BYTES", str(6 * MIB))
    monkeypatch.setenv("MULTIPART_PART_BYTES", str(5 * MIB))
    fresh_containers()


def declare_multipart(api: ApiClient, token: str, size: int = 7 * MIB) -> str:
    response = api.call("POST", "/uploads", token, {"filename": "clip.mp4", "content_type": "video/mp4", "size": size})
    assert response.status_code == 201, response.body
    assert body(response)["upload"]["method"] == "MULTIPART"
    return str(body(response)["media_id"])


def send_parts(api: ApiClient, s3: Any, bucket: str, token: str, media_id: str) -> list[dict[str, Any]]:
    """Upload every planned part (straight to S3: moto checks no signature); the completion body's parts."""
    record = MediaModel.get(media_id)
    plan = body(api.call("POST", f"/uploads/{media_id}/parts", token, {"part_numbers": [1, 2]}))["parts"]
    parts = []
    for part in plan:
        sent = s3.upload_part(
            Bucket=bucket,
            Key=record.object_key,
            UploadId=record.upload_id,
            PartNumber=part["part_number"],
            Body=b"\0" * part["size"],
        )
        parts.append({"part_number": part["part_number"], "etag": sent["ETag"]})
    return parts


# --- 1. quota moves exactly once ------------------------------------------------------------------


def test_ten_parallel_purges_release_the_item_once(
    api: ApiClient,
    s3: Any,
    sqs: Any,
    aws: dict[str, str],
    tokens: TokenFactory,
    atomic_dynamodb: None,
    containers: None,
) -> None:
    alice, queue = tokens.token("alice"), aws["PROCESSING_QUEUE_URL"]
    kept = ready_item(api, s3, sqs, queue, alice, jpeg_bytes(200, 100))
    doomed = ready_item(api, s3, sqs, queue, alice, jpeg_bytes(300, 200))
    assert api.call("DELETE", f"/media/{doomed}", alice).status_code == 204

    statuses = at_once(10, lambda _: api.call("DELETE", f"/trash/{doomed}", alice).status_code)

    assert sorted(statuses).count(204) == 1, statuses
    assert set(statuses) <= {204, 404, 409}
    assert {m.media_id for m in MediaModel.scan()} == {kept}
    assert reserved() == stored_bytes(s3, aws["MEDIA_BUCKET"]) == MediaModel.get(kept).size


def test_parallel_aborts_release_the_reservation_once(
    api: ApiClient, tokens: TokenFactory, small_parts: None, atomic_dynamodb: None, containers: None
) -> None:
    alice = tokens.token("alice")
    kept = declare_multipart(api, alice, 8 * MIB)
    aborted = declare_multipart(api, alice, 7 * MIB)

    statuses = at_once(10, lambda _: api.call("DELETE", f"/uploads/{aborted}", alice).status_code)

    assert statuses.count(204) == 1, statuses
    assert set(statuses) <= {204, 404, 409}
    assert reserved() == 8 * MIB
    assert {m.media_id for m in MediaModel.scan()} == {kept}


def test_abort_after_complete_is_refused_and_the_assembled_object_stays_counted(
    api: ApiClient, s3: Any, aws: dict[str, str], tokens: TokenFactory, small_parts: None
) -> None:
    alice, bucket = tokens.token("alice"), aws["MEDIA_BUCKET"]
    media_id = declare_multipart(api, alice)
    parts = send_parts(api, s3, bucket, alice, media_id)
    assert api.call("POST", f"/uploads/{media_id}/complete", alice, {"parts": parts}).status_code == 200

    refused = api.call("DELETE", f"/uploads/{media_id}", alice)

    assert refused.status_code == 409, refused.body
    assert MediaModel.get(media_id).status == "pending"
    assert stored_bytes(s3, bucket) == 7 * MIB
    assert reserved() == 7 * MIB


def test_complete_racing_abort_has_one_winner_and_exact_quota(
    api: ApiClient,
    s3: Any,
    aws: dict[str, str],
    tokens: TokenFactory,
    small_parts: None,
    atomic_dynamodb: None,
    containers: None,
) -> None:
    alice, bucket = tokens.token("alice"), aws["MEDIA_BUCKET"]

    def complete_or_abort(media_id: str, parts: list[dict[str, Any]], n: int) -> int:
        if n == 0:
            return int(api.call("POST", f"/uploads/{media_id}/complete", alice, {"parts": parts}).status_code)
        return int(api.call("DELETE", f"/uploads/{media_id}", alice).status_code)

    for _ in range(3):
        media_id = declare_multipart(api, alice)
        parts = send_parts(api, s3, bucket, alice, media_id)
        completed, aborted = at_once(2, lambda n, m=media_id, p=parts: complete_or_abort(m, p, n))
        # The loser is told the upload is no longer in progress (404 once the record is gone).
        assert (completed == 200 and aborted == 409) or (aborted == 204 and completed in (404, 409)), (
            completed,
            aborted,
        )
        record_exists = any(m.media_id == media_id for m in MediaModel.scan())
        assert record_exists == (completed == 200)
        assert reserved() == stored_bytes(s3, bucket)


def paused_after_reading(
    monkeypatch: pytest.MonkeyPatch, repository: Any, method: str, media_id: str
) -> tuple[threading.Event, threading.Event]:
    """Make the media repository's `method` stop right after it first returns media_id's item; the events say
    it has read it, and let it go on."""
    original = getattr(repository, method)
    has_read, resume = threading.Event(), threading.Event()

    def paused(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        # A list of items, one item, or (item, grants) from the policy's combined read.
        found = result if isinstance(result, list) else [result[0] if isinstance(result, tuple) else result]
        if not has_read.is_set() and any(i is not None and i.media_id == media_id for i in found):
            has_read.set()
            assert resume.wait(10)
        return result

    monkeypatch.setattr(repository, method, paused)
    return has_read, resume


def one_inside_the_other(
    first: Callable[[], Any], second: Callable[[], Any], paused: tuple[Any, Any]
) -> tuple[Any, Any]:
    """Run first until it has read the item, all of second, then the rest of first; both results."""
    has_read, resume = paused
    results: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: results.update(first=first()))
    with environ_kept():
        thread.start()
        assert has_read.wait(10)
        results["second"] = second()
        resume.set()
        thread.join(30)
    assert not thread.is_alive()
    return results["first"], results["second"]


def sweep() -> Any:
    return janitor(load_event("schedule"), LambdaContext("janitor", 256))


@pytest.mark.parametrize("interrupted", ["owner", "janitor"])
def test_janitor_emptying_the_trash_while_the_owner_purges_releases_once(
    api: ApiClient,
    s3: Any,
    sqs: Any,
    aws: dict[str, str],
    tokens: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
    containers: None,
    interrupted: str,
) -> None:
    alice, queue = tokens.token("alice"), aws["PROCESSING_QUEUE_URL"]
    kept = ready_item(api, s3, sqs, queue, alice, jpeg_bytes(200, 100))
    old_trash = ready_item(api, s3, sqs, queue, alice, jpeg_bytes(300, 200))
    assert api.call("DELETE", f"/media/{old_trash}", alice).status_code == 204
    MediaModel(old_trash).update(actions=[MediaModel.trashed_at.set(datetime.now(UTC) - timedelta(days=31))])

    def purge() -> int:
        return api.call("DELETE", f"/trash/{old_trash}", alice).status_code

    if interrupted == "owner":
        status, swept = one_inside_the_other(
            purge, sweep, paused_after_reading(monkeypatch, api_services().access_reads, "item_with_grants", old_trash)
        )
        assert (status, swept["purged_trash"]) == (409, 1)
    else:
        paused = paused_after_reading(monkeypatch, janitor_services().media_repository, "trashed_before", old_trash)
        swept, status = one_inside_the_other(sweep, purge, paused)
        assert (status, swept["purged_trash"]) == (204, 0)
    assert {m.media_id for m in MediaModel.scan()} == {kept}
    assert reserved() == stored_bytes(s3, aws["MEDIA_BUCKET"]) == MediaModel.get(kept).size


@pytest.mark.parametrize("interrupted", ["owner", "janitor"])
def test_janitor_expiring_an_upload_while_the_owner_aborts_it_releases_once(
    api: ApiClient, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch, containers: None, interrupted: str
) -> None:
    alice = tokens.token("alice")
    kept = declare_multipart(api, alice, 100 * MIB)
    abandoned = declare_multipart(api, alice, 80 * MIB)
    MediaModel(abandoned).update(actions=[MediaModel.updated_at.set(datetime.now(UTC) - timedelta(hours=25))])

    def abort() -> int:
        return api.call("DELETE", f"/uploads/{abandoned}", alice).status_code

    if interrupted == "owner":
        status, swept = one_inside_the_other(
            abort, sweep, paused_after_reading(monkeypatch, api_services().media_repository, "get", abandoned)
        )
        assert (status, swept["expired_uploads"]) == (409, 1)
    else:
        paused = paused_after_reading(monkeypatch, janitor_services().media_repository, "pending_since", abandoned)
        swept, status = one_inside_the_other(sweep, abort, paused)
        assert (status, swept["expired_uploads"]) == (204, 0)
    assert {m.media_id for m in MediaModel.scan()} == {kept}
    assert reserved() == 100 * MIB


def test_every_stored_version_counts_until_the_item_is_purged(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    alice, bucket, queue = tokens.token("alice"), aws["MEDIA_BUCKET"], aws["PROCESSING_QUEUE_URL"]
    first, second = jpeg_bytes(400, 300), jpeg_bytes(300, 400)
    media_id = ready_item(api, s3, sqs, queue, alice, first)
    ticket = api.call("POST", f"/media/{media_id}/versions", alice, {"content_type": "image/jpeg", "size": len(second)})
    s3.put_object(Bucket=bucket, Key=body(ticket)["upload"]["fields"]["key"], Body=second, ContentType="image/jpeg")
    from tests.functional.flows import drain

    drain(sqs, queue)
    assert reserved() == stored_bytes(s3, bucket) == len(first) + len(second)

    oldest = body(api.call("GET", f"/media/{media_id}/versions", alice))["versions"][-1]["version_id"]
    assert api.call("POST", f"/media/{media_id}/versions/{oldest}/restore", alice).status_code == 200
    drain(sqs, queue)
    assert reserved() == stored_bytes(s3, bucket) == 2 * len(first) + len(second)

    assert api.call("DELETE", f"/media/{media_id}", alice).status_code == 204
    assert api.call("DELETE", f"/trash/{media_id}", alice).status_code == 204
    assert reserved() == stored_bytes(s3, bucket) == 0


@pytest.mark.parametrize("given_up_by", ["owner", "janitor"])
def test_a_new_version_given_up_returns_the_item_and_its_quota_to_the_original(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory, small_parts: None, given_up_by: str
) -> None:
    alice, bucket = tokens.token("alice"), aws["MEDIA_BUCKET"]
    photo = jpeg_bytes(400, 300)
    media_id = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], alice, photo)
    before = body(api.call("GET", f"/media/{media_id}", alice))
    declared = (
        {"content_type": "video/mp4", "size": 7 * MIB}
        if given_up_by == "owner"
        else {
            "content_type": "image/jpeg",
            "size": 5000,
        }
    )
    assert api.call("POST", f"/media/{media_id}/versions", alice, declared).status_code == 201
    assert reserved() == len(photo) + declared["size"]

    if given_up_by == "owner":
        assert api.call("DELETE", f"/uploads/{media_id}", alice).status_code == 204
        assert api.call("DELETE", f"/uploads/{media_id}", alice).status_code == 409
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    else:
        MediaModel(media_id).update(actions=[MediaModel.updated_at.set(datetime.now(UTC) - timedelta(hours=25))])
        assert sweep()["expired_uploads"] == 1

    after = body(api.call("GET", f"/media/{media_id}", alice))
    kept = ("status", "filename", "content_type", "size", "width", "height", "sha256")
    assert {k: after[k] for k in kept} == {k: before[k] for k in kept}
    assert after["status"] == "ready"
    assert reserved() == stored_bytes(s3, bucket) == len(photo)
    download = body(api.call("GET", f"/media/{media_id}/download", alice))
    assert download["url"]


def test_part_urls_sign_the_planned_size(api: ApiClient, tokens: TokenFactory) -> None:
    alice = tokens.token("alice")
    media_id = declare_multipart(api, alice, 100 * MIB)
    parts = body(api.call("POST", f"/uploads/{media_id}/parts", alice, {"part_numbers": [1, 7]}))["parts"]
    for part in parts:
        query = parse_qs(urlparse(part["url"]).query)
        assert "content-length" in query["X-Amz-SignedHeaders"][0].split(";"), part["url"]


# --- 2. the bytes served are the bytes processed ---------------------------------------------------


def test_bytes_posted_again_after_ready_are_never_served_and_are_deleted(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    harness = Harness(api, s3, sqs, aws, tokens.token("alice"))
    processed = jpeg_bytes(320, 240)
    photo = harness.upload(processed, FIRST)
    assert harness.deliver(photo.body) == []
    assert harness.item(photo.media_id)["status"] == "ready"

    # The upload form is still valid: the attacker posts other bytes to the same key.
    s3.put_object(
        Bucket=harness.bucket, Key=photo.key, Body=b"<html>not what was checked</html>", ContentType="image/jpeg"
    )
    rogue_version = s3.head_object(Bucket=harness.bucket, Key=photo.key)["VersionId"]
    assert harness.deliver(with_version(harness.take_notification(), rogue_version, SECOND)) == []

    assert harness.item(photo.media_id)["status"] == "ready"
    link = body(api.call("GET", f"/media/{photo.media_id}/download", harness.token))
    served = parse_qs(urlparse(link["url"]).query)["versionId"][0]
    assert served == photo.version_id
    assert s3.get_object(Bucket=harness.bucket, Key=photo.key, VersionId=served)["Body"].read() == processed
    versions = s3.list_object_versions(Bucket=harness.bucket, Prefix=photo.key).get("Versions", [])
    assert [v["VersionId"] for v in versions] == [photo.version_id]


def test_bytes_for_a_purged_item_are_deleted(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    harness = Harness(api, s3, sqs, aws, tokens.token("alice"))
    photo = harness.upload(jpeg_bytes(320, 240), FIRST)
    assert harness.deliver(photo.body) == []
    assert api.call("DELETE", f"/media/{photo.media_id}", harness.token).status_code == 204
    assert api.call("DELETE", f"/trash/{photo.media_id}", harness.token).status_code == 204

    s3.put_object(Bucket=harness.bucket, Key=photo.key, Body=jpeg_bytes(10, 10), ContentType="image/jpeg")
    late = s3.head_object(Bucket=harness.bucket, Key=photo.key)["VersionId"]
    assert harness.deliver(with_version(harness.take_notification(), late, SECOND)) == []

    assert s3.list_object_versions(Bucket=harness.bucket, Prefix=photo.key).get("Versions", []) == []


# --- 3. every attempt ends --------------------------------------------------------------------------


def test_an_attempt_without_time_left_ends_failed_and_leaves_nothing_half_written(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    from app import processor
    from infra.local.worker import lambda_record

    alice, queue = tokens.token("alice"), aws["PROCESSING_QUEUE_URL"]
    media_id = upload(api, s3, alice, jpeg_bytes(6000, 4500))  # renders in ~0.4 s here
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # A warm container (its code loaded, its processor built): only processing itself spends the budget below.
    assert processor(load_event("sqs-s3-test-event"), None) == {"batchItemFailures": []}
    _ = processor_services().media_processor
    # A few milliseconds more than the margin the outcome needs: enough to claim, not to render.
    tiny = get_settings().processing_outcome_margin_seconds * 1000 + 60
    context = LambdaContext("processor", 1536, max_runtime_ms=tiny)

    assert processor({"Records": [lambda_record(m, arn, "us-east-1") for m in messages]}, context) == {
        "batchItemFailures": []
    }

    item = body(api.call("GET", f"/media/{media_id}", alice))
    assert item["status"] == "failed"
    assert "ran out of time" in item["failure_reason"]
    assert item["renditions"] == {}
    listing = s3.list_object_versions(Bucket=aws["MEDIA_BUCKET"], Prefix=f"renditions/{OWNER}/{media_id}/")
    assert listing.get("Versions", []) == []
