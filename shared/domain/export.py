"""A person's export of their own data (GDPR access/portability): zip volumes in the bucket, built by the maintainer.

`POST /me/export` claims the person's one export slot and submits a maintenance job of kind `export`; the
maintainer's runner streams every original version, rendition and record into zip volumes that go up as multipart
uploads while they are written. When the last one is done the person is notified and `GET /me/export/{job_id}`
hands out a short-lived download link to each volume (minted on each request: a link stored in a notification
would have expired by the time it is read).

Multi-volume, so it always finishes: a zip cannot be resumed across runs (its central directory is only known once
every entry is written, and the compressor state and the unsent tail of a part would have to be persisted), so
each step of the job (one maintainer invocation, 5 minutes) writes ONE complete, standalone zip,
`exports/{user_id}/{job_id}-{n:03d}.zip`. It adds the person's items from the job's cursor while time allows (no
item is started with less than FINISH_SECONDS left); when time runs short with items left it closes the volume,
stores the position after its last item in the cursor and asks for another step. The last volume also holds the
records (grants, albums, notifications, audit) and export.json.

The cursor (`job.cursor`) is `{"items": <PersonalRecords' opaque position>, "volume": n, "done": items written
before volume n}` and is only committed with the step, so a redelivered step (the Lambda died mid-step) rewrites
volume n from the same position: same items, same bytes (entries carry a fixed date), at the same key; what an
abandoned upload sent is aborted (or, had it died, left to the bucket's lifecycle rule for incomplete uploads).

An item that runs the step out of time while being written (a huge video on a slow run) aborts its volume. If the
volume held earlier items, the cursor stays where it was and records that volume n holds only those (`cap`): the
next step writes them again and closes the volume, and the volume after starts with the item. If the item was
the volume's first, it can never fit in a run and the job fails naming it. Each such abort strictly lowers the cap
or fails the job, so an export always ends.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from shared.domain.albums import Album
from shared.domain.audit import AuditEntry
from shared.domain.errors import Conflict, NotFound, UnreadableMedia, ValidationError
from shared.domain.grants import Grant, Grantee, GranteeType, grant_document
from shared.domain.jobs import (
    Job,
    JobFailed,
    JobKind,
    JobStatus,
    MaintenanceJobs,
    TimeLeft,
    decode_cursor,
    encode_cursor,
)
from shared.domain.media import MediaItem, Rendition
from shared.domain.notifications import Notification, NotificationKind, SharePayload, notification_id
from shared.domain.ports import ObjectVersion
from shared.domain.principal import Principal, Role

EXPORT_PREFIX = "exports/"
# A claim whose job has not finished after this long is taken to be abandoned (the job's one run lasts 5 minutes,
# retried at most three times, each after the queue's 30-minute visibility timeout).
CLAIM_STALE_AFTER = timedelta(hours=2)
# The next item is not started with less than this left: what follows it (the JSON documents, the last part and
# completing the upload) must still fit.
FINISH_SECONDS = 30.0
# Progress is written back to the job at most this often while the archive is being built.
PROGRESS_EVERY_SECONDS = 5.0
_NOT_FOUND = "export not found"


def volume_key(user_id: str, job_id: str, volume: int) -> str:
    """Where volume `volume` (from 1) of an export is stored (the retention janitor and erasure delete everything
    under exports/{user_id}/)."""
    return f"{EXPORT_PREFIX}{user_id}/{job_id}-{volume:03d}.zip"


def volume_bytes_counter(volume: int) -> str:
    """The job counter that holds a finished volume's size in bytes."""
    return f"volume_{volume:03d}_bytes"


@dataclass(frozen=True)
class VolumeLink:
    """One volume of a finished export: a short-lived link, the name it downloads as, its size (0: unknown)."""

    url: str
    name: str
    size: int = 0


@dataclass(frozen=True)
class ExportView:
    """An export as its owner sees it; volumes (and download_url, the first one's) only once it is done."""

    job_id: str
    status: JobStatus
    done: int
    total: int
    created_at: datetime
    finished_at: datetime | None
    download_url: str = ""
    url_expires_in: int = 0
    error: str = ""
    volumes: tuple[VolumeLink, ...] = ()


