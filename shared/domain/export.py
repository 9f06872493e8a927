"""A person's export of their own data (GDPR access/portability): one zip in the bucket, built by the maintainer.

`POST /me/export` claims the person's one export slot and submits a maintenance job of kind `export`; the
maintainer's runner streams every original version, rendition and record into a zip that goes up as a multipart
upload while it is written. When it is done the person is notified and `GET /me/export/{job_id}` hands out a
short-lived download link (minted on each request: a link stored in a notification would have expired by the
time it is read).

One run, not resumable: a zip's central directory is only known once every entry is written, and resuming a
multipart zip stream across steps would mean persisting the entries written so far, the compressor state and the
unsent tail of the current part. The export therefore runs inside one maintainer invocation (5 minutes); when the
time left cannot cover the next item the upload is aborted and the job fails saying so, rather than leaving a
truncated archive behind.
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
from shared.domain.errors import Conflict, NotFound, UnreadableMedia
from shared.domain.grants import Grant, Grantee, GranteeType, grant_document
from shared.domain.jobs import Job, JobFailed, JobKind, JobStatus, MaintenanceJobs, TimeLeft
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


def archive_key(user_id: str, job_id: str) -> str:
    """Where an export's zip is stored (the retention job deletes old objects under exports/)."""
    return f"{EXPORT_PREFIX}{user_id}/{job_id}.zip"


@dataclass(frozen=True)
class ExportView:
    """An export as its owner sees it; download_url only once it is done."""

    job_id: str
    status: JobStatus
    done: int
    total: int
    created_at: datetime
    finished_at: datetime | None
    download_url: str = ""
    url_expires_in: int = 0
    error: str = ""


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
        url = ""
        if job.status is JobStatus.DONE:
            filename = f"media-vault-export-{job.created_at.date().isoformat()}.zip"
            url = self._links.download_link(archive_key(principal.sub, job.job_id), filename, self._link_ttl)
        return ExportView(
            job_id=job.job_id,
            status=job.status,
            done=job.counts.get("done", 0),
            total=job.counts.get("total", 0),
            created_at=job.created_at,
            finished_at=job.finished_at,
            download_url=url,
            url_expires_in=self._link_ttl if url else 0,
            error=job.errors[0] if job.status is JobStatus.FAILED and job.errors else "",
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

    def close(self) -> None:
        """Finish the zip and complete the upload."""

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

    def items(self, owner_id: str) -> Iterator[MediaItem]:
        """Every item the person owns, in the trash too."""

    def count_items(self, owner_id: str) -> int:
        """How many items items() yields."""

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
    """The export job's runner: the whole archive in one step, its progress written back as it goes."""

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
        """Build the archive; JobFailed when it cannot be finished within this run."""
        user_id = str(job.params["user_id"])
        job.counts["total"] = self._records.count_items(user_id)
        job.counts["done"] = 0
        self._save_progress(job)
        archive = self._bucket.open_archive(archive_key(user_id, job.job_id))
        try:
            self._write(archive, job, user_id, time_left)
            archive.close()
        except BaseException:
            archive.abort()
            raise
        self._notify(job, user_id)
        return True

    def _write(self, archive: Archive, job: Job, user_id: str, time_left: TimeLeft) -> None:
        last_saved = self._clock()
        for item in self._records.items(user_id):
            if time_left() < FINISH_SECONDS:
                raise _too_large(job)
            self._add_item(archive, item, job, time_left)
            job.count("done")
            if self._clock() - last_saved >= PROGRESS_EVERY_SECONDS:
                self._save_progress(job)
                last_saved = self._clock()
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
        archive.add_json("export.json", {"user_id": user_id, "job_id": job.job_id, "items": job.counts["done"]})

    def _add_item(self, archive: Archive, item: MediaItem, job: Job, time_left: TimeLeft) -> None:
        folder = f"media/{item.media_id}"
        # Oldest first: the storage lists newest first, in S3's order, which also orders versions written within the
        # same second (sorting on the time would not).
        versions = list(reversed(self._bucket.versions(item.object_key)))
        for number, version in enumerate(versions, start=1):
            chunks = self._opened(job, item.object_key, version.version_id)
            if chunks is not None:
                archive.add_file(f"{folder}/v{number}-{item.filename}", _timed(chunks, job, time_left), version.size)
        files: dict[str, str] = {}
        for rendition_name, rendition in sorted(item.renditions.items()):
            chunks = self._opened(job, rendition.key)
            if chunks is not None:
                files[rendition_name] = f"{folder}/renditions/{rendition_name}{_extension(rendition)}"
                archive.add_file(files[rendition_name], _timed(chunks, job, time_left), 0)
        archive.add_json(f"{folder}/metadata.json", item_document(item, versions, files))

    def _opened(self, job: Job, key: str, version_id: str = "") -> Iterator[bytes] | None:
        """The object's chunks, read up to the first before its entry is started; None (noted on the job) when it
        cannot be read, so one lost rendition leaves the rest of the export whole."""
        chunks = self._bucket.chunks(key, version_id)
        try:
            first = next(chunks, b"")
        except UnreadableMedia as exc:
            job.note_error(f"{key}: {exc}")
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


def _timed(chunks: Iterator[bytes], job: Job, time_left: TimeLeft) -> Iterator[bytes]:
    """The chunks, stopping the export when a large object would run past the time this run has."""
    for chunk in chunks:
        if time_left() < FINISH_SECONDS / 2:
            raise _too_large(job)
        yield chunk


def _too_large(job: Job) -> JobFailed:
    done, total = job.counts.get("done", 0), job.counts.get("total", 0)
    return JobFailed(
        f"the export could not finish within one run of the maintainer (5 minutes): {done} of {total} items "
        "were written; the partial archive was discarded"
    )


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
