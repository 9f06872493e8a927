"""The media table: its PynamoDB model, its indexes, and how a record becomes a MediaItem."""

from __future__ import annotations

import zlib
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from shared.config import get_settings
from shared.domain.media import MediaItem, MediaStatus, Rendition, SupersededOriginal

# The janitor's indexes spread their writes over this many partition keys: one key takes at most 1,000 WCU/s,
# and every upload writes the pending index twice (in on create, out on claim). 32 keys carry 16,000 uploads/s
# (README, "Scale on paper"). The count may grow but never shrink: items keep the shard they were written with.
WRITE_SHARDS = 32


def _shard(media_id: str) -> int:
    return zlib.crc32(media_id.encode()) % WRITE_SHARDS


def pending_shard(media_id: str) -> str:
    """The pending index's partition of an item (stable for its whole life, so a re-pend lands in the same one)."""
    return f"p{_shard(media_id):02d}"


def trash_shard(media_id: str) -> str:
    """The trash index's partition of an item."""
    return f"t{_shard(media_id):02d}"


def review_shard(media_id: str) -> str:
    """The review index's partition of an item."""
    return f"r{_shard(media_id):02d}"


def versions_shard(media_id: str) -> str:
    """The versions index's partition of an item."""
    return f"v{_shard(media_id):02d}"


PENDING_SHARDS = tuple(f"p{n:02d}" for n in range(WRITE_SHARDS))
TRASH_SHARDS = tuple(f"t{n:02d}" for n in range(WRITE_SHARDS))
REVIEW_SHARDS = tuple(f"r{n:02d}" for n in range(WRITE_SHARDS))
VERSIONS_SHARDS = tuple(f"v{n:02d}" for n in range(WRITE_SHARDS))


class OwnerIndex(GlobalSecondaryIndex["MediaModel"]):
    """Items of one owner by creation time."""

    class Meta:
        index_name = "owner-created-index"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class OwnerTakenIndex(GlobalSecondaryIndex["MediaModel"]):
    """Items of one owner by when they were taken (creation time when unknown)."""

    class Meta:
        index_name = "owner-taken-index"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    taken_sort = UnicodeAttribute(range_key=True)


class ChecksumIndex(GlobalSecondaryIndex["MediaModel"]):
    """Items by owner and declared SHA-256 (sparse: only items declared with one), for dedup."""

    class Meta:
        index_name = "owner-sha256-index"
        projection = AllProjection()

    owner_sha256 = UnicodeAttribute(hash_key=True)


class PendingIndex(GlobalSecondaryIndex["MediaModel"]):
    """Pending items by last change, for the janitor (sparse: only pending items carry pending_shard). Keys only:
    the janitor re-reads the few it acts on, so the busiest index writes one small entry in and one out."""

    class Meta:
        index_name = "pending-index"
        projection = KeysOnlyProjection()

    pending_shard = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class TrashIndex(GlobalSecondaryIndex["MediaModel"]):
    """Trashed items by when they were trashed (sparse: only trashed items carry trash_shard). Keys only."""

    class Meta:
        index_name = "trash-index"
        projection = KeysOnlyProjection()

    trash_shard = UnicodeAttribute(hash_key=True)
    trashed_at = UTCDateTimeAttribute(range_key=True)


class ReviewIndex(GlobalSecondaryIndex["MediaModel"]):
    """Items awaiting a moderator by when they were flagged (sparse: only items in the queue carry review_shard).
    Keys only: the queue re-reads the page it shows."""

    class Meta:
        index_name = "review-index"
        projection = KeysOnlyProjection()

    review_shard = UnicodeAttribute(hash_key=True)
    flagged_at = UTCDateTimeAttribute(range_key=True)


class VersionsIndex(GlobalSecondaryIndex["MediaModel"]):
    """Items that may hold older versions of their original, for the janitor's version retention (sparse: only
    items whose stored_bytes exceed their size carry versions_shard). Keys only, sorted by media id: an item enters
    when a new version is declared and leaves when its older versions are released, so edits never rewrite it."""

    class Meta:
        index_name = "versions-index"
        projection = KeysOnlyProjection()

    versions_shard = UnicodeAttribute(hash_key=True)
    media_id = UnicodeAttribute(range_key=True)


