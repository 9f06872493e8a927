"""What maintenance jobs read and repair in the media and users tables.

These Scans are maintenance only, run inside an asynchronous job a page at a time: no API route reads this way.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pynamodb.expressions.update import Action

from shared.adapters.dynamo.conditions import bind, conditional_write
from shared.adapters.dynamo.media import DynamoMediaRepository
from shared.adapters.dynamo.media_model import MediaModel, to_item
from shared.adapters.dynamo.users import UserModel
from shared.domain.errors import Conflict
from shared.domain.media import MediaItem, MediaStatus


def _encode(last_key: dict[str, Any] | None) -> str:
    return json.dumps(last_key, separators=(",", ":"), sort_keys=True) if last_key else ""


def _decode(cursor: str) -> dict[str, Any] | None:
    return json.loads(cursor) if cursor else None


class DynamoMaintenanceItems(DynamoMediaRepository):
    """MaintenanceItems on the media table: the media repository's reads, plus paging through the whole table."""

    def scan(self, cursor: str, limit: int) -> tuple[list[MediaItem], str]:
        """One page of the table (consistent: a repair decides from what it reads)."""
        result = MediaModel.scan(limit=limit, last_evaluated_key=_decode(cursor), consistent_read=True)
        items = [to_item(model) for model in result]
        return items, _encode(result.last_evaluated_key)

    def reopen(self, item: MediaItem) -> bool:
        """status -> pending if the record is as item was read (status and last change)."""
        condition = (MediaModel.status == item.status.value) & (MediaModel.updated_at == item.updated_at)
        actions: list[Action] = [
            MediaModel.status.set(MediaStatus.PENDING.value),
            MediaModel.updated_at.set(datetime.now(UTC)),
        ]
        try:
            with conditional_write(Conflict("changed")):
                MediaModel(item.media_id).update(actions=actions, condition=condition)
        except Conflict:
            return False
        return True

    def return_to(self, item: MediaItem) -> None:
        """pending -> the status item had (its reprocess request was never sent)."""
        try:
            with conditional_write(Conflict("changed")):
                MediaModel(item.media_id).update(
                    actions=[MediaModel.status.set(item.status.value), MediaModel.updated_at.set(datetime.now(UTC))],
                    condition=MediaModel.status == MediaStatus.PENDING.value,
                )
        except Conflict:
            pass  # claimed meanwhile after all

    def mark_failed(self, item: MediaItem, reason: str) -> bool:
        """A ready record unchanged since read -> failed with reason, without renditions."""
        condition = (MediaModel.status == MediaStatus.READY.value) & (MediaModel.updated_at == item.updated_at)
        actions: list[Action] = [
            MediaModel.status.set(MediaStatus.FAILED.value),
            MediaModel.updated_at.set(datetime.now(UTC)),
            MediaModel.failure_reason.set(reason[:500]),
            MediaModel.renditions.remove(),
            MediaModel.placeholder.remove(),
        ]
        try:
            with conditional_write(Conflict("changed")):
                MediaModel(item.media_id).update(actions=actions, condition=condition)
        except Conflict:
            return False
        return True

    def owned_bytes(self, owner_id: str) -> int:
        """The sum of stored_bytes of every item the owner has (pending and trashed ones included)."""
        total = 0
        for model in MediaModel.owner_index.query(owner_id):
            total += int(model.stored_bytes if model.stored_bytes is not None else model.size)
        return total


class DynamoQuotaCounters:
    """QuotaCounters on the users table."""

    def __init__(self, table_name: str, region: str) -> None:
        bind(UserModel, table_name, region)

    def scan(self, cursor: str, limit: int) -> tuple[list[tuple[str, int]], str]:
        """One page of (user id, reserved bytes)."""
        result = UserModel.scan(limit=limit, last_evaluated_key=_decode(cursor), consistent_read=True)
        page = [(model.user_id, int(model.reserved_bytes or 0)) for model in result]
        return page, _encode(result.last_evaluated_key)

    def correct(self, user_id: str, observed: int, actual: int) -> bool:
        """reserved_bytes := actual, if it still holds observed."""
        held = UserModel.reserved_bytes == observed
        if observed == 0:
            held = held | UserModel.reserved_bytes.does_not_exist()
        try:
            with conditional_write(Conflict("changed")):
                UserModel(user_id).update(
                    actions=[UserModel.reserved_bytes.set(actual)], condition=UserModel.user_id.exists() & held
                )
        except Conflict:
            return False
        return True
