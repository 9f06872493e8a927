"""PynamoDB models and repositories; DynamoDB errors become domain errors here."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
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
from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from shared.adapters.cursors import CursorSigner
from shared.config import get_settings
from shared.domain.analysis import SystemSettings
from shared.domain.errors import Conflict, DomainError, NotFound, QuotaExceeded
from shared.domain.media import MediaItem, MediaStatus, Rendition
from shared.domain.ports import DetailChanges, MediaQuery, Page, ProcessingResult, SortField
from shared.domain.principal import Role
from shared.domain.users import User, UserStatus


class OwnerIndex(GlobalSecondaryIndex["MediaModel"]):
    """Items of one owner by creation time."""

    class Meta:
        index_name = "owner-created-index"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class ChecksumIndex(GlobalSecondaryIndex["MediaModel"]):
    """Items by owner and declared SHA-256 (sparse: only items declared with one), for dedup."""

    class Meta:
        index_name = "owner-sha256-index"
        projection = AllProjection()

    owner_sha256 = UnicodeAttribute(hash_key=True)


class StatusIndex(GlobalSecondaryIndex["MediaModel"]):
    """Items by status and last change: maintenance finds abandoned uploads without a scan."""

    class Meta:
        index_name = "status-updated-index"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class TrashIndex(GlobalSecondaryIndex["MediaModel"]):
    """Trashed items by when they were trashed (sparse: only trashed items carry trash_partition)."""

    class Meta:
        index_name = "trash-index"
        projection = AllProjection()

    trash_partition = UnicodeAttribute(hash_key=True)
    trashed_at = UTCDateTimeAttribute(range_key=True)


class OwnerTakenIndex(GlobalSecondaryIndex["MediaModel"]):
    """Items of one owner by when they were taken (creation time when unknown)."""

    class Meta:
        index_name = "owner-taken-index"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    taken_sort = UnicodeAttribute(range_key=True)


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
    trash_partition = UnicodeAttribute(null=True)
    upload_id = UnicodeAttribute(null=True)
    # Set by the one complete that won: abort and upkeep are conditional on its absence.
    upload_completing = BooleanAttribute(null=True)
    # Bytes of every stored version of the original (what the owner's quota holds for this item).
    stored_bytes = NumberAttribute(null=True)
    version_id = UnicodeAttribute(null=True)
    sequencer = UnicodeAttribute(null=True)
    placeholder = UnicodeAttribute(null=True)
    moderation = JSONAttribute(null=True)
    flagged = BooleanAttribute(default=False)
    ai_description = JSONAttribute(null=True)
    owner_index = OwnerIndex()
    owner_taken_index = OwnerTakenIndex()
    checksum_index = ChecksumIndex()
    status_index = StatusIndex()
    trash_index = TrashIndex()


_TRASH = "trashed"  # the one partition of the sparse trash index


def _bind(model: type[Model], table_name: str, region: str) -> None:
    """Point a model at a table: PynamoDB binds at class level, so rebinding drops its cached connection."""
    if (model.Meta.table_name, model.Meta.region) != (table_name, region):
        model.Meta.table_name = table_name
        model.Meta.region = region
        model._connection = None


def _search_text(filename: str, title: str, description: str) -> str:
    """What free-text search looks in, lower-cased once at write time."""
    return "\n".join((filename, title, description)).lower()


def _owner_sha256(owner_id: str, sha256: str) -> str | None:
    return f"{owner_id}#{sha256}" if sha256 else None


def _to_item(model: MediaModel) -> MediaItem:
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
        ai_description=dict(model.ai_description or {}),
    )


# Why a transaction was cancelled when another writer decided the item first (TransactionConflict: a
# concurrent transaction on the same item; a retry would meet the winner's condition anyway).
_LOST_RACE = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


def _is_condition_failure(exc: PutError | UpdateError | DeleteError | TransactWriteError) -> bool:
    if isinstance(exc, TransactWriteError):
        reasons = exc.cancellation_reasons if exc.cause_response_code == "TransactionCanceledException" else []
        return any(reason is not None and reason.code in _LOST_RACE for reason in reasons)
    return exc.cause_response_code == "ConditionalCheckFailedException"


@contextmanager
def _unless_condition_fails(refusal: DomainError) -> Iterator[None]:
    """The one translation of a lost condition (a write's, or a transaction's) into the domain's answer."""
    try:
        yield
    except (PutError, UpdateError, DeleteError, TransactWriteError) as exc:
        if _is_condition_failure(exc):
            raise refusal from exc
        raise


