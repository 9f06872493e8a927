"""Exactly-once processing under at-least-once delivery: duplicates, concurrency, crashes, stale events, give-up.

moto's S3 notifications carry neither `versionId` nor `sequencer`; real S3's do, and they are what the
Powertools idempotency key and the stale-event check read. So each test takes the notification moto
queued for an upload, adds the version id S3 stored and a sequencer, and delivers it to the app's
processor entry point in the shape Lambda's SQS event source uses.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from chalice.local import LambdaContext

from app import api_services, processor, processor_services
from functions.processing import handler
from infra.local.worker import lambda_record
from shared.adapters.dynamo.media_model import MediaModel
from shared.config import get_settings
from shared.domain.processing import InProgress
from shared.observability import metrics
from tests.functional.conftest import ApiClient
from tests.functional.flows import upload
from tests.support.images import image_size, jpeg_bytes
from tests.support.tokens import TokenFactory

OWNER = "user-alice"
RENDITION_NAMES = ("preview.jpg", "thumbnail.webp")
# S3 sequencers: hex, compared once left-padded; later events have larger ones.
EARLIER, FIRST, SECOND = "0062E0A1B2C3D4E5F0", "0062E0A1B2C3D4E600", "0062E0A1B2C3D4E700"


# --- delivering crafted notifications -------------------------------------------------------------


@dataclass
class Upload:
    """An uploaded original and the notification S3 sent for it, completed as real S3 would send it."""

    media_id: str
    key: str
    version_id: str
    body: dict[str, Any]

    @property
    def rendition_prefix(self) -> str:
        return f"renditions/{OWNER}/{self.media_id}/"


class Harness:
    """Delivers notifications to the processor and observes what users and operators would see."""

    def __init__(self, api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], token: str) -> None:
        self.api, self.s3, self.sqs, self.token = api, s3, sqs, token
        self.bucket = aws["MEDIA_BUCKET"]
        self.queue_url = aws["PROCESSING_QUEUE_URL"]
        attributes = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["All"])["Attributes"]
        self.queue_arn = attributes["QueueArn"]
        self.dead_letter_arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]

    def take_notification(self) -> dict[str, Any]:
        """The object-created notification moto queued (its one-off s3:TestEvent is skipped)."""
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)["Messages"]
        bodies = [json.loads(m["Body"]) for m in messages]
        created = [b for b in bodies if "Records" in b]
        assert len(created) == 1, bodies
        return created[0]

    def upload(self, data: bytes, sequencer: str) -> Upload:
        media_id = upload(self.api, self.s3, self.token, data)
        return self._completed(media_id, sequencer)

    def upload_new_version(self, media_id: str, data: bytes, sequencer: str) -> Upload:
        declaration = {"filename": "v2.jpg", "content_type": "image/jpeg", "size": len(data)}
        response = self.api.call("POST", f"/media/{media_id}/versions", self.token, declaration)
        assert response.status_code == 201, response.body
        fields = json.loads(response.body)["upload"]["fields"]
        self.s3.put_object(Bucket=self.bucket, Key=fields["key"], Body=data, ContentType="image/jpeg")
        return self._completed(media_id, sequencer)

    def _completed(self, media_id: str, sequencer: str) -> Upload:
        body = self.take_notification()
        key = f"originals/{OWNER}/{media_id}"
        version_id = self.s3.head_object(Bucket=self.bucket, Key=key)["VersionId"]
        return Upload(media_id, key, version_id, with_version(body, version_id, sequencer))

    def deliver(self, body: dict[str, Any], *, receive_count: int = 1, message_id: str = "") -> list[str]:
        """One SQS record through the app's processor entry point; the message ids to be redelivered."""
        return self.invoke([self.message(body, receive_count=receive_count, message_id=message_id)])

    @staticmethod
    def message(body: dict[str, Any], *, receive_count: int = 1, message_id: str = "") -> dict[str, Any]:
        """An SQS message as ReceiveMessage returns it."""
        now = str(int(time.time() * 1000))
        return {
            "MessageId": message_id or str(uuid4()),
            "ReceiptHandle": uuid4().hex,
            "Body": json.dumps(body),
            "Attributes": {
                "ApproximateReceiveCount": str(receive_count),
                "SentTimestamp": now,
                "SenderId": "AIDAS3NOTIFICATIONS",
                "ApproximateFirstReceiveTimestamp": now,
            },
        }

    def invoke(self, messages: list[dict[str, Any]]) -> list[str]:
        """The ids of the messages SQS will redeliver: those in batchItemFailures, or every message of the
        batch when the invocation raised (Powertools raises when all records of a batch failed)."""
        event = {"Records": [lambda_record(m, self.queue_arn, "us-east-1") for m in messages]}
        try:
            result = processor(event, LambdaContext("processor", 1536, max_runtime_ms=120_000))
        except BatchProcessingError:
            return [m["MessageId"] for m in messages]
        return [failure["itemIdentifier"] for failure in result["batchItemFailures"]]

    def item(self, media_id: str) -> dict[str, Any]:
        response = self.api.call("GET", f"/media/{media_id}", self.token)
        assert response.status_code == 200, response.body
        item: dict[str, Any] = json.loads(response.body)
        return item

    def rendition_versions(self, upload: Upload) -> Counter[str]:
        """How many stored versions each rendition key has."""
        listing = self.s3.list_object_versions(Bucket=self.bucket, Prefix=upload.rendition_prefix)
        assert listing.get("DeleteMarkers", []) == []
        return Counter(v["Key"].removeprefix(upload.rendition_prefix) for v in listing.get("Versions", []))

    def current_keys(self) -> set[str]:
        """Every current object in the bucket."""
        listing = self.s3.list_objects_v2(Bucket=self.bucket)
        return {o["Key"] for o in listing.get("Contents", [])}


