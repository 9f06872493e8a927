"""Export archives: the zip streams to S3 in parts of at least 5 MiB, holding about one part; an export longer
than a run goes on in further volumes, each a whole zip; an item that cannot fit in any run fails the job."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from shared.adapters.export_archive import MIN_PART_BYTES, PartWriter, ZipArchive
from shared.domain.export import DataExports, ExportBuilder, volume_key
from shared.domain.jobs import Job, JobKind, JobStatus, MaintenanceJobs
from shared.domain.media import MediaItem, MediaStatus, Rendition
from shared.domain.ports import ObjectVersion
from shared.domain.principal import Principal, Role
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
    """An ExportBucket holding one version per item, in memory; reading a chunk costs `clock.per_chunk` seconds."""

    def __init__(self, objects: dict[str, bytes], clock: Clock | None = None) -> None:
        self.objects = objects
        self.clock = clock
        self.sinks: list[tuple[str, RecordingSink]] = []

    def open_archive(self, key: str) -> ZipArchive:
        self.sinks.append((key, RecordingSink()))
        return ZipArchive(PartWriter(self.sinks[-1][1]))

    def versions(self, key: str) -> list[ObjectVersion]:
        return [ObjectVersion("v1", len(self.objects[key]), "2024-01-01T00:00:00+00:00", True)]

    def chunks(self, key: str, version_id: str = "") -> Iterator[bytes]:
        for chunk in chunks_of(self.objects[key], CHUNK):
            if self.clock is not None:
                self.clock.spent += self.clock.per_chunk
            yield chunk

    def volumes(self) -> dict[str, bytes]:
        """Every key's completed zip (the last one written wins, as in S3)."""
        return {key: sink.body for key, sink in self.sinks if sink.completed}

    @property
    def open_uploads(self) -> list[str]:
        return [key for key, sink in self.sinks if not (sink.completed or sink.aborted)]


class Records:
    def __init__(self, items: list[MediaItem]) -> None:
        self._items = items

    def items_from(self, owner_id: str, cursor: str) -> Iterator[tuple[MediaItem, str]]:
        start = int(cursor) if cursor else 0
        return ((item, str(n)) for n, item in enumerate(self._items[start:], start=start + 1))

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


# Objects are read in chunks of this many bytes: an object of n * CHUNK bytes takes n chunks' time.
CHUNK = 4


def photo(media_id: str, chunks: int = 1) -> MediaItem:
    rendition = Rendition(key=f"renditions/alice/{media_id}/thumb.webp", width=10, height=10, content_type="image/webp")
    return MediaItem(
        media_id=media_id, owner_id="alice", filename=f"photo-{media_id[-3:]}.jpg", content_type="image/jpeg",
        size=chunks * CHUNK, object_key=f"originals/alice/{media_id}", status=MediaStatus.READY,
        renditions={"thumb": rendition},
    )  # fmt: skip


def photos(count: int, first: int = 1) -> list[MediaItem]:
    return [photo(f"{n:032x}") for n in range(first, first + count)]


class Clock:
    """A run's time: each step has `budget` seconds; reading a chunk of an object takes per_chunk of them."""

    def __init__(self, per_chunk: float, budget: float = 300.0) -> None:
        self.per_chunk = per_chunk
        self.budget = budget
        self.spent = 0.0

    def new_run(self) -> None:
        self.spent = 0.0

    def time_left(self) -> float:
        return self.budget - self.spent

    def now(self) -> float:
        return self.spent


class Export:
    """An export job of `items` with the maintenance framework, its steps run one by one on a fresh run each."""

    def __init__(self, items: list[MediaItem], clock: Clock) -> None:
        objects = {item.object_key: os.urandom(item.size) for item in items} | {
            r.key: b"webp" for item in items for r in item.renditions.values()
        }
        self.items, self.objects, self.clock = items, objects, clock
        self.bucket, self.notices, self.store, self.queue = Bucket(objects, clock), Notices(), Store(), Queue()
        self.builder = ExportBuilder(
            Records(items), self.bucket, self.notices, save_progress=lambda job: self.store.commit(job, job.step),
            clock=clock.now,
        )  # fmt: skip
        self.jobs = MaintenanceJobs(
            self.store, self.queue, Items([]), None,  # type: ignore[arg-type]
            new_id=lambda: "a" * 32, runners={JobKind.EXPORT: self.builder},
        )  # fmt: skip
        self.job_id = self.jobs.submit(JobKind.EXPORT, {"user_id": "alice", "partner_org": ""}, "alice").job_id

    @property
    def job(self) -> Job:
        return self.jobs.get(self.job_id)

    def step(self, redelivered: bool = False) -> Job:
        self.clock.new_run()
        self.jobs.run_step(self.job_id, self.job.step, redelivered=redelivered, time_left=self.clock.time_left)
        return self.job

    def run(self, most_steps: int = 20) -> Job:
        for _ in range(most_steps):
            if self.step().finished:
                return self.job
        raise AssertionError(f"not finished after {most_steps} steps: {self.job}")

    def volumes(self) -> list[zipfile.ZipFile]:
        stored = self.bucket.volumes()
        count = self.job.counts["volumes"]
        assert sorted(stored) == [volume_key("alice", self.job_id, n) for n in range(1, count + 1)]
        return [zipfile.ZipFile(io.BytesIO(stored[volume_key("alice", self.job_id, n)])) for n in range(1, count + 1)]