def _filters(query: MediaQuery) -> Condition | None:
    """The non-key conditions of a listing."""
    conditions: list[Condition] = [
        MediaModel.trashed_at.exists() if query.trashed else MediaModel.trashed_at.does_not_exist()
    ]
    if query.kind:
        conditions.append(MediaModel.kind == query.kind)
    if query.status:
        conditions.append(MediaModel.status == query.status)
    if query.tag:
        conditions.append(MediaModel.tags.contains(query.tag))
    if query.text:
        conditions.append(MediaModel.search_text.contains(query.text))
    if query.sort is SortField.TAKEN and query.created_from:
        conditions.append(MediaModel.created_at >= datetime.fromisoformat(query.created_from))
    if query.sort is SortField.TAKEN and query.created_to:
        conditions.append(MediaModel.created_at <= datetime.fromisoformat(query.created_to))
    if query.sort is SortField.CREATED and query.taken_from:
        conditions.append(MediaModel.taken_sort >= query.taken_from)
    if query.sort is SortField.CREATED and query.taken_to:
        conditions.append(MediaModel.taken_sort <= query.taken_to)
    combined = conditions[0]
    for condition in conditions[1:]:
        combined &= condition
    return combined


def _cursor_scope(owner_id: str, query: MediaQuery) -> str:
    """What a cursor is bound to: the owner and every filter, the sort and the order of its listing."""
    fields = {**asdict(query), "sort": query.sort.value}
    return json.dumps({"owner": owner_id, "query": fields}, separators=(",", ":"), sort_keys=True)


def _range_condition(query: MediaQuery) -> Condition | None:
    """The sort-key condition of a listing (the date range of the field it is sorted by)."""
    if query.sort is SortField.TAKEN:
        low, high, attribute = query.taken_from, query.taken_to, OwnerTakenIndex.taken_sort
        if low and high:
            return attribute.between(low, high)
        if low:
            return attribute >= low
        if high:
            return attribute <= high
        return None
    created = OwnerIndex.created_at
    if query.created_from and query.created_to:
        return created.between(datetime.fromisoformat(query.created_from), datetime.fromisoformat(query.created_to))
    if query.created_from:
        return created >= datetime.fromisoformat(query.created_from)
    if query.created_to:
        return created <= datetime.fromisoformat(query.created_to)
    return None