def with_version(body: dict[str, Any], version_id: str, sequencer: str) -> dict[str, Any]:
    """The notification as real S3 sends it: the object's version id and the event's sequencer."""
    completed = copy.deepcopy(body)
    for record in completed["Records"]:
        record["s3"]["object"].update({"versionId": version_id, "sequencer": sequencer})
    return completed


def as_seen(item: dict[str, Any]) -> dict[str, Any]:
    """An item as GET shows it, minus the parts that differ per request (signed rendition URLs)."""
    renditions = {name: {k: v for k, v in r.items() if k != "url"} for name, r in item["renditions"].items()}
    return {**item, "renditions": renditions}


def expire_lease(media_id: str) -> None:
    """Make the current claim look older than the lease, as if its attempt died that long ago."""
    _ = api_services().media_repository  # building it binds MediaModel to the test table
    long_ago = datetime.now(UTC) - timedelta(seconds=get_settings().processing_lease_seconds + 60)
    MediaModel(media_id).update(actions=[MediaModel.updated_at.set(long_ago)])


# --- observing the processor --------------------------------------------------------------------


@pytest.fixture
def harness(api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory) -> Harness:
    return Harness(api, s3, sqs, aws, tokens.token("alice"))


@pytest.fixture
def metric_names(monkeypatch: pytest.MonkeyPatch, aws: dict[str, str]) -> list[str]:
    """Every processing-outcome metric (Media*) added, by name, in order; the API's own metrics are ignored."""
    names: list[str] = []
    lock = threading.Lock()

    def record(name: str, **_: Any) -> None:
        if name.startswith("Media"):
            with lock:
                names.append(name)

    monkeypatch.setattr(metrics, "add_metric", record)
    return names


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch, aws: dict[str, str]) -> list[str]:
    """The object keys the media processor really ran on (an idempotent replay does not run it)."""
    calls: list[str] = []
    target = processor_services().media_processor
    original = target.process

    def counted(event: Any, *args: Any) -> Any:
        calls.append(event.key)
        return original(event, *args)

    monkeypatch.setattr(target, "process", counted)
    return calls


@pytest.fixture
def record_errors(monkeypatch: pytest.MonkeyPatch, aws: dict[str, str]) -> list[BaseException]:
    """The exception each failed SQS record raised (the batch processor only reports the message id)."""
    errors: list[BaseException] = []
    original = handler.process_record

    def observed(record: Any, services: Any) -> None:
        try:
            original(record, services)
        except Exception as exc:
            errors.append(exc)
            raise

    monkeypatch.setattr(handler, "process_record", observed)
    return errors


