"""In-memory implementations of the domain's ports, for unit tests."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.adapters.cursors import CursorSigner
from shared.domain.errors import Conflict, NotFound, QuotaExceeded, RejectedMedia, UnreadableMedia
from shared.domain.media import MediaItem, MediaKind, MediaStatus
from shared.domain.ports import (
    DetailChanges,
    DownloadedObject,
    MediaAnalysis,
    MediaQuery,
    ObjectVersion,
    Page,
    PresignedPost,
    PresignedPut,
    ProcessingResult,
    RenditionFile,
    SortField,
    UploadedPart,
)


class MemoryRepository:
    """MediaRepository in a dict, with the conditional semantics of the DynamoDB one (tests/contract holds both to
    the same suite)."""

    def __init__(self, ledger: MemoryLedger | None = None, cursor_key: str = "memory-cursor-signing-key") -> None:
        self.items: dict[str, MediaItem] = {}
        self.transitions: list[tuple[str, MediaStatus]] = []
        # The owner's counter that deleting a record gives bytes back to (DynamoDB: the same transaction).
        self.ledger = ledger
        self._cursors = CursorSigner(cursor_key.encode())

    def create(self, item: MediaItem) -> None:
        if item.media_id in self.items:
            raise Conflict("exists")
        self.items[item.media_id] = dataclasses.replace(item, stored_bytes=item.stored_bytes or item.size)

    def get(self, media_id: str) -> MediaItem | None:
        item = self.items.get(media_id)
        return dataclasses.replace(item) if item else None

    def get_many(self, media_ids: list[str]) -> dict[str, MediaItem]:
        return {m: dataclasses.replace(self.items[m]) for m in media_ids if m in self.items}

    def list_owned(self, owner_id: str, query: MediaQuery, limit: int, cursor: str | None) -> Page:
        sort_key = "taken_sort" if query.sort is SortField.TAKEN else "created_at"
        scope = json.dumps({"owner": owner_id, "query": {**dataclasses.asdict(query), "sort": query.sort.value}})
        position = None
        if cursor:
            opened = self._cursors.open(cursor, scope, frozenset({"media_id", "owner_id", sort_key}))
            position = (opened[sort_key]["S"], opened["media_id"]["S"])
        matching = sorted(
            (
                (_sort_value(item, query.sort), item.media_id)
                for item in self.items.values()
                if _listed(item, owner_id, query)
            ),
            reverse=query.descending,
        )
        if position is not None:
            matching = [key for key in matching if (key < position if query.descending else key > position)]
        page = matching[:limit]
        items = [dataclasses.replace(self.items[media_id]) for _, media_id in page]
        if len(matching) <= limit:
            return Page(items=items, cursor=None)
        last_value, last_id = page[-1]
        mark = {"media_id": {"S": last_id}, "owner_id": {"S": owner_id}, sort_key: {"S": last_value}}
        return Page(items=items, cursor=self._cursors.sign(mark, scope))

    def update_details(self, current: MediaItem, changes: DetailChanges) -> MediaItem:
        item = self.items.get(current.media_id)
        if item is None or item.revision != current.revision:
            raise Conflict("stale")
        item.revision += 1
        item.updated_at = datetime.now(UTC)
        if changes.title is not None:
            item.title = changes.title
        if changes.description is not None:
            item.description = changes.description
        if changes.tags is not None:
            item.tags = tuple(sorted(set(changes.tags)))
        if changes.taken_at_override is not None:
            item.taken_at_override = changes.taken_at_override
        if changes.location_visible is not None:
            item.location_visible = changes.location_visible
        return dataclasses.replace(item)

    def set_trashed(self, media_id: str, trashed: bool) -> MediaItem:
        item = self.items.get(media_id)
        if item is None or item.trashed == trashed:
            raise Conflict("already " + ("in" if trashed else "out of") + " the trash")
        item.trashed_at = datetime.now(UTC) if trashed else None
        item.updated_at = datetime.now(UTC)
        item.revision += 1
        return dataclasses.replace(item)

    def trashed_before(self, before: datetime, limit: int) -> list[MediaItem]:
        trashed = [i for i in self.items.values() if i.trashed_at is not None and i.trashed_at < before]
        return [dataclasses.replace(i) for i in sorted(trashed, key=lambda i: (i.trashed_at, i.media_id))[:limit]]

    def pending_since(self, before: datetime, limit: int) -> list[MediaItem]:
        pending = [i for i in self.items.values() if i.status is MediaStatus.PENDING and i.updated_at < before]
        return [dataclasses.replace(i) for i in sorted(pending, key=lambda i: (i.updated_at, i.media_id))[:limit]]

    def purge_record(self, item: MediaItem) -> None:
        current = self.items.get(item.media_id)
        if current is None or not current.trashed:
            raise Conflict("no longer in the trash")
        self._delete_releasing(item)

    def abort_upload(self, item: MediaItem) -> None:
        if not self._upload_in_progress(item):
            raise Conflict("no multipart upload in progress")
        self._give_up(item)

    def expire_upload(self, item: MediaItem) -> bool:
        current = self.items.get(item.media_id)
        if (
            current is None
            or current.status is not MediaStatus.PENDING
            or current.updated_at != item.updated_at
            or current.upload_completing
        ):
            return False
        self._give_up(item)
        return True

    def _give_up(self, item: MediaItem) -> None:
        before = item.superseded
        if before is None:
            self._delete_releasing(item)
            return
        self.items[item.media_id] = dataclasses.replace(
            self.items[item.media_id],
            status=before.status,
            filename=before.filename,
            content_type=before.content_type,
            size=before.size,
            sha256=before.sha256,
            failure_reason=before.failure_reason,
            stored_bytes=item.stored_bytes - item.size,
            superseded=None,
            upload_id="",
            upload_completing=False,
            revision=self.items[item.media_id].revision + 1,
            updated_at=datetime.now(UTC),
        )
        if self.ledger is not None:
            self.ledger.release(item.owner_id, item.size)

    def _upload_in_progress(self, item: MediaItem) -> bool:
        current = self.items.get(item.media_id)
        return (
            current is not None
            and current.status is MediaStatus.PENDING
            and current.upload_id == item.upload_id
            and not current.upload_completing
        )

    def _delete_releasing(self, item: MediaItem) -> None:
        # Like the DynamoDB transaction, the release is of the bytes the caller read, not the record's.
        del self.items[item.media_id]
        if self.ledger is not None:
            self.ledger.release(item.owner_id, item.stored_bytes)

    def begin_completion(self, item: MediaItem) -> None:
        if not self._upload_in_progress(item):
            raise Conflict("no multipart upload in progress")
        self.items[item.media_id].upload_completing = True

    def undo_completion(self, item: MediaItem) -> None:
        current = self.items.get(item.media_id)
        if current is None or current.upload_id != item.upload_id:
            raise Conflict("the upload changed while it was being completed")
        current.upload_completing = False

    def find_by_checksum(self, owner_id: str, sha256: str) -> list[MediaItem]:
        if not sha256:
            return []
        return [dataclasses.replace(i) for i in self.items.values() if i.owner_id == owner_id and i.sha256 == sha256]

    def start_new_version(self, item: MediaItem, *, expected_revision: int) -> MediaItem:
        current = self.items.get(item.media_id)
        if current is None or current.revision != expected_revision:
            raise Conflict("stale")
        self.items[item.media_id] = dataclasses.replace(
            current,
            status=MediaStatus.PENDING,
            revision=expected_revision + 1,
            updated_at=datetime.now(UTC),
            filename=item.filename,
            content_type=item.content_type,
            size=item.size,
            stored_bytes=item.stored_bytes,
            failure_reason="",
            sha256=item.sha256,
            upload_id=item.upload_id,
            superseded=item.superseded,
        )
        return dataclasses.replace(self.items[item.media_id])

    def save_analysis(
        self,
        media_id: str,
        *,
        moderation: dict[str, Any] | None = None,
        flagged: bool | None = None,
        ai_description: dict[str, Any] | None = None,
    ) -> None:
        item = self.items.get(media_id)
        if item is None:
            raise NotFound("media not found")
        item.updated_at = datetime.now(UTC)
        item.moderation = dict(moderation) if moderation is not None else item.moderation
        item.flagged = flagged if flagged is not None else item.flagged
        item.ai_description = dict(ai_description) if ai_description is not None else item.ai_description

    def claim(self, media_id: str, lease_seconds: int, version_id: str = "") -> MediaItem:
        item = self.items.get(media_id)
        now = datetime.now(UTC)
        expired = item is not None and item.updated_at < now - timedelta(seconds=lease_seconds)
        if item is None or not (
            item.status is MediaStatus.PENDING or (item.status is MediaStatus.PROCESSING and expired)
        ):
            raise Conflict("not claimable")
        item.status = MediaStatus.PROCESSING
        item.updated_at = now
        item.version_id = version_id or item.version_id
        item.superseded = None
        self.transitions.append((media_id, MediaStatus.PROCESSING))
        return dataclasses.replace(item)

    def finish(
        self,
        media_id: str,
        status: MediaStatus,
        *,
        reason: str = "",
        result: ProcessingResult | None = None,
        allowed_from: tuple[MediaStatus, ...] = (MediaStatus.PROCESSING,),
    ) -> MediaItem:
        item = self.items.get(media_id)
        if item is None or item.status not in allowed_from:
            raise Conflict("state changed")
        item.status = status
        item.updated_at = datetime.now(UTC)
        item.failure_reason = reason[:500]
        item.upload_id = ""
        item.upload_completing = False
        item.superseded = None
        if result is None and status in (MediaStatus.FAILED, MediaStatus.REJECTED):
            item.renditions, item.placeholder = {}, ""
        if result is not None:
            analysis = result.analysis
            item.width, item.height = analysis.width, analysis.height
            item.metadata = {**analysis.metadata, "colors": list(analysis.colors)}
            item.placeholder = analysis.placeholder
            item.taken_at = analysis.taken_at
            item.renditions = dict(result.renditions)
            item.version_id = result.version_id or item.version_id
            item.sequencer = result.sequencer or item.sequencer
        self.transitions.append((media_id, status))
        return dataclasses.replace(item)


def _listed(item: MediaItem, owner_id: str, query: MediaQuery) -> bool:
    """Whether an item belongs on a listing (the DynamoDB adapter's key and filter conditions)."""
    search_text = "\n".join((item.filename, item.title, item.description)).lower()
    created = item.created_at
    checks = (
        item.owner_id == owner_id,
        item.trashed == query.trashed,
        not query.kind or item.kind.value == query.kind,
        not query.status or item.status.value == query.status,
        not query.tag or query.tag in item.tags,
        not query.text or query.text in search_text,
        not query.created_from or created >= datetime.fromisoformat(query.created_from),
        not query.created_to or created <= datetime.fromisoformat(query.created_to),
        not query.taken_from or item.taken_sort >= query.taken_from,
        not query.taken_to or item.taken_sort <= query.taken_to,
    )
    return all(checks)


def _sort_value(item: MediaItem, sort: SortField) -> str:
    # created_at as DynamoDB stores it (fixed-width UTC text), so both sort the same way.
    return (
        item.taken_sort
        if sort is SortField.TAKEN
        else item.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f%z")
    )


class MemoryStorage:
    """ObjectStorage in a dict."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.posts: list[tuple[str, str, int, int]] = []
        self.puts: list[tuple[str, str, int, str, int]] = []
        self.multipart: dict[str, list[UploadedPart]] = {}
        self.completed: list[str] = []
        self.deleted_versions: list[tuple[str, str]] = []

    def presign_post(self, key: str, content_type: str, max_size: int, ttl_seconds: int) -> PresignedPost:
        self.posts.append((key, content_type, max_size, ttl_seconds))
        return PresignedPost(
            url="http://s3.test/bucket",
            fields={"key": key, "Content-Type": content_type},
            expires_at="2026-01-01T00:00:00+00:00",
        )

    def presign_put(self, key: str, content_type: str, size: int, sha256: str, ttl_seconds: int) -> PresignedPut:
        self.puts.append((key, content_type, size, sha256, ttl_seconds))
        headers = {"Content-Type": content_type, **({"x-amz-checksum-sha256": sha256} if sha256 else {})}
        return PresignedPut(url=f"http://s3.test/bucket/{key}", headers=headers, expires_at="2026-01-01T00:00:00+00:00")

    def presign_get(
        self, key: str, ttl_seconds: int, filename: str | None = None, version_id: str | None = None
    ) -> str:
        return f"http://s3.test/bucket/{key}?ttl={ttl_seconds}" + (f"&versionId={version_id}" if version_id else "")

    def download(self, key: str, version_id: str, path: str, max_bytes: int) -> DownloadedObject:
        if key not in self.objects:
            raise UnreadableMedia(f"object {key} cannot be read: NoSuchKey")
        data, _ = self.objects[key]
        if len(data) > max_bytes:
            raise RejectedMedia(f"object is {len(data)} bytes, more than the {max_bytes} declared")
        with open(path, "wb") as out:
            out.write(data)
        return DownloadedObject(path, len(data), hashlib.sha256(data).hexdigest(), data[:64], version_id or "v1")

    def current_version(self, key: str) -> str:
        return ""

    def store_rendition(self, key: str, rendition: RenditionFile) -> None:
        self.objects[key] = (rendition.data, rendition.content_type)

    def write(self, key: str, data: bytes, content_type: str) -> None:
        self.objects[key] = (data, content_type)

    def start_multipart(self, key: str, content_type: str) -> str:
        self.multipart[key] = []
        return f"upload-{key}"

    def presign_part(self, key: str, upload_id: str, part_number: int, size: int, ttl_seconds: int) -> str:
        return f"http://s3.test/bucket/{key}?uploadId={upload_id}&partNumber={part_number}&size={size}"

    def list_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        return list(self.multipart.get(key, []))

    def complete_multipart(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        self.completed.append(key)

    def abort_multipart(self, key: str, upload_id: str) -> None:
        self.multipart.pop(key, None)

    def list_versions(self, key: str) -> list[ObjectVersion]:
        return []

    def copy_version_to_current(self, key: str, version_id: str) -> None:
        pass

    def delete_version(self, key: str, version_id: str) -> None:
        self.deleted_versions.append((key, version_id))

    def purge(self, exact_keys: list[str], prefixes: list[str]) -> int:
        doomed = [k for k in self.objects if k in exact_keys or any(k.startswith(p) for p in prefixes)]
        for key in doomed:
            del self.objects[key]
        return len(doomed)


class MemoryLedger:
    """QuotaLedger in a dict."""

    def __init__(self) -> None:
        self.reserved: dict[str, int] = {}

    def reserve(self, user_id: str, size: int, quota: int) -> None:
        if self.reserved.get(user_id, 0) + size > quota:
            raise QuotaExceeded(f"quota of {quota} bytes exceeded")
        self.reserved[user_id] = self.reserved.get(user_id, 0) + size

    def release(self, user_id: str, size: int) -> None:
        self.reserved[user_id] = max(0, self.reserved.get(user_id, 0) - size)


class FakeRenderer:
    """MediaRenderer that reads the fake file and returns fixed renditions; b"bad"/b"evil" payloads fail/reject."""

    def __init__(self) -> None:
        self.calls = 0

    def render(self, path: str, kind: MediaKind, workdir: str, time_limit_s: float | None = None) -> MediaAnalysis:
        self.calls += 1
        with open(path, "rb") as source:
            data = source.read()
        if b"bad" in data:
            raise UnreadableMedia("not a readable image")
        if b"evil" in data:
            raise RejectedMedia("image is above the pixel limit")
        renditions = [
            RenditionFile("preview", 1000, 500, "image/jpeg", "jpg", data=b"jpeg"),
            RenditionFile("thumbnail", 256, 128, "image/webp", "webp", data=b"webp"),
        ]
        return MediaAnalysis(
            width=1000,
            height=500,
            taken_at="2026-07-14T18:32:05+02:00",
            metadata={"format": "JPEG"},
            renditions=renditions,
        )