class MediaModel(Model):
    """The media table (keys and indexes mirror infra/template.yaml; a test keeps them in step)."""

    class Meta:
        table_name = get_settings().media_table
        region = get_settings().region

    media_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()
    # Present exactly while status is pending: what puts the item in the pending index.
    pending_shard = UnicodeAttribute(null=True)
    kind = UnicodeAttribute(default="image")
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    object_key = UnicodeAttribute()
    failure_reason = UnicodeAttribute(null=True)
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    renditions = MapAttribute[str, Any](null=True)
    sha256 = UnicodeAttribute(null=True)
    owner_sha256 = UnicodeAttribute(null=True)
    title = UnicodeAttribute(default="")
    description = UnicodeAttribute(default="")
    tags = UnicodeSetAttribute(null=True)
    taken_at = UnicodeAttribute(null=True)
    taken_at_override = UnicodeAttribute(null=True)
    taken_sort = UnicodeAttribute()
    search_text = UnicodeAttribute(default="")
    location_visible = BooleanAttribute(default=False)
    metadata = JSONAttribute(null=True)
    revision = NumberAttribute(default=0)
    trashed_at = UTCDateTimeAttribute(null=True)
    # Present exactly while trashed_at is: what puts the item in the trash index.
    trash_shard = UnicodeAttribute(null=True)
    upload_id = UnicodeAttribute(null=True)
    # Set by the one complete that won: abort and upkeep are conditional on its absence.
    upload_completing = BooleanAttribute(null=True)
    # Bytes of every stored version of the original (what the owner's quota holds for this item).
    stored_bytes = NumberAttribute(null=True)
    # Present while stored_bytes may exceed size (older versions of the original are stored): what puts the item in
    # the versions index. Records from before the index lack it: POST /admin/reconcile does not add it, a one-off
    # backfill (set it where stored_bytes > size) does.
    versions_shard = UnicodeAttribute(null=True)
    # While a new version's bytes are awaited: the declared fields to return to if that upload is given up.
    superseded = JSONAttribute(null=True)
    version_id = UnicodeAttribute(null=True)
    sequencer = UnicodeAttribute(null=True)
    placeholder = UnicodeAttribute(null=True)
    moderation = JSONAttribute(null=True)
    flagged = BooleanAttribute(default=False)
    # Present exactly while the item awaits a moderator: what puts it in the review index.
    review_shard = UnicodeAttribute(null=True)
    flagged_at = UTCDateTimeAttribute(null=True)
    # The moderator's decision and the owner's second-look request (shared/domain/review.py).
    review = JSONAttribute(null=True)
    ai_description = JSONAttribute(null=True)
    # The owner's albums holding the item (shared/adapters/dynamo/albums.py writes it with each membership).
    album_ids = UnicodeSetAttribute(null=True)
    owner_index = OwnerIndex()
    owner_taken_index = OwnerTakenIndex()
    checksum_index = ChecksumIndex()
    pending_index = PendingIndex()
    trash_index = TrashIndex()
    review_index = ReviewIndex()
    versions_index = VersionsIndex()


def search_text(filename: str, title: str, description: str) -> str:
    """What free-text search looks in, lower-cased once at write time."""
    return "\n".join((filename, title, description)).lower()


def owner_sha256(owner_id: str, sha256: str) -> str | None:
    """The checksum index's key: checksums are only ever looked up within one owner's items."""
    return f"{owner_id}#{sha256}" if sha256 else None


def new_record(item: MediaItem) -> MediaModel:
    """The record of a newly declared item (no renditions yet); in the versions index when it already counts
    bytes of older versions than its current original."""
    return MediaModel(
        item.media_id,
        owner_id=item.owner_id,
        created_at=item.created_at,
        updated_at=item.updated_at,
        status=item.status.value,
        pending_shard=pending_shard(item.media_id) if item.status is MediaStatus.PENDING else None,
        kind=item.kind.value,
        filename=item.filename,
        content_type=item.content_type,
        size=item.size,
        object_key=item.object_key,
        sha256=item.sha256 or None,
        owner_sha256=owner_sha256(item.owner_id, item.sha256),
        taken_sort=item.taken_sort,
        search_text=search_text(item.filename, item.title, item.description),
        upload_id=item.upload_id or None,
        stored_bytes=item.stored_bytes or item.size,
        versions_shard=versions_shard(item.media_id) if item.stored_bytes > item.size else None,
    )


def to_item(model: MediaModel) -> MediaItem:
    """The domain's view of a record."""
    renditions = {
        name: Rendition(
            key=str(value["key"]),
            width=int(value["width"]),
            height=int(value["height"]),
            content_type=str(value["content_type"]),
        )
        for name, value in (model.renditions.as_dict() if model.renditions else {}).items()
    }
    return MediaItem(
        media_id=model.media_id,
        owner_id=model.owner_id,
        filename=model.filename,
        content_type=model.content_type,
        size=int(model.size),
        object_key=model.object_key,
        status=MediaStatus(model.status),
        created_at=model.created_at,
        updated_at=model.updated_at,
        failure_reason=model.failure_reason or "",
        width=int(model.width or 0),
        height=int(model.height or 0),
        renditions=renditions,
        sha256=model.sha256 or "",
        title=model.title or "",
        description=model.description or "",
        tags=tuple(sorted(model.tags or ())),
        taken_at=model.taken_at or "",
        taken_at_override=model.taken_at_override or "",
        location_visible=bool(model.location_visible),
        metadata=dict(model.metadata or {}),
        revision=int(model.revision or 0),
        trashed_at=model.trashed_at,
        upload_id=model.upload_id or "",
        upload_completing=bool(model.upload_completing),
        # Records written before stored_bytes existed hold exactly their one declared version.
        stored_bytes=int(model.stored_bytes if model.stored_bytes is not None else model.size),
        version_id=model.version_id or "",
        sequencer=model.sequencer or "",
        placeholder=model.placeholder or "",
        moderation=dict(model.moderation or {}),
        flagged=bool(model.flagged),
        flagged_at=model.flagged_at,
        awaiting_review=model.review_shard is not None,
        review=dict(model.review or {}),
        ai_description=dict(model.ai_description or {}),
        superseded=_superseded(model.superseded),
        album_ids=frozenset(model.album_ids or ()),
    )


def superseded_record(original: SupersededOriginal) -> dict[str, Any]:
    """How a superseded original is stored."""
    return {
        "status": original.status.value,
        "filename": original.filename,
        "content_type": original.content_type,
        "size": original.size,
        "sha256": original.sha256,
        "failure_reason": original.failure_reason,
    }


def _superseded(record: dict[str, Any] | None) -> SupersededOriginal | None:
    if not record:
        return None
    return SupersededOriginal(
        status=MediaStatus(record["status"]),
        filename=str(record["filename"]),
        content_type=str(record["content_type"]),
        size=int(record["size"]),
        sha256=str(record.get("sha256", "")),
        failure_reason=str(record.get("failure_reason", "")),
    )