class DynamoMediaRepository:
    """MediaRepository on the PynamoDB media table."""

    def __init__(self, table_name: str, region: str, *, cursor_key: str = "", users_table: str = "") -> None:
        _bind(MediaModel, table_name, region)
        if users_table:
            # Deleting an item gives its bytes back to the owner's counter in the same transaction.
            _bind(UserModel, users_table, region)
        self._region = region
        # Only listings need it: the processor and janitor share this repository without the key.
        self._cursor_key = cursor_key

    def create(self, item: MediaItem) -> None:
        """Store a new item; Conflict if the id already exists."""
        model = MediaModel(
            item.media_id,
            owner_id=item.owner_id,
            created_at=item.created_at,
            updated_at=item.updated_at,
            status=item.status.value,
            kind=item.kind.value,
            filename=item.filename,
            content_type=item.content_type,
            size=item.size,
            object_key=item.object_key,
            sha256=item.sha256 or None,
            owner_sha256=_owner_sha256(item.owner_id, item.sha256),
            taken_sort=item.taken_sort,
            search_text=_search_text(item.filename, item.title, item.description),
            upload_id=item.upload_id or None,
            stored_bytes=item.stored_bytes or item.size,
        )
        try:
            model.save(condition=MediaModel.media_id.does_not_exist())
        except PutError as exc:
            if _is_condition_failure(exc):
                raise Conflict(f"media {item.media_id} already exists") from exc
            raise

    def get(self, media_id: str) -> MediaItem | None:
        """The item, or None."""
        try:
            return _to_item(MediaModel.get(media_id, consistent_read=True))
        except MediaModel.DoesNotExist:
            return None

    def list_owned(self, owner_id: str, query: MediaQuery, limit: int, cursor: str | None) -> Page:
        """One page of an owner's items; the cursor is DynamoDB's position after the last item returned, signed."""
        index = MediaModel.owner_taken_index if query.sort is SortField.TAKEN else MediaModel.owner_index
        scope = _cursor_scope(owner_id, query)
        sort_key = "taken_sort" if query.sort is SortField.TAKEN else "created_at"
        attributes = frozenset({"media_id", "owner_id", sort_key})
        signer = self._cursor_signer()
        results = index.query(
            owner_id,
            range_key_condition=_range_condition(query),
            filter_condition=_filters(query),
            scan_index_forward=not query.descending,
            limit=limit,
            # Filters apply after DynamoDB reads a page: read a few pages' worth per round trip.
            page_size=min(1000, limit * 4),
            last_evaluated_key=signer.open(cursor, scope, attributes) if cursor else None,
        )
        items = [_to_item(model) for model in results]
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
            MediaModel.search_text.set(_search_text(current.filename, title, description)),
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
        try:
            model.update(actions=actions, condition=MediaModel.revision == current.revision)
        except UpdateError as exc:
            if _is_condition_failure(exc):
                raise Conflict("the item changed since the version the edit was based on") from exc
            raise
        return _to_item(model)

    def set_trashed(self, media_id: str, trashed: bool) -> MediaItem:
        """Move into or out of the trash."""
        now = datetime.now(UTC)
        model = MediaModel(media_id)
        if trashed:
            actions = [MediaModel.trashed_at.set(now), MediaModel.trash_partition.set(_TRASH)]
            condition = MediaModel.media_id.exists() & MediaModel.trashed_at.does_not_exist()
        else:
            actions = [MediaModel.trashed_at.remove(), MediaModel.trash_partition.remove()]
            condition = MediaModel.trashed_at.exists()
        try:
            model.update(
                actions=[*actions, MediaModel.updated_at.set(now), MediaModel.revision.set(MediaModel.revision + 1)],
                condition=condition,
            )
        except UpdateError as exc:
            if _is_condition_failure(exc):
                raise Conflict("the item is already " + ("in" if trashed else "out of") + " the trash") from exc
            raise
        return _to_item(model)

    def trashed_before(self, before: datetime, limit: int) -> list[MediaItem]:
        """Items in the trash since before a time (oldest first)."""
        query = MediaModel.trash_index.query(_TRASH, range_key_condition=MediaModel.trashed_at < before, limit=limit)
        return [_to_item(m) for m in query]

    def pending_since(self, before: datetime, limit: int) -> list[MediaItem]:
        """Items still pending whose last change is older than before (oldest first)."""
        query = MediaModel.status_index.query(
            MediaStatus.PENDING.value, range_key_condition=MediaModel.updated_at < before, limit=limit
        )
        return [_to_item(m) for m in query]

    def purge_record(self, item: MediaItem) -> None:
        """Delete a trashed item's record and release its stored bytes; Conflict if another purge (or a
        restore) got there first."""
        still_trashed = MediaModel.media_id.exists() & MediaModel.trashed_at.exists()
        self._delete_releasing(item, still_trashed, Conflict("the item is no longer in the trash"))

    def abort_upload(self, item: MediaItem) -> None:
        """Delete the record of a multipart upload nobody completed and release its bytes; Conflict if it was
        completed, aborted or expired meanwhile."""
        unfinished = (
            (MediaModel.status == MediaStatus.PENDING.value)
            & (MediaModel.upload_id == item.upload_id)
            & MediaModel.upload_completing.does_not_exist()
        )
        self._delete_releasing(item, unfinished, Conflict("this item has no multipart upload in progress"))

    def expire_upload(self, item: MediaItem) -> bool:
        """Delete a pending record unchanged since item was read and release its bytes; False if it moved on."""
        untouched = (
            (MediaModel.status == MediaStatus.PENDING.value)
            & (MediaModel.updated_at == item.updated_at)
            & MediaModel.upload_completing.does_not_exist()
        )
        try:
            self._delete_releasing(item, untouched, Conflict("the upload moved on"))
        except Conflict:
            return False
        return True

    def _delete_releasing(self, item: MediaItem, condition: Condition, refusal: DomainError) -> None:
        """One transaction: the conditional delete and the release of the item's bytes, so of any number of
        concurrent deleters only the one whose condition holds gives the bytes back."""
        with _unless_condition_fails(refusal), TransactWrite(connection=Connection(region=self._region)) as write:
            write.delete(MediaModel(item.media_id), condition=condition)
            write.update(
                UserModel(item.owner_id),
                actions=[UserModel.reserved_bytes.add(-item.stored_bytes)],
                condition=UserModel.user_id.exists(),
            )

    def begin_completion(self, item: MediaItem) -> None:
        """Mark the multipart upload as being completed; Conflict if it was aborted, expired or completed."""
        in_progress = (
            (MediaModel.status == MediaStatus.PENDING.value)
            & (MediaModel.upload_id == item.upload_id)
            & MediaModel.upload_completing.does_not_exist()
        )
        with _unless_condition_fails(Conflict("this item has no multipart upload in progress")):
            MediaModel(item.media_id).update(actions=[MediaModel.upload_completing.set(True)], condition=in_progress)

    def undo_completion(self, item: MediaItem) -> None:
        """S3 refused to assemble the parts: the upload can be completed or aborted again."""
        with _unless_condition_fails(Conflict("the upload changed while it was being completed")):
            MediaModel(item.media_id).update(
                actions=[MediaModel.upload_completing.remove()], condition=MediaModel.upload_id == item.upload_id
            )

    def find_by_checksum(self, owner_id: str, sha256: str) -> list[MediaItem]:
        """The owner's items declared with this SHA-256."""
        owner_sha = _owner_sha256(owner_id, sha256)
        return [_to_item(m) for m in MediaModel.checksum_index.query(owner_sha, limit=20)] if owner_sha else []

    def start_new_version(self, item: MediaItem, *, expected_revision: int) -> MediaItem:
        """Back to pending for a new original, if nobody changed the item meanwhile."""
        actions: list[Action] = [
            MediaModel.status.set(MediaStatus.PENDING.value),
            MediaModel.revision.set(MediaModel.revision + 1),
            MediaModel.updated_at.set(datetime.now(UTC)),
            MediaModel.filename.set(item.filename),
            MediaModel.content_type.set(item.content_type),
            MediaModel.kind.set(item.kind.value),
            MediaModel.size.set(item.size),
            MediaModel.stored_bytes.set(item.stored_bytes),
            MediaModel.failure_reason.remove(),
            MediaModel.search_text.set(_search_text(item.filename, item.title, item.description)),
        ]
        actions.append(MediaModel.sha256.set(item.sha256) if item.sha256 else MediaModel.sha256.remove())
        owner_sha = _owner_sha256(item.owner_id, item.sha256)
        actions.append(MediaModel.owner_sha256.set(owner_sha) if owner_sha else MediaModel.owner_sha256.remove())
        actions.append(MediaModel.upload_id.set(item.upload_id) if item.upload_id else MediaModel.upload_id.remove())
        model = MediaModel(item.media_id)
        try:
            model.update(actions=actions, condition=MediaModel.revision == expected_revision)
        except UpdateError as exc:
            if _is_condition_failure(exc):
                raise Conflict("the item changed while the new version was being declared") from exc
            raise
        return _to_item(model)

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
        if flagged is not None:
            actions.append(MediaModel.flagged.set(flagged))
        if ai_description is not None:
            actions.append(MediaModel.ai_description.set(ai_description))
        try:
            MediaModel(media_id).update(actions=actions, condition=MediaModel.media_id.exists())
        except UpdateError as exc:
            if _is_condition_failure(exc):
                raise NotFound("media not found") from exc
            raise

    def claim(self, media_id: str, lease_seconds: int, version_id: str = "") -> MediaItem:
        """pending -> processing, or a processing item whose lease has run out (its attempt died); version_id
        names the object version this attempt processes."""
        now = datetime.now(UTC)
        expired = MediaModel.updated_at < now - timedelta(seconds=lease_seconds)
        condition = MediaModel.media_id.exists() & (
            (MediaModel.status == MediaStatus.PENDING.value)
            | ((MediaModel.status == MediaStatus.PROCESSING.value) & expired)
        )
        actions: list[Action] = [MediaModel.status.set(MediaStatus.PROCESSING.value), MediaModel.updated_at.set(now)]
        if version_id:
            actions.append(MediaModel.version_id.set(version_id))
        model = MediaModel(media_id)
        with _unless_condition_fails(Conflict(f"media {media_id} is not waiting for processing")):
            model.update(actions=actions, condition=condition)
        return _to_item(model)

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
        now = datetime.now(UTC)
        actions: list[Action] = [
            MediaModel.status.set(status.value),
            MediaModel.updated_at.set(now),
            MediaModel.upload_id.remove(),  # a finished multipart upload has no session left
            MediaModel.upload_completing.remove(),
        ]
        if reason:
            actions.append(MediaModel.failure_reason.set(reason[:500]))
        else:
            actions.append(MediaModel.failure_reason.remove())
        if result is None and status in (MediaStatus.FAILED, MediaStatus.REJECTED):
            actions += [MediaModel.renditions.remove(), MediaModel.placeholder.remove()]
        if result is not None:
            analysis = result.analysis
            actions += [
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
            ]
            actions.append(
                MediaModel.taken_at.set(analysis.taken_at) if analysis.taken_at else MediaModel.taken_at.remove()
            )
            if result.version_id:
                actions.append(MediaModel.version_id.set(result.version_id))
            if result.sequencer:
                actions.append(MediaModel.sequencer.set(result.sequencer))
        condition = MediaModel.media_id.exists() & MediaModel.status.is_in(*(s.value for s in allowed_from))
        model = MediaModel(media_id)
        try:
            model.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if _is_condition_failure(exc):
                raise Conflict(f"media {media_id} is not in state {', '.join(s.value for s in allowed_from)}") from exc
            raise
        return _to_item(model)