RECORDS = ["grants.json", "albums.json", "notifications.json", "audit.json", "export.json"]


def test_an_export_that_fits_is_one_volume_done_and_announced() -> None:
    export = Export(photos(2), Clock(per_chunk=0.0))
    job = export.run()
    assert (job.status, job.counts["done"], job.counts["total"], job.counts["volumes"]) == (JobStatus.DONE, 2, 2, 1)
    [volume] = export.volumes()
    assert volume.testzip() is None and set(RECORDS) <= set(volume.namelist())
    assert job.counts["volume_001_bytes"] == len(export.bucket.volumes()[volume_key("alice", export.job_id, 1)])
    assert [n.kind.value for n in export.notices.added] == ["export.ready"] and export.bucket.open_uploads == []


def test_an_export_longer_than_a_run_is_split_into_volumes_holding_every_item_once() -> None:
    # GIVEN 30 photos, each taking 20 s to read (its original and its thumbnail, 10 s each): 14 fit in a run of 300 s
    export = Export(photos(30), Clock(per_chunk=10.0))

    # WHEN the job runs step by step
    first = export.step()

    # THEN the first step wrote one whole volume, kept its place, and asked for another step
    assert (first.status, first.counts["done"], first.counts["volumes"], first.step) == (JobStatus.RUNNING, 14, 1, 1)
    assert export.queue.sent[-1] == (export.job_id, 1) and export.notices.added == []
    job = export.run()

    # AND it finished in three volumes, each a valid zip on its own, together holding every item exactly once
    assert (job.status, job.counts["done"], job.counts["total"], job.counts["volumes"]) == (JobStatus.DONE, 30, 30, 3)
    volumes = export.volumes()
    assert all(volume.testzip() is None for volume in volumes)
    names = [name for volume in volumes for name in volume.namelist()]
    assert len(names) == len(set(names))
    for volume in volumes:
        for name in volume.namelist():
            if name.endswith(".jpg"):
                media_id = name.split("/")[1]
                assert volume.read(name) == export.objects[f"originals/alice/{media_id}"]
    per_volume = [{name.split("/")[1] for name in v.namelist() if name.startswith("media/")} for v in volumes]
    assert [len(ids) for ids in per_volume] == [14, 14, 2]
    assert set().union(*per_volume) == {item.media_id for item in export.items}
    for item in export.items:
        [holder] = [v for v in volumes if f"media/{item.media_id}/metadata.json" in v.namelist()]
        assert {f"media/{item.media_id}/v1-{item.filename}", f"media/{item.media_id}/renditions/thumb.webp"} <= set(
            holder.namelist()
        )
    # AND the records are in the last volume only, which says how many volumes there are
    assert set(RECORDS) <= set(volumes[-1].namelist())
    assert not set(RECORDS) & {name for volume in volumes[:-1] for name in volume.namelist()}
    assert json.loads(volumes[-1].read("export.json"))["volumes"] == 3
    assert json.loads(volumes[-1].read("export.json"))["items"] == 30
    # AND she was told once; no upload is left open
    assert len(export.notices.added) == 1 and export.bucket.open_uploads == []


def test_a_redelivered_step_writes_the_same_volume_again_from_the_same_place() -> None:
    # GIVEN an export whose first step ran, saved progress, wrote volume 1 but died before committing
    export = Export(photos(30), Clock(per_chunk=10.0))
    loaded = export.job
    export.clock.new_run()
    assert export.builder(loaded, export.clock.time_left) is False
    died = export.bucket.volumes()[volume_key("alice", export.job_id, 1)]
    assert export.job.step == 0 and export.job.counts["done"] > 0  # progress was saved on the way

    # WHEN SQS delivers the step again
    job = export.step(redelivered=True)

    # THEN the same volume is written again to the same key, byte for byte, and progress is not counted twice
    assert export.bucket.volumes()[volume_key("alice", export.job_id, 1)] == died
    assert (job.step, job.counts["done"], job.counts["volumes"]) == (1, 14, 1)
    assert export.run().counts["done"] == 30


