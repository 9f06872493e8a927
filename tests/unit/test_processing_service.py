"""The processing state machine on in-memory ports."""

from __future__ import annotations

from shared.domain.media import MediaItem, MediaStatus, original_key
from shared.domain.processing import MediaProcessor, ObjectCreated, Outcome
from tests.unit.fakes import FixedThumbnailer, MemoryRepository, MemoryStorage


def _setup(
    data: bytes, declared: int | None = None
) -> tuple[MediaProcessor, MemoryRepository, MemoryStorage, ObjectCreated]:
    repository, storage, thumbnailer = MemoryRepository(), MemoryStorage(), FixedThumbnailer()
    key = original_key("u1", "m1")
    repository.create(
        MediaItem(
            media_id="m1",
            owner_id="u1",
            filename="a.jpg",
            content_type="image/jpeg",
            size=declared or len(data),
            object_key=key,
        )
    )
    storage.write(key, data, "image/jpeg")
    processor = MediaProcessor(repository, storage, thumbnailer, thumbnail_px=256, max_bytes=10_000)
    return processor, repository, storage, ObjectCreated(bucket="b", key=key, size=len(data))


def test_readable_image_becomes_ready_with_a_thumbnail() -> None:
    processor, repository, storage, event = _setup(b"jpeg-bytes")
    assert processor.process(event) is Outcome.READY
    item = repository.items["m1"]
    assert item.status is MediaStatus.READY
    assert (item.width, item.height) == (1000, 500)
    assert item.renditions["thumbnail"].key == "renditions/u1/m1/thumbnail.webp"
    assert storage.objects["renditions/u1/m1/thumbnail.webp"] == (b"webp", "image/webp")
    assert repository.transitions == [("m1", MediaStatus.PROCESSING), ("m1", MediaStatus.READY)]


def test_unreadable_bytes_fail_with_a_reason_and_no_rendition() -> None:
    processor, repository, storage, event = _setup(b"bad bytes")
    assert processor.process(event) is Outcome.FAILED
    item = repository.items["m1"]
    assert item.status is MediaStatus.FAILED
    assert "not a readable image" in item.failure_reason
    assert not any(k.startswith("renditions/") for k in storage.objects)


def test_object_larger_than_declared_fails() -> None:
    processor, repository, _, event = _setup(b"x" * 100, declared=10)
    assert processor.process(event) is Outcome.FAILED
    assert "declared" in repository.items["m1"].failure_reason


def test_redelivered_event_changes_nothing() -> None:
    processor, repository, _, event = _setup(b"jpeg-bytes")
    processor.process(event)
    assert processor.process(event) is Outcome.SKIPPED
    assert len(repository.transitions) == 2


def test_keys_outside_originals_and_unknown_items_are_skipped() -> None:
    processor, repository, _, _ = _setup(b"jpeg-bytes")
    assert (
        processor.process(ObjectCreated(bucket="b", key="renditions/u1/m1/thumbnail.webp", size=1)) is Outcome.SKIPPED
    )
    assert processor.process(ObjectCreated(bucket="b", key=original_key("u1", "nope"), size=1)) is Outcome.SKIPPED
    # A key whose owner segment does not match the record is not trusted.
    assert processor.process(ObjectCreated(bucket="b", key=original_key("u2", "m1"), size=1)) is Outcome.SKIPPED
    assert repository.transitions == []
