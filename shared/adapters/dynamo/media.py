"""The media aggregate's repository: every write is conditional on the state the domain decided from."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from shared.adapters.cursors import CursorSigner
from shared.adapters.dynamo.conditions import bind, conditional_write, transaction
from shared.adapters.dynamo.media_model import (
    PENDING_SHARDS,
    TRASH_SHARDS,
    MediaModel,
    new_record,
    owner_sha256,
    pending_shard,
    review_shard,
    search_text,
    superseded_record,
    to_item,
    trash_shard,
    versions_shard,
)
from shared.adapters.dynamo.media_queries import (
    cursor_scope,
    listing_filters,
    listing_range,
    load_current,
    oldest_across_shards,
)
from shared.adapters.dynamo.quota import floor_at_zero, release_within
from shared.adapters.dynamo.users import UserModel
from shared.domain.errors import Conflict, DomainError, NotFound
from shared.domain.media import MediaItem, MediaStatus, kind_of
from shared.domain.ports import DetailChanges, MediaQuery, Page, ProcessingResult, SortField


class DynamoMediaRepository:
    """MediaRepository on the PynamoDB media table."""

    def __init__(self, table_name: str, region: str, *, cursor_key: str = "", users_table: str = "") -> None:
        bind(MediaModel, table_name, region)
        if users_table:
            # Deleting an item gives its bytes back to the owner's counter in the same transaction.
            bind(UserModel, users_table, region)
        self._region = region
        # Only listings need it: the processor and janitor share this repository without the key.
        self._cursor_key = cursor_key

    def create(self, item: MediaItem) -> None:
        """Store a new item; Conflict if the id already exists."""
        model = new_record(item)
        with conditional_write(Conflict(f"media {item.media_id} already exists")):
            model.save(condition=MediaModel.media_id.does_not_exist())

    def get(self, media_id: str) -> MediaItem | None:
        """The item, or None."""
        try:
            return to_item(MediaModel.get(media_id, consistent_read=True))
        except MediaModel.DoesNotExist:
            return None

    def get_many(self, media_ids: list[str]) -> dict[str, MediaItem]:
        """The items that exist among media_ids (BatchGetItem, 100 keys a call)."""
        found = load_current(list(dict.fromkeys(media_ids)), lambda _item: True, lambda item: item.media_id)
        return {item.media_id: item for item in found}

    def list_owned(self, owner_id: str, query: MediaQuery, limit: int, cursor: str | None) -> Page:
        """One page of an owner's items; the cursor is DynamoDB's position after the last item returned, signed."""
        index = MediaModel.owner_taken_index if query.sort is SortField.TAKEN else MediaModel.owner_index
        scope = cursor_scope(owner_id, query)
        sort_key = "taken_sort" if query.sort is SortField.TAKEN else "created_at"
        attributes = frozenset({"media_id", "owner_id", sort_key})
        signer = self._cursor_signer()
        results = index.query(
            owner_id,
            range_key_condition=listing_range(query),
            filter_condition=listing_filters(query),
            scan_index_forward=not query.descending,
            limit=limit,
            # Filters apply after DynamoDB reads a page: read a few pages' worth per round trip when the caller's
            # filters narrow the listing; unfiltered, only the (few) trashed items are dropped, so read one page.
            page_size=min(1000, limit * 4) if query.filtered else limit,
            last_evaluated_key=signer.open(cursor, scope, attributes) if cursor else None,
        )
        items = [to_item(model) for model in results]
        position = results.last_evaluated_key
        return Page(items=items, cursor=signer.sign(dict(position), scope) if position else None)

    def _cursor_signer(self) -> CursorSigner:
        if not self._cursor_key:
            raise RuntimeError("CURSOR_SIGNING_KEY is not set: listings cannot sign their cursors")
        return CursorSigner(self._cursor_key.encode())

    def update_details(self, current: MediaItem, changes: DetailChanges) -> MediaItem:
        """Owner edits of the item as read, only if nobody changed it since (its revision is the guard)."""
        title = current.title if changes.title is None else changes.title
        description = current.description if changes.description is None else changes.description
        override = current.taken_at_override if changes.taken_at_override is None else changes.taken_at_override
        actions: list[Action] = [
            MediaModel.revision.set(MediaModel.revision + 1),
            MediaModel.updated_at.set(datetime.now(UTC)),
            MediaModel.title.set(title),
            MediaModel.description.set(description),
            MediaModel.search_text.set(search_text(current.filename, title, description)),
            MediaModel.taken_sort.set(replace(current, taken_at_override=override).taken_sort),
        ]
        if changes.tags is not None:
            actions.append(MediaModel.tags.set(set(changes.tags)) if changes.tags else MediaModel.tags.remove())
        if changes.taken_at_override is not None:
            actions.append(
                MediaModel.taken_at_override.set(override) if override else MediaModel.taken_at_override.remove()
            )
        if changes.location_visible is not None:
            actions.append(MediaModel.location_visible.set(changes.location_visible))
        model = MediaModel(current.media_id)
        with conditional_write(Conflict("the item changed since the version the edit was based on")):
            model.update(actions=actions, condition=MediaModel.revision == current.revision)
        return to_item(model)

    def set_trashed(self, media_id: str, trashed: bool) -> MediaItem:
        """Move into or out of the trash."""
        now = datetime.now(UTC)
        model = MediaModel(media_id)
        if trashed:
            actions = [MediaModel.trashed_at.set(now), MediaModel.trash_shard.set(trash_shard(media_id))]
            condition = MediaModel.media_id.exists() & MediaModel.trashed_at.does_not_exist()
        else:
            actions = [MediaModel.trashed_at.remove(), MediaModel.trash_shard.remove()]
            condition = MediaModel.trashed_at.exists()
        with conditional_write(Conflict("the item is already " + ("in" if trashed else "out of") + " the trash")):
            model.update(
                actions=[*actions, MediaModel.updated_at.set(now), MediaModel.revision.set(MediaModel.revision + 1)],
                condition=condition,
            )
        return to_item(model)

    def trashed_before(self, before: datetime, limit: int) -> list[MediaItem]:
        """Items in the trash since before a time (oldest first)."""
        ids = oldest_across_shards(
            MediaModel.trash_index, TRASH_SHARDS, MediaModel.trashed_at < before, lambda e: e.trashed_at, limit
        )
        return load_current(
            ids,
            lambda item: item.trashed_at is not None and item.trashed_at < before,
            lambda item: (item.trashed_at, item.media_id),
        )

    def pending_since(self, before: datetime, limit: int) -> list[MediaItem]:
        """Items still pending whose last change is older than before (oldest first)."""
        ids = oldest_across_shards(
            MediaModel.pending_index, PENDING_SHARDS, MediaModel.updated_at < before, lambda e: e.updated_at, limit
        )
        return load_current(
            ids,
            lambda item: item.status is MediaStatus.PENDING and item.updated_at < before,
            lambda item: (item.updated_at, item.media_id),
        )

    def purge_record(self, item: MediaItem) -> None:
        """Delete a trashed item's record and release its stored bytes; Conflict if another purge (or a
        restore) got there first."""
        still_trashed = MediaModel.media_id.exists() & MediaModel.trashed_at.exists()
        self._delete_releasing(item, still_trashed, Conflict("the item is no longer in the trash"))

    def abort_upload(self, item: MediaItem) -> None:
        """Delete the record of a multipart upload nobody completed and release its bytes; Conflict if it was
        completed, aborted or expired meanwhile."""
        self._give_up_upload(
            item, self._upload_in_progress(item), Conflict("this item has no multipart upload in progress")
        )

    def expire_upload(self, item: MediaItem) -> bool:
        """Delete a pending record unchanged since item was read and release its bytes; False if it moved on."""
        untouched = (
            (MediaModel.status == MediaStatus.PENDING.value)
            & (MediaModel.updated_at == item.updated_at)
            & MediaModel.upload_completing.does_not_exist()
        )
        try:
            self._give_up_upload(item, untouched, Conflict("the upload moved on"))
        except Conflict:
            return False
        return True

    def _give_up_upload(self, item: MediaItem, condition: Condition, refusal: DomainError) -> None:
        """A new item's record goes with all its bytes; a new version's item returns to its superseded
        original and gives back only the bytes reserved for the version that never came."""
        if item.superseded is None:
            self._delete_releasing(item, condition, refusal)
            return
        before = item.superseded
        checksum_key = owner_sha256(item.owner_id, before.sha256)
        stored = item.stored_bytes - item.size
        actions: list[Action] = [
            MediaModel.status.set(before.status.value),
            MediaModel.pending_shard.remove(),
            MediaModel.superseded.remove(),
            MediaModel.upload_id.remove(),
            MediaModel.upload_completing.remove(),
            MediaModel.revision.set(MediaModel.revision + 1),
            MediaModel.updated_at.set(datetime.now(UTC)),
            MediaModel.filename.set(before.filename),
            MediaModel.content_type.set(before.content_type),
            MediaModel.kind.set(kind_of(before.content_type).value),
            MediaModel.size.set(before.size),
            MediaModel.stored_bytes.set(stored),
            # Still in the versions index only while versions older than the one returned to remain.
            MediaModel.versions_shard.set(versions_shard(item.media_id))
            if stored > before.size
            else MediaModel.versions_shard.remove(),
            MediaModel.search_text.set(search_text(before.filename, item.title, item.description)),
            MediaModel.failure_reason.set(before.failure_reason)
            if before.failure_reason
            else MediaModel.failure_reason.remove(),
            MediaModel.sha256.set(before.sha256) if before.sha256 else MediaModel.sha256.remove(),
            MediaModel.owner_sha256.set(checksum_key) if checksum_key else MediaModel.owner_sha256.remove(),
        ]
        with conditional_write(refusal), transaction(self._region) as write:
            write.update(MediaModel(item.media_id), actions=actions, condition=condition)
            release_within(write, item.owner_id, item.size)
        floor_at_zero(item.owner_id)

    def _delete_releasing(self, item: MediaItem, condition: Condition, refusal: DomainError) -> None:
        """One transaction: the conditional delete and the release of the item's bytes, so of any number of
        concurrent deleters only the one whose condition holds gives the bytes back."""
        with conditional_write(refusal), transaction(self._region) as write:
            write.delete(MediaModel(item.media_id), condition=condition)
            release_within(write, item.owner_id, item.stored_bytes)
        floor_at_zero(item.owner_id)

    @staticmethod
    def _upload_in_progress(item: MediaItem) -> Condition:
        in_progress: Condition = (
            (MediaModel.status == MediaStatus.PENDING.value)
            & (MediaModel.upload_id == item.upload_id)
            & MediaModel.upload_completing.does_not_exist()
        )
        return in_progress

    def begin_completion(self, item: MediaItem) -> None:
        """Mark the multipart upload as being completed; Conflict if it was aborted, expired or completed."""
        with conditional_write(Conflict("this item has no multipart upload in progress")):
            MediaModel(item.media_id).update(
                actions=[MediaModel.upload_completing.set(True)], condition=self._upload_in_progress(item)
            )

    def undo_completion(self, item: MediaItem) -> None:
        """S3 refused to assemble the parts: the upload can be completed or aborted again."""
        with conditional_write(Conflict("the upload changed while it was being completed")):
            MediaModel(item.media_id).update(
                actions=[MediaModel.upload_completing.remove()], condition=MediaModel.upload_id == item.upload_id
            )

    def find_by_checksum(self, owner_id: str, sha256: str) -> list[MediaItem]:
        """The owner's items declared with this SHA-256."""
        key = owner_sha256(owner_id, sha256)
        return [to_item(m) for m in MediaModel.checksum_index.query(key, limit=20)] if key else []

    def start_new_version(self, item: MediaItem, *, expected_revision: int) -> MediaItem:
        """Back to pending for a new original, if nobody changed the item meanwhile."""
        checksum_key = owner_sha256(item.owner_id, item.sha256)
        actions: list[Action] = [
            MediaModel.status.set(MediaStatus.PENDING.value),
            MediaModel.pending_shard.set(pending_shard(item.media_id)),
            MediaModel.revision.set(MediaModel.revision + 1),
            MediaModel.updated_at.set(datetime.now(UTC)),
            MediaModel.filename.set(item.filename),
            MediaModel.content_type.set(item.content_type),
            MediaModel.kind.set(item.kind.value),
            MediaModel.size.set(item.size),
            MediaModel.stored_bytes.set(item.stored_bytes),
            # The version replaced stays stored: into the versions index, where the retention finds it.
            MediaModel.versions_shard.set(versions_shard(item.media_id))
            if item.stored_bytes > item.size
            else MediaModel.versions_shard.remove(),
            MediaModel.failure_reason.remove(),
            MediaModel.search_text.set(search_text(item.filename, item.title, item.description)),
            MediaModel.sha256.set(item.sha256) if item.sha256 else MediaModel.sha256.remove(),
            MediaModel.owner_sha256.set(checksum_key) if checksum_key else MediaModel.owner_sha256.remove(),
            MediaModel.upload_id.set(item.upload_id) if item.upload_id else MediaModel.upload_id.remove(),
            MediaModel.superseded.set(superseded_record(item.superseded))
            if item.superseded
            else MediaModel.superseded.remove(),
        ]
        model = MediaModel(item.media_id)
        with conditional_write(Conflict("the item changed while the new version was being declared")):
            model.update(actions=actions, condition=MediaModel.revision == expected_revision)
        return to_item(model)

    def save_analysis(
        self,
        media_id: str,
        *,
        moderation: dict[str, Any] | None = None,
        flagged: bool | None = None,
        ai_description: dict[str, Any] | None = None,
    ) -> None:
        """Record analysis results on an item that still exists."""
        actions: list[Action] = [MediaModel.updated_at.set(datetime.now(UTC))]
        if moderation is not None:
            actions.append(MediaModel.moderation.set(moderation))
        if flagged:
            # Into the moderation queue; a repeated flag (a redelivery) keeps its place.
            actions += [
                MediaModel.flagged.set(True),
                MediaModel.flagged_at.set(MediaModel.flagged_at | datetime.now(UTC)),
                MediaModel.review_shard.set(review_shard(media_id)),
            ]
        elif flagged is not None:
            actions += [MediaModel.flagged.set(False), MediaModel.review_shard.remove(), MediaModel.flagged_at.remove()]
        if ai_description is not None:
            actions.append(MediaModel.ai_description.set(ai_description))
        with conditional_write(NotFound("media not found")):
            MediaModel(media_id).update(actions=actions, condition=MediaModel.media_id.exists())

    def claim(self, media_id: str, lease_seconds: int, version_id: str = "") -> MediaItem:
        """pending -> processing, or a processing item whose lease has run out (its attempt died); version_id
        names the object version this attempt processes."""
        now = datetime.now(UTC)
        expired = MediaModel.updated_at < now - timedelta(seconds=lease_seconds)
        condition = MediaModel.media_id.exists() & (
            (MediaModel.status == MediaStatus.PENDING.value)
            | ((MediaModel.status == MediaStatus.PROCESSING.value) & expired)
        )
        actions: list[Action] = [
            MediaModel.status.set(MediaStatus.PROCESSING.value),
            MediaModel.updated_at.set(now),
            MediaModel.pending_shard.remove(),  # out of the janitor's pending index
            MediaModel.superseded.remove(),  # the bytes came: the upload can no longer be given up
        ]
        if version_id:
            actions.append(MediaModel.version_id.set(version_id))
        model = MediaModel(media_id)
        with conditional_write(Conflict(f"media {media_id} is not waiting for processing")):
            model.update(actions=actions, condition=condition)
        return to_item(model)

    def finish(
        self,
        media_id: str,
        status: MediaStatus,
        *,
        reason: str = "",
        result: ProcessingResult | None = None,
        allowed_from: tuple[MediaStatus, ...] = (MediaStatus.PROCESSING,),
    ) -> MediaItem:
        """End processing; the condition on the current state makes the first finisher the only one."""
        actions: list[Action] = [
            MediaModel.status.set(status.value),
            MediaModel.updated_at.set(datetime.now(UTC)),
            MediaModel.upload_id.remove(),  # a finished multipart upload has no session left
            MediaModel.upload_completing.remove(),
            MediaModel.pending_shard.remove(),  # finishing from pending (the last delivery failed) leaves it too
            MediaModel.superseded.remove(),
            MediaModel.failure_reason.set(reason[:500]) if reason else MediaModel.failure_reason.remove(),
        ]
        if result is None and status in (MediaStatus.FAILED, MediaStatus.REJECTED):
            actions += [MediaModel.renditions.remove(), MediaModel.placeholder.remove()]
        if result is not None:
            actions += _result_actions(result)
        condition = MediaModel.media_id.exists() & MediaModel.status.is_in(*(s.value for s in allowed_from))
        model = MediaModel(media_id)
        refusal = Conflict(f"media {media_id} is not in state {', '.join(s.value for s in allowed_from)}")
        with conditional_write(refusal):
            model.update(actions=actions, condition=condition)
        return to_item(model)


def _result_actions(result: ProcessingResult) -> list[Action]:
    """What a ready item records of its processing."""
    analysis = result.analysis
    actions: list[Action] = [
        MediaModel.width.set(analysis.width),
        MediaModel.height.set(analysis.height),
        MediaModel.metadata.set({**analysis.metadata, "colors": list(analysis.colors)}),
        MediaModel.placeholder.set(analysis.placeholder),
        MediaModel.taken_sort.set(result.taken_sort),
        MediaModel.renditions.set(
            {
                name: {"key": r.key, "width": r.width, "height": r.height, "content_type": r.content_type}
                for name, r in result.renditions.items()
            }
        ),
        MediaModel.taken_at.set(analysis.taken_at) if analysis.taken_at else MediaModel.taken_at.remove(),
    ]
    if result.version_id:
        actions.append(MediaModel.version_id.set(result.version_id))
    if result.sequencer:
        actions.append(MediaModel.sequencer.set(result.sequencer))
    return actions
