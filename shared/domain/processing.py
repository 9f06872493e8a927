"""Processing an uploaded original: pending -> processing -> ready | failed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from shared.domain.errors import Conflict, UnreadableMedia
from shared.domain.media import MediaStatus, Rendition, parse_original_key, rendition_key
from shared.domain.ports import MediaRepository, ObjectStorage, Thumbnailer


class Outcome(StrEnum):
    """What processing one object did."""

    READY = "ready"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class ObjectCreated:
    """The part of an S3 object-created notification processing needs."""

    bucket: str
    key: str
    size: int


class MediaProcessor:
    """Turns a freshly uploaded original into a ready item with renditions."""

    def __init__(
        self,
        repository: MediaRepository,
        storage: ObjectStorage,
        thumbnailer: Thumbnailer,
        *,
        thumbnail_px: int,
        max_bytes: int,
    ) -> None:
        self._repository = repository
        self._storage = storage
        self._thumbnailer = thumbnailer
        self._thumbnail_px = thumbnail_px
        self._max_bytes = max_bytes

    def process(self, event: ObjectCreated) -> Outcome:
        """Process one object; unreadable media ends `failed` with a reason, never an exception."""
        parsed = parse_original_key(event.key)
        if parsed is None:
            return Outcome.SKIPPED
        owner_id, media_id = parsed
        item = self._repository.get(media_id)
        if item is None or item.owner_id != owner_id:
            return Outcome.SKIPPED
        try:
            self._repository.transition(media_id, (MediaStatus.PENDING,), MediaStatus.PROCESSING)
        except Conflict:
            # Another delivery of the same event already claimed or finished this item.
            return Outcome.SKIPPED
        try:
            if event.size > item.size:
                raise UnreadableMedia(f"object is {event.size} bytes but {item.size} were declared")
            stored = self._storage.read(event.key, max_bytes=min(self._max_bytes, item.size))
            if item.sha256 and hashlib.sha256(stored.data).hexdigest() != item.sha256:
                raise UnreadableMedia("checksum mismatch: the bytes are not the file that was declared")
            rendition, width, height = self._thumbnailer.thumbnail(stored.data, self._thumbnail_px)
        except UnreadableMedia as exc:
            self._repository.transition(
                media_id, (MediaStatus.PROCESSING,), MediaStatus.FAILED, failure_reason=exc.message
            )
            return Outcome.FAILED
        key = rendition_key(owner_id, media_id, "thumbnail", rendition.extension)
        self._storage.write(key, rendition.data, rendition.content_type)
        self._repository.transition(
            media_id,
            (MediaStatus.PROCESSING,),
            MediaStatus.READY,
            width=width,
            height=height,
            renditions={
                "thumbnail": Rendition(
                    key=key, width=rendition.width, height=rendition.height, content_type=rendition.content_type
                )
            },
        )
        return Outcome.READY
