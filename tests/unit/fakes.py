"""In-memory implementations of the domain's ports, for unit tests."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from shared.domain.errors import Conflict, UnreadableMedia
from shared.domain.media import MediaItem, MediaStatus, Rendition
from shared.domain.ports import ImageRendition, PresignedPost, StoredObject


class MemoryRepository:
    """MediaRepository in a dict, with the same conditional semantics as DynamoDB's."""

    def __init__(self) -> None:
        self.items: dict[str, MediaItem] = {}
        self.transitions: list[tuple[str, MediaStatus]] = []

    def create(self, item: MediaItem) -> None:
        if item.media_id in self.items:
            raise Conflict("exists")
        self.items[item.media_id] = dataclasses.replace(item)

    def get(self, media_id: str) -> MediaItem | None:
        item = self.items.get(media_id)
        return dataclasses.replace(item) if item else None

    def transition(
        self,
        media_id: str,
        allowed_from: tuple[MediaStatus, ...],
        to: MediaStatus,
        *,
        failure_reason: str = "",
        width: int | None = None,
        height: int | None = None,
        renditions: dict[str, Rendition] | None = None,
    ) -> MediaItem:
        item = self.items.get(media_id)
        if item is None or item.status not in allowed_from:
            raise Conflict("state changed")
        item.status = to
        item.updated_at = datetime.now(UTC)
        if failure_reason:
            item.failure_reason = failure_reason
        if width is not None:
            item.width = width
        if height is not None:
            item.height = height
        if renditions is not None:
            item.renditions = dict(renditions)
        self.transitions.append((media_id, to))
        return dataclasses.replace(item)


class MemoryStorage:
    """ObjectStorage in a dict."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.posts: list[tuple[str, str, int, int]] = []

    def presign_post(self, key: str, content_type: str, max_size: int, ttl_seconds: int) -> PresignedPost:
        self.posts.append((key, content_type, max_size, ttl_seconds))
        return PresignedPost(
            url="http://s3.test/bucket",
            fields={"key": key, "Content-Type": content_type},
            expires_at="2026-01-01T00:00:00+00:00",
        )

    def presign_get(self, key: str, ttl_seconds: int, filename: str | None = None) -> str:
        return f"http://s3.test/bucket/{key}?ttl={ttl_seconds}"

    def read(self, key: str, max_bytes: int) -> StoredObject:
        if key not in self.objects:
            raise UnreadableMedia(f"object {key} cannot be read: NoSuchKey")
        data, content_type = self.objects[key]
        if len(data) > max_bytes:
            raise UnreadableMedia("too large")
        return StoredObject(data=data, size=len(data), content_type=content_type, version_id="v1")

    def write(self, key: str, data: bytes, content_type: str) -> None:
        self.objects[key] = (data, content_type)


class FixedThumbnailer:
    """Thumbnailer that returns a fixed rendition, or fails for bytes starting with b'bad'."""

    def __init__(self) -> None:
        self.calls = 0

    def thumbnail(self, data: bytes, max_px: int) -> tuple[ImageRendition, int, int]:
        self.calls += 1
        if data.startswith(b"bad"):
            raise UnreadableMedia("not a readable image")
        return (
            ImageRendition(data=b"webp", width=max_px, height=max_px // 2, content_type="image/webp", extension="webp"),
            1000,
            500,
        )
