"""Export archives: the zip streams to S3 in parts of at least 5 MiB, holding about one part; a run that cannot
finish in time fails its job and leaves no archive."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from shared.adapters.export_archive import MIN_PART_BYTES, PartWriter, ZipArchive
from shared.domain.export import ExportBuilder
from shared.domain.jobs import Job, JobKind, JobStatus, MaintenanceJobs
from shared.domain.media import MediaItem, MediaStatus, Rendition
from shared.domain.ports import ObjectVersion
from tests.unit.test_maintenance_jobs import Items, Queue, Store

MIB = 1024 * 1024


class RecordingSink:
    """A multipart upload that keeps its parts, and how much the writer held whenever one arrived."""

    def __init__(self) -> None:
        self.parts: list[tuple[int, bytes]] = []
        self.completed = False
        self.aborted = False
        self.writer: PartWriter | None = None
        self.most_held = 0

    def upload_part(self, number: int, data: bytes) -> None:
        self.parts.append((number, data))

    def complete(self) -> None:
        self.completed = True

    def abort(self) -> None:
        self.aborted = True

    @property
    def body(self) -> bytes:
        return b"".join(data for _, data in self.parts)


def chunks_of(data: bytes, size: int = MIB) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_the_zip_goes_up_in_parts_of_five_mib_and_the_writer_never_holds_more_than_one() -> None:
    # GIVEN three originals of 6, 4 and 3 MiB (random: nothing compresses) streamed in 1 MiB chunks
    sink = RecordingSink()
    writer = PartWriter(sink)
    archive = ZipArchive(writer)
    files = {f"media/{n}/v1-photo.jpg": os.urandom(size * MIB) for n, size in enumerate((6, 4, 3))}
    most_held = 0

    def watched(data: bytes) -> Iterator[bytes]:
        nonlocal most_held
        for chunk in chunks_of(data):
            most_held = max(most_held, writer.buffered)
            yield chunk

    # WHEN they and a JSON document are added and the archive closed
    for name, data in files.items():
        archive.add_file(name, watched(data), len(data))
    archive.add_json("albums.json", [{"title": "Holidays"}])
    archive.close()

    # THEN every part but the last is at least S3's minimum, numbered from 1, and the upload completed
    sizes = [len(data) for _, data in sink.parts]
    assert [n for n, _ in sink.parts] == list(range(1, len(sizes) + 1))
    assert len(sizes) == 3 and all(size >= MIN_PART_BYTES for size in sizes[:-1]) and sizes[-1] <= MIN_PART_BYTES
    assert sink.completed and not sink.aborted
    # AND the writer held less than a part at any time (13 MiB went through it)
    assert most_held < MIN_PART_BYTES and writer.buffered == 0
    # AND the parts make a valid zip with every file byte for byte
    with zipfile.ZipFile(io.BytesIO(sink.body)) as read:
        assert read.testzip() is None
        assert {name: read.read(name) for name in files} == files
        assert read.read("albums.json").startswith(b"[")


def test_a_small_archive_is_one_short_part() -> None:
    sink = RecordingSink()
    archive = ZipArchive(PartWriter(sink))
    archive.add_json("audit.json", [])
    archive.close()
    assert [n for n, _ in sink.parts] == [1] and len(sink.body) < MIN_PART_BYTES and sink.completed


def test_parts_smaller_than_s3_allows_are_refused() -> None:
    with pytest.raises(ValueError):
        PartWriter(RecordingSink(), part_size=MIB)


class Bucket:
    """An ExportBucket holding one version per item, in memory."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.sinks: list[RecordingSink] = []

    def open_archive(self, key: str) -> ZipArchive:
        self.sinks.append(RecordingSink())
        return ZipArchive(PartWriter(self.sinks[-1]))

    def versions(self, key: str) -> list[ObjectVersion]:
        return [ObjectVersion("v1", len(self.objects[key]), "2024-01-01T00:00:00+00:00", True)]

    def chunks(self, key: str, version_id: str = "") -> Iterator[bytes]:
        return chunks_of(self.objects[key])


class Records:
    def __init__(self, items: list[MediaItem]) -> None:
        self._items = items

    def items(self, owner_id: str) -> Iterator[MediaItem]:
        return iter(self._items)

    def count_items(self, owner_id: str) -> int:
        return len(self._items)

    def grants_given(self, user_id: str) -> Iterator[Any]:
        return iter(())

    grants_received = grants_given
    albums = grants_given
    notifications = grants_given
    audit = grants_given


class Notices:
    def __init__(self) -> None:
        self.added: list[Any] = []

    def add(self, notification: Any) -> bool:
        self.added.append(notification)
        return True


def photo(media_id: str) -> MediaItem:
    rendition = Rendition(key=f"renditions/alice/{media_id}/thumb.webp", width=10, height=10, content_type="image/webp")
    return MediaItem(
        media_id=media_id, owner_id="alice", filename="photo.jpg", content_type="image/jpeg", size=3,
        object_key=f"originals/alice/{media_id}", status=MediaStatus.READY, renditions={"thumb": rendition},
    )  # fmt: skip


def export_run(items: list[MediaItem], seconds: list[float]) -> tuple[Job, Bucket, Notices]:
    """Run an export job's step with time_left answering from `seconds` (the last one repeats)."""
    objects = {item.object_key: b"jpg" for item in items} | {
        r.key: b"webp" for item in items for r in item.renditions.values()
    }
    bucket, notices, store = Bucket(objects), Notices(), Store()
    builder = ExportBuilder(
        Records(items), bucket, notices, save_progress=lambda job: store.commit(job, job.step), clock=lambda: 0.0
    )
    jobs = MaintenanceJobs(store, Queue(), Items([]), None, new_id=lambda: "a" * 32, runners={JobKind.EXPORT: builder})  # type: ignore[arg-type]
    job = jobs.submit(JobKind.EXPORT, {"user_id": "alice", "partner_org": ""}, "alice")
    answers = iter(seconds)
    last = [seconds[-1]]

    def time_left() -> float:
        last[0] = next(answers, last[0])
        return last[0]

    jobs.run_step(job.job_id, 0, redelivered=False, time_left=time_left)
    return jobs.get(job.job_id), bucket, notices


def test_an_export_that_fits_is_done_and_announced() -> None:
    job, bucket, notices = export_run([photo("1" * 32), photo("2" * 32)], [300.0])
    assert (job.status, job.counts["done"], job.counts["total"]) == (JobStatus.DONE, 2, 2)
    assert bucket.sinks[0].completed and [n.kind.value for n in notices.added] == ["export.ready"]


def test_an_export_that_runs_out_of_time_fails_at_once_and_leaves_no_archive() -> None:
    # GIVEN time for the first item only
    job, bucket, notices = export_run([photo("1" * 32), photo("2" * 32)], [300.0, 300.0, 300.0, 300.0, 10.0])

    # THEN the job failed saying why, the upload was aborted, nobody was told it is ready
    assert job.status is JobStatus.FAILED and job.finished_at is not None
    assert "could not finish within one run" in job.errors[0] and "1 of 2 items" in job.errors[0]
    assert bucket.sinks[0].aborted and not bucket.sinks[0].completed and notices.added == []