class UserModel(Model):
    """The users table (keys mirror infra/template.yaml; a test keeps them in step)."""

    class Meta:
        table_name = get_settings().users_table
        region = get_settings().region

    user_id = UnicodeAttribute(hash_key=True)
    username = UnicodeAttribute()
    email = UnicodeAttribute(default="")
    role = UnicodeAttribute()
    partner_org = UnicodeAttribute(default="")
    status = UnicodeAttribute()
    quota_bytes = NumberAttribute()
    reserved_bytes = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    last_seen_at = UTCDateTimeAttribute()


def _to_user(model: UserModel) -> User:
    return User(
        user_id=model.user_id,
        username=model.username,
        email=model.email or "",
        role=Role(model.role),
        partner_org=model.partner_org or "",
        status=UserStatus(model.status),
        quota_bytes=int(model.quota_bytes),
        created_at=model.created_at,
        last_seen_at=model.last_seen_at,
    )


class DynamoUserRepository:
    """UserRepository on the PynamoDB users table."""

    def __init__(self, table_name: str, region: str) -> None:
        _bind(UserModel, table_name, region)

    def get(self, user_id: str) -> User | None:
        """The account, or None."""
        try:
            return _to_user(UserModel.get(user_id, consistent_read=True))
        except UserModel.DoesNotExist:
            return None

    def create(self, user: User) -> User:
        """Store a new account unless a concurrent request already did; return the stored one."""
        model = UserModel(
            user.user_id,
            username=user.username,
            email=user.email,
            role=user.role.value,
            partner_org=user.partner_org,
            status=user.status.value,
            quota_bytes=user.quota_bytes,
            created_at=user.created_at,
            last_seen_at=user.last_seen_at,
        )
        try:
            model.save(condition=UserModel.user_id.does_not_exist())
        except PutError as exc:
            if not _is_condition_failure(exc):
                raise
            existing = self.get(user.user_id)
            if existing is None:
                raise
            return existing
        return user

    def save_profile(self, user: User) -> None:
        """Refresh the realm-owned fields and last-seen; status and quota stay as they are."""
        UserModel(user.user_id).update(
            actions=[
                UserModel.username.set(user.username),
                UserModel.email.set(user.email),
                UserModel.role.set(user.role.value),
                UserModel.partner_org.set(user.partner_org),
                UserModel.last_seen_at.set(user.last_seen_at),
            ],
            condition=UserModel.user_id.exists(),
        )

    def set_status(self, user_id: str, status: UserStatus) -> User:
        """Change the status of an existing account."""
        model = UserModel(user_id)
        try:
            model.update(actions=[UserModel.status.set(status.value)], condition=UserModel.user_id.exists())
        except UpdateError as exc:
            if _is_condition_failure(exc):
                raise NotFound("user not found") from exc
            raise
        return _to_user(model)


