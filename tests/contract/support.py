"""Items and results the contract tests store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.domain.media import MediaItem, MediaStatus, Rendition, original_key
from shared.domain.ports import MediaAnalysis, ProcessingResult

EPOCH = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def an_item(media_id: str, owner: str = "alice", minutes: int = 0, **fields: Any) -> MediaItem:
    """A pending photo created `minutes` after EPOCH (distinct minutes give a definite listing order)."""
    at = EPOCH + timedelta(minutes=minutes)
    values: dict[str, Any] = {
        "filename": f"{media_id}.jpg",
        "content_type": "image/jpeg",
        "size": 1000,
        "stored_bytes": 1000,
        "object_key": original_key(owner, media_id),
        "created_at": at,
        "updated_at": at,
        **fields,
    }
    return MediaItem(media_id=media_id, owner_id=owner, **values)


def a_result(taken_at: str = "2024-05-01T10:00:00+02:00") -> ProcessingResult:
    """What processing records on a ready photo."""
    analysis = MediaAnalysis(
        width=1600,
        height=1200,
        taken_at=taken_at,
        metadata={"format": "JPEG", "camera": "Fujifilm X-T5"},
        renditions=[],
        placeholder="LEHV6nWB2yk8pyo0adR*.7kCMdnj",
        colors=("#aabbcc",),
    )
    renditions = {"thumbnail": Rendition("renditions/alice/m/thumbnail.webp", 256, 192, "image/webp")}
    return ProcessingResult(analysis, renditions, version_id="v2", sequencer="0055", taken_sort=taken_at)


READY = MediaStatus.READY
PENDING = MediaStatus.PENDING
PROCESSING = MediaStatus.PROCESSING
FAILED = MediaStatus.FAILED