def failing_store(monkeypatch: pytest.MonkeyPatch, *, fail_on: Callable[[int], bool]) -> list[str]:
    """Make the bucket's store_rendition raise on the calls `fail_on(n)` selects (n counts from 1); the
    keys of the calls that did store are returned."""
    storage = processor_services().storage
    original = storage.store_rendition
    stored: list[str] = []
    calls = 0

    def store(key: str, rendition: Any) -> None:
        nonlocal calls
        calls += 1
        if fail_on(calls):
            raise RuntimeError("simulated crash while storing a rendition")
        original(key, rendition)
        stored.append(key)

    monkeypatch.setattr(storage, "store_rendition", store)
    return stored


# --- (a) duplicates, one after another -----------------------------------------------------------


def test_given_one_notification_delivered_three_times_then_the_item_is_processed_once(
    harness: Harness, metric_names: list[str], runs: list[str]
) -> None:
    photo = harness.upload(jpeg_bytes(800, 600), FIRST)

    for _ in range(3):
        assert harness.deliver(photo.body) == []

    item = harness.item(photo.media_id)
    assert item["status"] == "ready"
    assert set(item["renditions"]) == {"preview", "thumbnail"}
    assert runs == [photo.key]
    assert metric_names == ["MediaReady"]
    assert harness.rendition_versions(photo) == dict.fromkeys(RENDITION_NAMES, 1)
    # The repeats were answered from the idempotency store with the first run's outcome.
    event = handler.object_created_events(json.dumps(photo.body))[0]
    assert processor_services().process_once(event=event) == "ready"
    assert runs == [photo.key]


# --- (b) duplicates, at the same time ------------------------------------------------------------