class DynamoQuotaLedger:
    """QuotaLedger on the users table: one atomic counter per owner, checked in the same write."""

    def __init__(self, table_name: str, region: str) -> None:
        _bind(UserModel, table_name, region)

    def reserve(self, user_id: str, size: int, quota: int) -> None:
        """Add size unless the owner's reservation would pass quota (a conditional ADD: no race)."""
        room = quota - size
        if room < 0:
            raise QuotaExceeded(f"{size} bytes is more than the whole quota of {quota} bytes")
        try:
            UserModel(user_id).update(
                actions=[UserModel.reserved_bytes.add(size)],
                condition=UserModel.user_id.exists()
                & (UserModel.reserved_bytes.does_not_exist() | (UserModel.reserved_bytes <= room)),
            )
        except UpdateError as exc:
            if _is_condition_failure(exc):
                try:
                    used = int(UserModel.get(user_id).reserved_bytes or 0)
                except UserModel.DoesNotExist:
                    used = 0
                raise QuotaExceeded(
                    f"storage quota exceeded: {used} of {quota} bytes in use, {size} more requested"
                ) from exc
            raise

    def release(self, user_id: str, size: int) -> None:
        """Give size back (never below zero)."""
        try:
            UserModel(user_id).update(
                actions=[UserModel.reserved_bytes.add(-size)],
                condition=UserModel.user_id.exists() & (UserModel.reserved_bytes >= size),
            )
        except UpdateError as exc:
            if not _is_condition_failure(exc):
                raise
            # Out of step (e.g. items older than the ledger): clamp at zero rather than go negative.
            UserModel(user_id).update(actions=[UserModel.reserved_bytes.set(0)], condition=UserModel.user_id.exists())


