"""The media item: what was uploaded, where it is in its life, and what processing made of it."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any


class MediaStatus(StrEnum):
    """Life cycle: pending -> processing -> ready | failed | rejected."""

    PENDING = "pending"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Rendition:
    """A derivative object (thumbnail, preview) stored beside the original."""

    key: str
    width: int
    height: int
    content_type: str


class MediaKind(StrEnum):
    """Photo or video: decides which processing an item gets."""

    IMAGE = "image"
    VIDEO = "video"


def kind_of(content_type: str) -> MediaKind:
    """The kind a content type declares."""
    return MediaKind.VIDEO if content_type.startswith("video/") else MediaKind.IMAGE


@dataclass(frozen=True)
class SupersededOriginal:
    """What an item was before a new version was declared: where it goes back if that upload is given up."""

    status: MediaStatus
    filename: str
    content_type: str
    size: int
    sha256: str
    failure_reason: str


@dataclass
class MediaItem:
    """One uploaded photo or video, what its owner said about it, and what processing found."""

    media_id: str
    owner_id: str
    filename: str
    content_type: str
    size: int
    object_key: str
    status: MediaStatus = MediaStatus.PENDING
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    failure_reason: str = ""
    width: int = 0
    height: int = 0
    renditions: dict[str, Rendition] = field(default_factory=dict)
    sha256: str = ""
    title: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    taken_at: str = ""
    taken_at_override: str = ""
    location_visible: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    revision: int = 0
    trashed_at: datetime | None = None
    upload_id: str = ""
    # True once a complete won the race against abort and upkeep for the multipart upload.
    upload_completing: bool = False
    # Bytes of every stored version of the original: what the owner's quota holds for this item.
    stored_bytes: int = 0
    # Set while a new version's upload is awaited: aborting or abandoning it returns the item to this.
    superseded: SupersededOriginal | None = None
    # The object version processing claimed, then made ready: the only version ever served.
    version_id: str = ""
    sequencer: str = ""
    placeholder: str = ""
    moderation: dict[str, Any] = field(default_factory=dict)
    flagged: bool = False
    # When moderation (or the owner's second-look request) put the item in the review queue; True while there.
    flagged_at: datetime | None = None
    awaiting_review: bool = False
    # A moderator's decision ({"decision", "reviewer_id", "reason", "decided_at"}) and {"second_look": True}.
    review: dict[str, Any] = field(default_factory=dict)
    ai_description: dict[str, Any] = field(default_factory=dict)
    # The owner's albums holding the item: their grants reach it (the policy reads them with the item's own).
    album_ids: frozenset[str] = frozenset()

    @property
    def kind(self) -> MediaKind:
        """Photo or video."""
        return kind_of(self.content_type)

    @property
    def effective_taken_at(self) -> str:
        """When the picture was taken: the owner's override, else what the file says."""
        return self.taken_at_override or self.taken_at

    @property
    def taken_sort(self) -> str:
        """What "sort by taken" orders by: when it was taken, or when it was uploaded if nobody knows."""
        return self.effective_taken_at or self.created_at.isoformat()

    def superseded_by_upload(self) -> SupersededOriginal:
        """The item as it is now, kept aside while a new version's bytes are awaited."""
        return SupersededOriginal(
            status=self.status,
            filename=self.filename,
            content_type=self.content_type,
            size=self.size,
            sha256=self.sha256,
            failure_reason=self.failure_reason,
        )

    @property
    def trashed(self) -> bool:
        """True while the item is in the trash."""
        return self.trashed_at is not None


ORIGINALS_PREFIX = "originals/"
RENDITIONS_PREFIX = "renditions/"
_MAX_FILENAME = 255
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


def new_media_id() -> str:
    """A fresh opaque id (hex UUID4: unguessable, URL-safe)."""
    return uuid.uuid4().hex


def original_key(owner_id: str, media_id: str) -> str:
    """The object key of an item's original: chosen by the API, never by the client."""
    return f"{ORIGINALS_PREFIX}{owner_id}/{media_id}"


def rendition_prefix(owner_id: str, media_id: str) -> str:
    """Where every derivative of an item lives, outside the prefix that triggers processing."""
    return f"{RENDITIONS_PREFIX}{owner_id}/{media_id}/"


def rendition_key(owner_id: str, media_id: str, name: str, extension: str) -> str:
    """The object key of one derivative."""
    return f"{rendition_prefix(owner_id, media_id)}{name}.{extension}"


def parse_original_key(key: str) -> tuple[str, str] | None:
    """(owner_id, media_id) of an originals key, or None for any other key."""
    if not key.startswith(ORIGINALS_PREFIX):
        return None
    parts = key[len(ORIGINALS_PREFIX) :].split("/")
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


def sanitize_filename(name: str) -> str:
    """A display filename with no path, control characters or excess length; '' if nothing is left."""
    normalized = unicodedata.normalize("NFC", name)
    base = normalized.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("", base).strip().lstrip(".")
    if len(cleaned) > _MAX_FILENAME:
        stem, dot, ext = cleaned.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            cleaned = stem[: _MAX_FILENAME - len(ext) - 1] + "." + ext
        else:
            cleaned = cleaned[:_MAX_FILENAME]
    return cleaned


def expires_at(ttl_seconds: int) -> str:
    """When something handed out now for ttl_seconds (a signed URL) expires: ISO-8601 UTC, whole seconds."""
    return (datetime.now(UTC) + timedelta(seconds=ttl_seconds)).replace(microsecond=0).isoformat()
