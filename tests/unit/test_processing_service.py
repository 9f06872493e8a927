"""The processing state machine on in-memory ports: outcomes, idempotence, staleness, leases, type checks."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.errors import OutOfTime
from shared.domain.media import MediaItem, MediaStatus, Rendition, original_key
from shared.domain.processing import InProgress, MediaProcessor, ObjectCreated, Outcome
from tests.unit.fakes import FakeRenderer, MemoryRepository, MemoryStorage

JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-bytes" * 10
ALLOWED = ("image/jpeg", "image/png", "video/mp4")


def _setup(
    data: bytes = JPEG, *, declared: int | None = None, content_type: str = "image/jpeg", sha256: str = ""
) -> tuple[MediaProcessor, MemoryRepository, MemoryStorage, ObjectCreated]:
    repository, storage = MemoryRepository(), MemoryStorage()
    key = original_key("u1", "m1")
    repository.create(
        MediaItem(
            media_id="m1",
            owner_id="u1",
            filename="a.jpg",
            content_type=content_type,
            size=declared or len(data),
            object_key=key,
            sha256=sha256,
        )
    )
    storage.objects[key] = (data, content_type)
    processor = MediaProcessor(repository, storage, FakeRenderer(), allowed_content_types=ALLOWED, lease_seconds=60)
    return (
        processor,
        repository,
        storage,
        ObjectCreated(bucket="b", key=key, size=len(data), version_id="v1", sequencer="0A"),
    )


def test_readable_image_becomes_ready_with_renditions_and_metadata() -> None:
    processor, repository, storage, event = _setup()
    assert processor.process(event) is Outcome.READY
    item = repository.items["m1"]
    assert item.status is MediaStatus.READY
    assert (item.width, item.height, item.sequencer, item.version_id) == (1000, 500, "0A", "v1")
    assert set(item.renditions) == {"preview", "thumbnail"}
    assert storage.objects["renditions/u1/m1/thumbnail.webp"] == (b"webp", "image/webp")
    assert storage.objects["renditions/u1/m1/preview.jpg"] == (b"jpeg", "image/jpeg")
    assert repository.transitions == [("m1", MediaStatus.PROCESSING), ("m1", MediaStatus.READY)]


@pytest.mark.parametrize(
    ("data", "content_type", "declared", "sha256", "outcome", "reason"),
    [
        (b"\xff\xd8\xff" + b"bad", "image/jpeg", None, "", Outcome.FAILED, "not a readable image"),
        (b"\xff\xd8\xff" + b"evil", "image/jpeg", None, "", Outcome.REJECTED, "pixel limit"),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            "image/jpeg",
            None,
            "",
            Outcome.REJECTED,
            "not a photo or video",
        ),
        (b"%PDF-1.7 " + b"x" * 20, "image/jpeg", None, "", Outcome.REJECTED, "not a photo or video"),
        (
            b"\x89PNG\r\n\x1a\n" + b"x" * 20,
            "image/jpeg",
            None,
            "",
            Outcome.REJECTED,
            "declared image/jpeg but the bytes are image/png",
        ),
        (JPEG, "image/jpeg", 10, "", Outcome.REJECTED, "declared"),
        (JPEG, "image/jpeg", None, "0" * 64, Outcome.REJECTED, "checksum mismatch"),
        (b"", "image/jpeg", 1, "", Outcome.REJECTED, "not a photo or video"),
    ],
    ids=["corrupt", "pixel-bomb", "svg", "pdf", "png-as-jpeg", "larger-than-declared", "checksum", "empty"],
)
def test_bad_files_end_failed_or_rejected_with_a_reason_and_no_renditions(
    data: bytes, content_type: str, declared: int | None, sha256: str, outcome: Outcome, reason: str
) -> None:
    processor, repository, storage, event = _setup(data, declared=declared, content_type=content_type, sha256=sha256)
    assert processor.process(event) is outcome
    item = repository.items["m1"]
    assert item.status.value == outcome.value
    assert reason in item.failure_reason
    assert not any(k.startswith("renditions/") for k in storage.objects)


def test_matching_checksum_is_accepted() -> None:
    processor, _repository, _, event = _setup(sha256=hashlib.sha256(JPEG).hexdigest())
    assert processor.process(event) is Outcome.READY


def test_redelivered_or_older_events_change_nothing() -> None:
    processor, repository, _, event = _setup()
    processor.process(event)
    assert processor.process(event) is Outcome.SKIPPED
    older = ObjectCreated(bucket="b", key=event.key, size=event.size, sequencer="09")
    assert processor.process(older) is Outcome.SKIPPED
    assert len(repository.transitions) == 2


def test_a_live_claim_makes_a_concurrent_delivery_retry_later_and_an_expired_one_is_taken_over() -> None:
    processor, repository, _, event = _setup()
    repository.claim("m1", 60)
    with pytest.raises(InProgress):
        processor.process(event)
    repository.items["m1"].updated_at = datetime.now(UTC) - timedelta(minutes=5)  # the first attempt died
    assert processor.process(event) is Outcome.READY


def test_renditions_a_new_version_no_longer_has_are_removed() -> None:
    processor, repository, storage, event = _setup()
    old_web = "renditions/u1/m1/web.mp4"
    storage.objects[old_web] = (b"old", "video/mp4")
    repository.items["m1"].renditions = {"web": Rendition(old_web, 640, 360, "video/mp4")}
    assert processor.process(event) is Outcome.READY
    assert old_web not in storage.objects


def test_keys_outside_originals_and_unknown_items_are_skipped() -> None:
    processor, repository, _, _ = _setup()
    assert (
        processor.process(ObjectCreated(bucket="b", key="renditions/u1/m1/thumbnail.webp", size=1)) is Outcome.SKIPPED
    )
    assert processor.process(ObjectCreated(bucket="b", key=original_key("u1", "nope"), size=1)) is Outcome.SKIPPED
    # A key whose owner segment does not match the record is not trusted.
    assert processor.process(ObjectCreated(bucket="b", key=original_key("u2", "m1"), size=1)) is Outcome.SKIPPED
    assert repository.transitions == []


def test_give_up_marks_the_item_failed_once() -> None:
    processor, repository, _, event = _setup()
    assert processor.give_up(event, "processing failed after 3 attempts: RuntimeError") is True
    assert repository.items["m1"].status is MediaStatus.FAILED
    assert processor.give_up(event, "again") is False


class SteppedClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_given_the_deadline_passes_between_rendition_stores_then_the_item_fails_with_no_rendition_left() -> None:
    processor, repository, storage, event = _setup()
    clock = SteppedClock()
    processor._clock = clock
    store = storage.store_rendition

    def slow_store(key: str, rendition: object) -> None:
        store(key, rendition)  # type: ignore[arg-type]
        clock.now += 10  # this upload took all the time there was

    storage.store_rendition = slow_store  # type: ignore[method-assign]

    assert processor.process(event, deadline=clock.now + 5) is Outcome.FAILED

    item = repository.items["m1"]
    assert (item.status, item.renditions) == (MediaStatus.FAILED, {})
    assert "ran out of time" in item.failure_reason
    assert not [key for key in storage.objects if key.startswith("renditions/")]


def test_given_no_time_left_before_the_claim_then_the_delivery_is_retried_and_the_item_stays_pending() -> None:
    processor, repository, _, event = _setup()
    processor._clock = SteppedClock()

    with pytest.raises(OutOfTime):
        processor.process(event, deadline=50.0)

    assert repository.items["m1"].status is MediaStatus.PENDING


@pytest.mark.parametrize("status", [MediaStatus.READY, MediaStatus.FAILED, MediaStatus.PROCESSING])
def test_given_bytes_the_item_is_not_waiting_for_then_that_version_alone_is_deleted(status: MediaStatus) -> None:
    processor, repository, storage, event = _setup()
    repository.items["m1"].status = status
    repository.items["m1"].version_id = "v1"
    repository.items["m1"].updated_at = datetime.now(UTC)
    rogue = ObjectCreated(bucket="b", key=event.key, size=10, version_id="v2", sequencer="0B")

    assert processor.process(rogue) is Outcome.DISCARDED

    assert storage.deleted_versions == [(event.key, "v2")]
    assert (repository.items["m1"].status, repository.items["m1"].version_id) == (status, "v1")