class ExportClaims(Protocol):
    """One export at a time per person: a claim names the person's current export job."""

    def current(self, user_id: str) -> tuple[str, datetime] | None:
        """The job id the person's claim names and when it was made, or None."""

    def claim(self, user_id: str, job_id: str, replacing: str) -> None:
        """Point the person's claim at job_id if it still names `replacing` ("" : no claim yet); Conflict otherwise."""


class ExportLinks(Protocol):
    """Download links to finished archives."""

    def download_link(self, key: str, filename: str, ttl_seconds: int) -> str:
        """A GET URL valid for ttl_seconds, served as an attachment named filename."""


class DataExports:
    """Starts a person's export and shows them its progress and, once done, a link to the archive."""

    def __init__(
        self,
        jobs: MaintenanceJobs,
        claims: ExportClaims,
        links: ExportLinks,
        *,
        new_id: Callable[[], str],
        link_ttl_seconds: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._jobs = jobs
        self._claims = claims
        self._links = links
        self._new_id = new_id
        self._link_ttl = link_ttl_seconds
        self._clock = clock

    def start(self, principal: Principal) -> Job:
        """Submit an export of the caller's data; Conflict while their previous export is still running."""
        current = self._claims.current(principal.sub)
        replacing = ""
        if current is not None:
            replacing, claimed_at = current
            if self._running(replacing) and self._clock() - claimed_at < CLAIM_STALE_AFTER:
                raise Conflict("an export of your data is already running")
        job_id = self._new_id()
        self._claims.claim(principal.sub, job_id, replacing)  # a concurrent start loses here
        params = {"user_id": principal.sub, "partner_org": principal.partner_org if _partner(principal) else ""}
        return self._jobs.submit(JobKind.EXPORT, params, principal.sub, job_id=job_id)

    def view(self, principal: Principal, job_id: str) -> ExportView:
        """The caller's export; NotFound for a missing job, another kind of job or someone else's."""
        job = self._own(principal, job_id)
        volumes: list[VolumeLink] = []
        if job.status is JobStatus.DONE:
            day = job.created_at.date().isoformat()
            if "volumes" not in job.counts:  # finished before exports came in volumes: one zip, its size unknown
                name = f"media-vault-export-{day}.zip"
                key = f"{EXPORT_PREFIX}{principal.sub}/{job.job_id}.zip"
                volumes.append(VolumeLink(self._links.download_link(key, name, self._link_ttl), name))
            for number in range(1, job.counts.get("volumes", 0) + 1):
                name = f"media-vault-export-{day}-{number:03d}.zip"
                url = self._links.download_link(volume_key(principal.sub, job.job_id, number), name, self._link_ttl)
                volumes.append(VolumeLink(url, name, job.counts.get(volume_bytes_counter(number), 0)))
        url = volumes[0].url if volumes else ""
        return ExportView(
            job_id=job.job_id,
            status=job.status,
            done=job.counts.get("done", 0),
            total=job.counts.get("total", 0),
            created_at=job.created_at,
            finished_at=job.finished_at,
            download_url=url,
            url_expires_in=self._link_ttl if url else 0,
            error=job.errors[-1] if job.status is JobStatus.FAILED and job.errors else "",
            volumes=tuple(volumes),
        )

    def _own(self, principal: Principal, job_id: str) -> Job:
        try:
            job = self._jobs.get(job_id)
        except NotFound:
            raise NotFound(_NOT_FOUND) from None
        if job.kind is not JobKind.EXPORT or job.requested_by != principal.sub:
            raise NotFound(_NOT_FOUND)
        return job

    def _running(self, job_id: str) -> bool:
        try:
            return not self._jobs.get(job_id).finished
        except NotFound:
            return False  # the claim was made but its job never stored: nothing runs


def _partner(principal: Principal) -> bool:
    return principal.role is Role.PARTNER and bool(principal.partner_org)


# --- the maintainer's side: building the archive ---------------------------------------------------------------


class Archive(Protocol):
    """A zip being written straight to the bucket."""

    def add_file(self, name: str, chunks: Iterable[bytes], size: int) -> None:
        """Add an entry from a stream of chunks (stored as is: media is compressed already)."""

    def add_json(self, name: str, document: Any) -> None:
        """Add a JSON document (compressed)."""

    def close(self) -> int:
        """Finish the zip and complete the upload; the zip's size in bytes."""

    def abort(self) -> None:
        """Give the upload up (nothing is left at the key)."""


class ExportBucket(Protocol):
    """The media bucket as an export reads and writes it."""

    def open_archive(self, key: str) -> Archive:
        """Start writing a zip to key."""

    def versions(self, key: str) -> list[ObjectVersion]:
        """Every stored version of exactly this key, newest first."""

    def chunks(self, key: str, version_id: str = "") -> Iterator[bytes]:
        """One object's (version's) bytes, a chunk at a time."""


class PersonalRecords(Protocol):
    """A person's records, each kind read a page at a time."""

    def items_from(self, owner_id: str, cursor: str) -> Iterator[tuple[MediaItem, str]]:
        """Every item the person owns, then those in their trash, from `cursor` ("": the start), each with the
        (opaque) cursor of the position right after it: listing from that cursor goes on with the next item."""

    def count_items(self, owner_id: str) -> int:
        """How many items items_from() yields from the start."""

    def grants_given(self, user_id: str) -> Iterator[Grant]:
        """Grants the person made."""

    def grants_received(self, grantees: list[Grantee]) -> Iterator[Grant]:
        """Grants to the person (and to their partner organisation)."""

    def albums(self, owner_id: str) -> Iterator[tuple[Album, list[str]]]:
        """The person's albums, each with its members' media ids in album order."""

    def notifications(self, recipient_id: str) -> Iterator[Notification]:
        """The person's notifications, newest first."""

    def audit(self, actor_id: str) -> Iterator[AuditEntry]:
        """What the person did, newest first."""


class Notifications(Protocol):
    """Where the ready notice goes."""

    def add(self, notification: Notification) -> bool:
        """Store a new notification (False when this one is stored already)."""


class ExportBuilder:
    """The export job's runner: one zip volume per step, its progress written back as it goes."""

    def __init__(
        self,
        records: PersonalRecords,
        bucket: ExportBucket,
        notifications: Notifications,
        *,
        save_progress: Callable[[Job], None],
        clock: Callable[[], float],
    ) -> None:
        self._records = records
        self._bucket = bucket
        self._notifications = notifications
        self._save_progress = save_progress
        self._clock = clock

    def __call__(self, job: Job, time_left: TimeLeft) -> bool:
        """Write the next volume; True once the last one (with the records) is written, False to go on in the next
        step; JobFailed when an item cannot be written within a run even on its own."""
        user_id = str(job.params["user_id"])
        position = _Position.of(job.cursor)
        if not job.cursor:
            job.counts["total"] = self._records.count_items(user_id)
        # Progress saved by an earlier delivery of this step is not trusted: the volume is written again from here.
        job.counts["done"] = position.done
        self._save_progress(job)
        archive = self._bucket.open_archive(volume_key(user_id, job.job_id, position.volume))
        try:
            written, after, finished = self._write_items(archive, job, user_id, position, time_left)
        except _OutOfTime as stopped:
            archive.abort()
            return self._after_overrun(job, position, stopped)
        except BaseException:
            archive.abort()
            raise
        try:
            if finished:
                self._write_records(archive, job, user_id, position.volume)
            size = archive.close()
        except BaseException:
            archive.abort()
            raise
        job.counts["volumes"] = position.volume
        job.counts[volume_bytes_counter(position.volume)] = size
        if finished:
            job.cursor = ""
            self._notify(job, user_id)
            return True
        job.cursor = _Position(after, position.volume + 1, position.done + written).encode()
        return False

    def _write_items(
        self, archive: Archive, job: Job, user_id: str, position: _Position, time_left: TimeLeft
    ) -> tuple[int, str, bool]:
        """Items from the position into the volume: how many, the cursor after the last, and whether none is left."""
        last_saved = self._clock()
        written, after = 0, position.items
        for item, next_cursor in self._records.items_from(user_id, position.items):
            # The volume's first item is always tried (a step starts with a whole run ahead of it); after that, an
            # item is started only with time left for it and for closing the volume.
            if written and (written == position.cap or time_left() < FINISH_SECONDS):
                return written, after, False
            try:
                self._add_item(archive, item, job, time_left)
            except _OutOfTime as stopped:
                raise _OutOfTime(item.media_id, item.filename, written) from stopped
            written, after = written + 1, next_cursor
            job.count("done")
            if self._clock() - last_saved >= PROGRESS_EVERY_SECONDS:
                self._save_progress(job)
                last_saved = self._clock()
        return written, after, True

    def _after_overrun(self, job: Job, position: _Position, stopped: _OutOfTime) -> bool:
        """An item ran this step out of time: its volume was aborted. With earlier items in it, the same volume is
        written again next step holding only those; alone, the item can never be written."""
        if stopped.written == 0:
            raise JobFailed(
                f"the export cannot include {stopped.filename!r} (item {stopped.media_id}): on its own it takes "
                f"longer than one run of the maintainer (5 minutes) to write; {position.done} of "
                f"{job.counts.get('total', 0)} items were written in {position.volume - 1} volume(s)"
            )
        job.counts["done"] = position.done
        job.cursor = _Position(position.items, position.volume, position.done, cap=stopped.written).encode()
        return False

    def _write_records(self, archive: Archive, job: Job, user_id: str, volumes: int) -> None:
        partner_org = str(job.params.get("partner_org") or "")
        grantees = [Grantee(GranteeType.USER, user_id)]
        if partner_org:
            grantees.append(Grantee(GranteeType.ORG, partner_org))
        archive.add_json(
            "grants.json",
            {
                "given": [grant_document(g) for g in self._records.grants_given(user_id)],
                "received": [grant_document(g) for g in self._records.grants_received(grantees)],
            },
        )
        albums = [album_document(album, members) for album, members in self._records.albums(user_id)]
        archive.add_json("albums.json", albums)
        archive.add_json("notifications.json", [notification_document(n) for n in self._records.notifications(user_id)])
        archive.add_json("audit.json", [audit_document(e) for e in self._records.audit(user_id)])
        archive.add_json(
            "export.json",
            {"user_id": user_id, "job_id": job.job_id, "items": job.counts["done"], "volumes": volumes},
        )

    def _add_item(self, archive: Archive, item: MediaItem, job: Job, time_left: TimeLeft) -> None:
        folder = f"media/{item.media_id}"
        # Oldest first: the storage lists newest first, in S3's order, which also orders versions written within the
        # same second (sorting on the time would not).
        versions = list(reversed(self._bucket.versions(item.object_key)))
        for number, version in enumerate(versions, start=1):
            chunks = self._opened(job, item.object_key, version.version_id)
            if chunks is not None:
                archive.add_file(f"{folder}/v{number}-{item.filename}", _timed(chunks, time_left), version.size)
        files: dict[str, str] = {}
        for rendition_name, rendition in sorted(item.renditions.items()):
            chunks = self._opened(job, rendition.key)
            if chunks is not None:
                files[rendition_name] = f"{folder}/renditions/{rendition_name}{_extension(rendition)}"
                archive.add_file(files[rendition_name], _timed(chunks, time_left), 0)
        archive.add_json(f"{folder}/metadata.json", item_document(item, versions, files))

    def _opened(self, job: Job, key: str, version_id: str = "") -> Iterator[bytes] | None:
        """The object's chunks, read up to the first before its entry is started; None (noted on the job) when it
        cannot be read, so one lost rendition leaves the rest of the export whole."""
        chunks = self._bucket.chunks(key, version_id)
        try:
            first = next(chunks, b"")
        except UnreadableMedia as exc:
            note = f"{key}: {exc}"
            if note[:300] not in job.errors:  # a step written again notes it again
                job.note_error(note)
            return None
        return itertools.chain([first], chunks)

    def _notify(self, job: Job, user_id: str) -> None:
        now = datetime.now(UTC)
        payload = SharePayload(
            actor_id=user_id,
            actor_name="",
            resource_type="export",
            resource_id=job.job_id,
            resource_title="Your data export is ready to download",
            permissions=(),
            share_id="",
        )
        kind = NotificationKind.EXPORT_READY
        self._notifications.add(Notification(notification_id(now, job.job_id, kind), user_id, kind, now, payload))


@dataclass(frozen=True)
class _Position:
    """Where the next step of an export starts: the records' item cursor, the volume it writes, the items written
    before it and, after an overrun, how many items that volume may hold (0: as many as fit)."""

    items: str = ""
    volume: int = 1
    done: int = 0
    cap: int = 0

    @classmethod
    def of(cls, cursor: str) -> _Position:
        value = decode_cursor(cursor)
        try:
            return cls(value.get("items", ""), int(value.get("volume", 1)), int(value.get("done", 0)),
                       int(value.get("cap", 0)))  # fmt: skip
        except ValueError:
            raise ValidationError("malformed export cursor") from None

    def encode(self) -> str:
        value = {"items": self.items, "volume": str(self.volume), "done": str(self.done)}
        return encode_cursor(value | ({"cap": str(self.cap)} if self.cap else {}))


class _OutOfTime(Exception):
    """The run's time ran out in the middle of an item (written: the items before it in the volume)."""

    def __init__(self, media_id: str = "", filename: str = "", written: int = 0) -> None:
        super().__init__(media_id)
        self.media_id = media_id
        self.filename = filename
        self.written = written


def _timed(chunks: Iterator[bytes], time_left: TimeLeft) -> Iterator[bytes]:
    """The chunks, stopping the volume when a large object would run past the time this run has."""
    for chunk in chunks:
        if time_left() < FINISH_SECONDS / 2:
            raise _OutOfTime
        yield chunk


def _extension(rendition: Rendition) -> str:
    last = rendition.key.rsplit("/", 1)[-1]
    return f".{last.rsplit('.', 1)[-1]}" if "." in last else ""


def _instant(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def item_document(item: MediaItem, versions: list[ObjectVersion], files: dict[str, str]) -> dict[str, Any]:
    """What the archive says about one item (its versions oldest first, as numbered in the file names)."""
    return {
        "media_id": item.media_id,
        "filename": item.filename,
        "content_type": item.content_type,
        "kind": item.kind.value,
        "size": item.size,
        "status": item.status.value,
        "created_at": _instant(item.created_at),
        "updated_at": _instant(item.updated_at),
        "trashed_at": _instant(item.trashed_at),
        "title": item.title,
        "description": item.description,
        "tags": list(item.tags),
        "taken_at": item.effective_taken_at,
        "location_visible": item.location_visible,
        "width": item.width,
        "height": item.height,
        "metadata": item.metadata,
        "moderation": item.moderation,
        "ai_description": item.ai_description,
        "album_ids": sorted(item.album_ids),
        "versions": [version_document(n, v, item.filename) for n, v in enumerate(versions, start=1)],
        "renditions": {
            name: {"file": files.get(name, ""), "width": r.width, "height": r.height, "content_type": r.content_type}
            for name, r in sorted(item.renditions.items())
        },
    }


def version_document(number: int, version: ObjectVersion, filename: str) -> dict[str, Any]:
    """One stored version of an original, numbered from the oldest."""
    return {
        "number": number,
        "version_id": version.version_id,
        "size": version.size,
        "stored_at": version.last_modified,
        "current": version.is_current,
        "file": f"v{number}-{filename}",
    }


def album_document(album: Album, members: list[str]) -> dict[str, Any]:
    """An album and its items in order."""
    return {
        "album_id": album.album_id,
        "title": album.title,
        "description": album.description,
        "cover_media_id": album.cover_media_id,
        "created_at": _instant(album.created_at),
        "updated_at": _instant(album.updated_at),
        "media_ids": members,
    }


def notification_document(notification: Notification) -> dict[str, Any]:
    """A notification as the person was shown it."""
    payload = notification.payload
    return {
        "notification_id": notification.notification_id,
        "kind": notification.kind.value,
        "created_at": _instant(notification.created_at),
        "read_at": _instant(notification.read_at),
        "actor_id": payload.actor_id,
        "actor_name": payload.actor_name,
        "resource": {"type": payload.resource_type, "id": payload.resource_id, "title": payload.resource_title},
        "permissions": list(payload.permissions),
        "share_id": payload.share_id,
    }


def audit_document(entry: AuditEntry) -> dict[str, Any]:
    """One of the person's own audit entries."""
    return {
        "entry_id": entry.entry_id,
        "at": _instant(entry.at),
        "action": entry.action,
        "resource_type": entry.resource_type,
        "resource_id": entry.resource_id,
        "owner_id": entry.owner_id,
        "status": entry.status,
        "source_ip": entry.source_ip,
        "user_agent": entry.user_agent,
        "request_id": entry.request_id,
    }


def json_bytes(document: Any) -> bytes:
    """A document as the archive stores it."""
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True).encode()