def test_an_item_that_runs_the_step_out_of_time_starts_the_volume_after_its_predecessors() -> None:
    # GIVEN five photos, then a video that alone takes 260 s to read, then three photos
    video = photo(f"{6:032x}", chunks=25)
    items = [*photos(5), video, *photos(3, first=7)]
    export = Export(items, Clock(per_chunk=10.0))

    # WHEN the first step reaches the video with 200 s left: the time runs out in the middle of it
    first = export.step()

    # THEN that volume was aborted, the cursor did not move, and the same volume will hold the five photos only
    assert (first.status, first.counts["done"], first.counts.get("volumes", 0)) == (JobStatus.RUNNING, 0, 0)
    assert export.bucket.volumes() == {} and export.bucket.sinks[0][1].aborted

    # WHEN the job goes on THEN it finishes: the photos, then a volume starting with the video
    job = export.run()
    assert (job.status, job.counts["done"], job.counts["volumes"]) == (JobStatus.DONE, 9, 3)
    volumes = export.volumes()
    assert all(volume.testzip() is None for volume in volumes)
    firsts = [sorted({n.split("/")[1] for n in v.namelist() if n.startswith("media/")}) for v in volumes]
    assert firsts[0] == [item.media_id for item in items[:5]]
    assert volumes[1].namelist()[0] == f"media/{video.media_id}/v1-{video.filename}"
    assert volumes[1].read(volumes[1].namelist()[0]) == export.objects[video.object_key]
    assert sorted(m for ids in firsts for m in ids) == sorted(item.media_id for item in items)
    assert export.bucket.open_uploads == []


def test_an_item_too_large_for_any_run_fails_the_export_naming_it() -> None:
    # GIVEN two photos and a video that takes 400 s to read on its own
    giant = photo(f"{3:032x}", chunks=40)
    export = Export([*photos(2), giant], Clock(per_chunk=10.0))

    # WHEN the job runs THEN it ends (no step repeats forever): failed, naming the video, nobody told it is ready
    job = export.run(most_steps=5)
    assert job.status is JobStatus.FAILED and job.finished_at is not None
    assert giant.media_id in job.errors[-1] and giant.filename in job.errors[-1]
    assert "longer than one run" in job.errors[-1]
    assert export.notices.added == []
    # AND every upload was completed or aborted (the photos' volume stays until the retention removes it)
    assert export.bucket.open_uploads == []
    assert [key for key, sink in export.bucket.sinks if sink.aborted][-1] == volume_key("alice", export.job_id, 2)


class Links:
    def download_link(self, key: str, filename: str, ttl_seconds: int) -> str:
        return f"https://bucket.example/{key}?as={filename}&ttl={ttl_seconds}"


def finished_export(counts: dict[str, int]) -> tuple[DataExports, Principal]:
    store = Store()
    jobs = MaintenanceJobs(store, Queue(), Items([]), None, new_id=lambda: "b" * 32)  # type: ignore[arg-type]
    store.create(Job("b" * 32, JobKind.EXPORT, {}, "alice", status=JobStatus.DONE, counts=counts))
    exports = DataExports(jobs, None, Links(), new_id=lambda: "c" * 32, link_ttl_seconds=300)  # type: ignore[arg-type]
    return exports, Principal(sub="alice", username="alice", role=Role.USER)


def test_a_finished_export_links_every_volume_in_order_and_download_url_is_the_first() -> None:
    exports, alice = finished_export(
        {"done": 3, "total": 3, "volumes": 2, "volume_001_bytes": 10, "volume_002_bytes": 7}
    )
    view = exports.view(alice, "b" * 32)
    assert [v.url.split("?")[0] for v in view.volumes] == [
        f"https://bucket.example/{volume_key('alice', 'b' * 32, n)}" for n in (1, 2)
    ]
    assert [v.size for v in view.volumes] == [10, 7] and view.download_url == view.volumes[0].url
    assert [v.name[-7:] for v in view.volumes] == ["001.zip", "002.zip"] and view.url_expires_in == 300


def test_an_export_finished_before_volumes_still_links_its_one_zip() -> None:
    exports, alice = finished_export({"done": 1, "total": 1})
    [volume] = exports.view(alice, "b" * 32).volumes
    assert volume.url.startswith(f"https://bucket.example/exports/alice/{'b' * 32}.zip?") and volume.size == 0