class SettingsModel(Model):
    """The settings table: one item per settings document."""

    class Meta:
        table_name = get_settings().settings_table
        region = get_settings().region

    name = UnicodeAttribute(hash_key=True)
    values = JSONAttribute()


class DynamoSettingsStore:
    """SettingsStore on the settings table, cached per container for a short while."""

    NAME = "system"

    def __init__(self, table_name: str, region: str, cache_seconds: float = 30.0) -> None:
        _bind(SettingsModel, table_name, region)
        self._cache_seconds = cache_seconds
        self._cached: tuple[float, SystemSettings] | None = None

    def load(self) -> SystemSettings:
        """The saved settings, or the defaults."""
        now = time.monotonic()
        if self._cached and now - self._cached[0] < self._cache_seconds:
            return self._cached[1]
        try:
            values = SettingsModel.get(self.NAME, consistent_read=True).values or {}
            settings = SystemSettings(
                moderation_threshold=float(values.get("moderation_threshold", SystemSettings.moderation_threshold)),
                auto_describe=bool(values.get("auto_describe", SystemSettings.auto_describe)),
            )
        except SettingsModel.DoesNotExist:
            settings = SystemSettings()
        self._cached = (now, settings)
        return settings

    def save(self, settings: SystemSettings) -> None:
        """Replace the settings (and this container's cache)."""
        SettingsModel(self.NAME, values=asdict(settings)).save()
        self._cached = (time.monotonic(), settings)