class PerThreadBatch:
    """One Powertools BatchProcessor per thread: each thread plays a separate Lambda container (a container
    never runs two invocations at once, so the handler's module-level processor is not shared in AWS)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _own(self) -> BatchProcessor:
        if not hasattr(self._local, "processor"):
            self._local.processor = BatchProcessor(event_type=EventType.SQS)
        processor: BatchProcessor = self._local.processor
        return processor

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._own()(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._own(), name)


def test_given_one_notification_delivered_by_three_containers_at_once_then_one_runs_and_the_others_retry(
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
    atomic_dynamodb: None,
    metric_names: list[str],
    runs: list[str],
    record_errors: list[BaseException],
) -> None:
    photo = harness.upload(jpeg_bytes(800, 600), FIRST)
    monkeypatch.setattr(handler, "_batch", PerThreadBatch())
    # The winner stores its renditions slowly, so the other two arrive while it holds the work.
    storage = processor_services().storage
    slow_store = storage.store_rendition

    def store(key: str, rendition: Any) -> None:
        time.sleep(0.5)
        slow_store(key, rendition)

    monkeypatch.setattr(storage, "store_rendition", store)
    start = threading.Barrier(3)
    failed: dict[str, list[str]] = {}

    def container(message_id: str) -> None:
        start.wait()
        failed[message_id] = harness.deliver(photo.body, message_id=message_id)

    message_ids = [f"delivery-{n}" for n in range(3)]
    threads = [threading.Thread(target=container, args=(m,)) for m in message_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)

    assert runs == [photo.key]
    assert harness.item(photo.media_id)["status"] == "ready"
    assert harness.rendition_versions(photo) == dict.fromkeys(RENDITION_NAMES, 1)
    assert metric_names == ["MediaReady"]
    losers = [m for m in message_ids if failed[m]]
    assert len(losers) == 2
    assert all(failed[m] == [m] for m in losers)  # each reported only its own message, for SQS to redeliver
    assert len(record_errors) == 2
    assert all(isinstance(e, IdempotencyAlreadyInProgressError | InProgress) for e in record_errors)

    # SQS redelivers the two later: each is answered from the stored outcome, nothing runs again.
    for message_id in losers:
        assert harness.deliver(photo.body, receive_count=2, message_id=message_id) == []
    assert runs == [photo.key]
    assert metric_names == ["MediaReady"]
    assert harness.rendition_versions(photo) == dict.fromkeys(RENDITION_NAMES, 1)


# --- (c) a crash part-way, then the retry --------------------------------------------------------


def test_given_an_attempt_crashed_mid_way_when_redelivered_after_its_lease_then_the_item_converges_to_ready(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, metric_names: list[str], record_errors: list[BaseException]
) -> None:
    photo = harness.upload(jpeg_bytes(800, 600), FIRST)
    neighbour = harness.upload(jpeg_bytes(320, 240), SECOND)
    crashed_once = failing_store(monkeypatch, fail_on=lambda n: n == 2)

    batch = [harness.message(photo.body, message_id="original"), harness.message(neighbour.body)]
    assert harness.invoke(batch) == ["original"]  # reported alone: its neighbour in the batch is done
    assert harness.item(neighbour.media_id)["status"] == "ready"
    assert crashed_once[0] == photo.rendition_prefix + "preview.jpg"
    item = harness.item(photo.media_id)
    assert (item["status"], item["renditions"]) == ("processing", {})

    # A duplicate while the dead attempt's lease still runs is sent back, not processed twice.
    assert harness.deliver(photo.body, message_id="duplicate") == ["duplicate"]
    assert isinstance(record_errors[-1], InProgress)
    assert harness.item(photo.media_id)["status"] == "processing"

    expire_lease(photo.media_id)
    assert harness.deliver(photo.body, receive_count=2, message_id="original") == []

    item = harness.item(photo.media_id)
    assert item["status"] == "ready" and item["failure_reason"] is None
    assert set(item["renditions"]) == {"preview", "thumbnail"}
    mine = {key for key in harness.current_keys() if key.startswith((photo.key, photo.rendition_prefix))}
    assert mine == {photo.key} | {photo.rendition_prefix + name for name in RENDITION_NAMES}
    preview = harness.s3.get_object(Bucket=harness.bucket, Key=photo.rendition_prefix + "preview.jpg")
    assert image_size(preview["Body"].read()) == (800, 600)
    assert metric_names == ["MediaReady", "MediaReady"]  # the neighbour, then the retry


# --- (d) stale events -----------------------------------------------------------------------------


@pytest.fixture
def replaced(harness: Harness) -> Iterator[tuple[Upload, Upload]]:
    """A photo processed from its first version, then a second version uploaded and not yet processed."""
    first = harness.upload(jpeg_bytes(320, 240), FIRST)
    assert harness.deliver(first.body) == []
    assert harness.item(first.media_id)["status"] == "ready"
    second = harness.upload_new_version(first.media_id, jpeg_bytes(640, 480), SECOND)
    assert harness.item(first.media_id)["status"] == "pending"
    yield first, second


def test_given_a_new_version_is_pending_when_an_older_event_arrives_late_then_it_changes_nothing(
    harness: Harness, replaced: tuple[Upload, Upload], metric_names: list[str], runs: list[str]
) -> None:
    first, second = replaced
    before = as_seen(harness.item(first.media_id))
    versions_before = harness.rendition_versions(first)
    seen_runs, seen_metrics = len(runs), len(metric_names)

    stale = with_version(first.body, first.version_id, EARLIER)
    assert harness.deliver(stale) == []

    assert as_seen(harness.item(first.media_id)) == before
    assert before["status"] == "pending"
    assert harness.rendition_versions(first) == versions_before
    assert runs[seen_runs:] == [first.key]  # looked at, and left alone
    assert metric_names[seen_metrics:] == ["MediaSkipped"]

    # The new version's own event still gets it processed.
    assert harness.deliver(second.body) == []
    item = harness.item(first.media_id)
    assert (item["status"], item["width"], item["height"]) == ("ready", 640, 480)
    assert metric_names[seen_metrics:] == ["MediaSkipped", "MediaReady"]


def test_given_a_ready_item_when_an_older_event_arrives_then_it_changes_nothing(
    harness: Harness, metric_names: list[str]
) -> None:
    photo = harness.upload(jpeg_bytes(320, 240), FIRST)
    assert harness.deliver(photo.body) == []
    before = as_seen(harness.item(photo.media_id))

    assert harness.deliver(with_version(photo.body, photo.version_id, EARLIER)) == []

    assert as_seen(harness.item(photo.media_id)) == before
    assert harness.rendition_versions(photo) == dict.fromkeys(RENDITION_NAMES, 1)
    assert metric_names == ["MediaReady", "MediaSkipped"]


def test_given_a_new_version_is_pending_when_the_old_versions_message_is_redriven_from_the_dlq_then_it_changes_nothing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = harness.upload(jpeg_bytes(320, 240), FIRST)
    broken = [True]
    failing_store(monkeypatch, fail_on=lambda _: broken[0])
    assert harness.deliver(first.body, receive_count=3) != []  # given up on: the message goes to the DLQ
    assert harness.item(first.media_id)["status"] == "failed"
    broken[0] = False  # the outage is over
    second = harness.upload_new_version(first.media_id, jpeg_bytes(640, 480), SECOND)

    # The operator redrives the dead-letter queue: the first version's message comes back as a new one.
    assert harness.deliver(first.body) == []

    assert harness.item(first.media_id)["status"] == "pending"
    assert harness.deliver(second.body) == []
    item = harness.item(first.media_id)
    assert (item["status"], item["width"], item["height"]) == ("ready", 640, 480)


# --- (e) the last delivery ----------------------------------------------------------------------


def test_given_processing_keeps_failing_when_sqs_delivers_it_the_third_time_then_the_item_fails_and_goes_to_the_dlq(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, metric_names: list[str]
) -> None:
    photo = harness.upload(jpeg_bytes(800, 600), FIRST)
    failing_store(monkeypatch, fail_on=lambda _: True)
    # Sent to the real (moto) queue so SQS itself counts receives and applies the redrive policy.
    harness.sqs.send_message(QueueUrl=harness.queue_url, MessageBody=json.dumps(photo.body))

    for attempt in (1, 2, 3):
        messages = harness.sqs.receive_message(
            QueueUrl=harness.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        )["Messages"]
        assert [m["Attributes"]["ApproximateReceiveCount"] for m in messages] == [str(attempt)]
        assert harness.invoke(messages) == [messages[0]["MessageId"]]
        status = harness.item(photo.media_id)["status"]
        assert status == ("failed" if attempt == 3 else "processing")
        # SQS hides a failed message for the visibility timeout (longer than the lease): skip the wait.
        expire_lease(photo.media_id)
        harness.sqs.change_message_visibility(
            QueueUrl=harness.queue_url, ReceiptHandle=messages[0]["ReceiptHandle"], VisibilityTimeout=0
        )

    item = harness.item(photo.media_id)
    assert item["status"] == "failed"
    assert "after 3 attempts" in item["failure_reason"]
    assert item["renditions"] == {}
    assert harness.rendition_versions(photo) == {}
    assert metric_names == []
    # Reported failed on its last receive, the message goes to the dead-letter queue.
    assert "Messages" not in harness.sqs.receive_message(QueueUrl=harness.queue_url, MaxNumberOfMessages=10)
    dead_letter_url = harness.sqs.get_queue_url(QueueName=harness.dead_letter_arn.rsplit(":", 1)[-1])["QueueUrl"]
    dead = harness.sqs.receive_message(QueueUrl=dead_letter_url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in dead] == [photo.body]


def test_given_an_earlier_delivery_is_still_retrying_when_it_is_not_the_last_then_the_item_is_not_failed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = harness.upload(jpeg_bytes(800, 600), FIRST)
    failing_store(monkeypatch, fail_on=lambda _: True)

    assert harness.deliver(photo.body, receive_count=2, message_id="second-try") == ["second-try"]

    item = harness.item(photo.media_id)
    assert item["status"] == "processing" and item["failure_reason"] is None


def test_given_the_last_delivery_crashes_after_storing_one_rendition_then_the_failed_item_leaves_no_rendition(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = harness.upload(jpeg_bytes(800, 600), FIRST)
    failing_store(monkeypatch, fail_on=lambda n: n == 2)

    assert harness.deliver(photo.body, receive_count=3, message_id="last") == ["last"]

    assert harness.item(photo.media_id)["status"] == "failed"
    assert harness.rendition_versions(photo) == {}
