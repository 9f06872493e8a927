"""In-memory implementations of the domain's ports, for unit tests."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime

from shared.domain.errors import Conflict, QuotaExceeded, RejectedMedia, UnreadableMedia
from shared.domain.media import MediaItem, MediaKind, MediaStatus
from shared.domain.ports import (
    DetailChanges,
    DownloadedObject,
    MediaAnalysis,
    MediaQuery,
    ObjectVersion,
    Page,
    PresignedPost,
    ProcessingResult,
    RenditionFile,
    UploadedPart,
)


class MemoryRepository:
    """MediaRepository in a dict, with the same conditional semantics as DynamoDB's."""

    def __init__(self, ledger: MemoryLedger | None = None) -> None:
        self.items: dict[str, MediaItem] = {}
        self.transitions: list[tuple[str, MediaStatus]] = []
        # The owner's counter that deleting a record gives bytes back to (DynamoDB: the same transaction).
        self.ledger = ledger

    def create(self, item: MediaItem) -> None:
        if item.media_id in self.items:
            raise Conflict("exists")
        self.items[item.media_id] = dataclasses.replace(item)

    def get(self, media_id: str) -> MediaItem | None:
        item = self.items.get(media_id)
        return dataclasses.replace(item) if item else None

    def list_owned(self, owner_id: str, query: MediaQuery, limit: int, cursor: str | None) -> Page:
        items = [i for i in self.items.values() if i.owner_id == owner_id and i.trashed == query.trashed]
        return Page(items=items[:limit], cursor=None)

    def update_details(self, current: MediaItem, changes: DetailChanges) -> MediaItem:
        item = self.items[current.media_id]
        if item.revision != current.revision:
            raise Conflict("stale")
        item.revision += 1
        item.title = changes.title if changes.title is not None else item.title
        return dataclasses.replace(item)

    def set_trashed(self, media_id: str, trashed: bool) -> MediaItem:
        item = self.items[media_id]
        item.trashed_at = datetime.now(UTC) if trashed else None
        return dataclasses.replace(item)

    def purge_record(self, item: MediaItem) -> None:
        current = self.items.get(item.media_id)
        if current is None or not current.trashed:
            raise Conflict("no longer in the trash")
        self._delete_releasing(current)

    def abort_upload(self, item: MediaItem) -> None:
        current = self.items.get(item.media_id)
        if current is None or current.upload_id != item.upload_id or current.upload_completing:
            raise Conflict("no multipart upload in progress")
        self._delete_releasing(current)

    def expire_upload(self, item: MediaItem) -> bool:
        current = self.items.get(item.media_id)
        if current is None or current.status is not MediaStatus.PENDING or current.upload_completing:
            return False
        self._delete_releasing(current)
        return True

    def _delete_releasing(self, item: MediaItem) -> None:
        del self.items[item.media_id]
        if self.ledger is not None:
            self.ledger.release(item.owner_id, item.stored_bytes)

    def begin_completion(self, item: MediaItem) -> None:
        current = self.items.get(item.media_id)
        if current is None or current.upload_id != item.upload_id or current.upload_completing:
            raise Conflict("no multipart upload in progress")
        current.upload_completing = True

    def undo_completion(self, item: MediaItem) -> None:
        self.items[item.media_id].upload_completing = False

    def find_by_checksum(self, owner_id: str, sha256: str) -> list[MediaItem]:
        return [i for i in self.items.values() if i.owner_id == owner_id and i.sha256 == sha256]

    def start_new_version(self, item: MediaItem, *, expected_revision: int) -> MediaItem:
        if self.items[item.media_id].revision != expected_revision:
            raise Conflict("stale")
        self.items[item.media_id] = dataclasses.replace(
            item, status=MediaStatus.PENDING, revision=expected_revision + 1
        )
        return dataclasses.replace(self.items[item.media_id])

    def claim(self, media_id: str, lease_seconds: int, version_id: str = "") -> MediaItem:
        item = self.items.get(media_id)
        stale = item is not None and (datetime.now(UTC) - item.updated_at).total_seconds() >= lease_seconds
        if item is None or not (
            item.status is MediaStatus.PENDING or (item.status is MediaStatus.PROCESSING and stale)
        ):
            raise Conflict("not claimable")
        item.status = MediaStatus.PROCESSING
        item.updated_at = datetime.now(UTC)
        item.version_id = version_id or item.version_id
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
        item.failure_reason = reason
        if result is None and status in (MediaStatus.FAILED, MediaStatus.REJECTED):
            item.renditions = {}
        item.updated_at = datetime.now(UTC)
        if result is not None:
            item.width, item.height = result.analysis.width, result.analysis.height
            item.renditions = dict(result.renditions)
            item.metadata = dict(result.analysis.metadata)
            item.sequencer = result.sequencer
            item.version_id = result.version_id
        self.transitions.append((media_id, status))
        return dataclasses.replace(item)


class MemoryStorage:
    """ObjectStorage in a dict."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.posts: list[tuple[str, str, int, int]] = []
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
