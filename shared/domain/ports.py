"""What the domain needs from the outside world; adapters implement these protocols."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared.domain.media import MediaItem, MediaStatus, Rendition


@dataclass(frozen=True)
class PresignedPost:
    """A browser-form upload: POST `fields` plus the file to `url` before `expires_at`."""

    url: str
    fields: dict[str, str]
    expires_at: str


@dataclass(frozen=True)
class StoredObject:
    """An object's bytes and what S3 says about it."""

    data: bytes
    size: int
    content_type: str
    version_id: str


@dataclass(frozen=True)
class ImageRendition:
    """An encoded derivative ready to store."""

    data: bytes
    width: int
    height: int
    content_type: str
    extension: str


class MediaRepository(Protocol):
    """Persistence of media items."""

    def create(self, item: MediaItem) -> None:
        """Store a new item; Conflict if the id exists."""

    def get(self, media_id: str) -> MediaItem | None:
        """The item, or None."""

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
        """Move the item to `to` only if it is in one of `allowed_from`; Conflict otherwise."""


class ObjectStorage(Protocol):
    """The media bucket."""

    def presign_post(self, key: str, content_type: str, max_size: int, ttl_seconds: int) -> PresignedPost:
        """A POST form pinned to key, content type and size range."""

    def presign_get(self, key: str, ttl_seconds: int, filename: str | None = None) -> str:
        """A short-lived GET URL."""

    def read(self, key: str, max_bytes: int) -> StoredObject:
        """The object's bytes; UnreadableMedia when it is larger than max_bytes."""

    def write(self, key: str, data: bytes, content_type: str) -> None:
        """Store bytes under key."""


class Thumbnailer(Protocol):
    """Turns an image's bytes into a bounded-size rendition."""

    def thumbnail(self, data: bytes, max_px: int) -> tuple[ImageRendition, int, int]:
        """(rendition, source width, source height); UnreadableMedia for bytes it cannot decode."""
