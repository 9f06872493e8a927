"""Scheduled upkeep: abandoned uploads give their quota back; old trash is deleted for good."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from shared.domain.media import MediaItem
from shared.domain.ports import ObjectStorage, QuotaLedger


class MaintainedItems(Protocol):
    """The repository calls upkeep needs."""

    def pending_since(self, before: datetime, limit: int) -> list[MediaItem]:
        """Pending items last changed before a time."""

    def delete_if_pending(self, media_id: str) -> bool:
        """Delete a record only while it is still pending."""

    def trashed_before(self, before: datetime, limit: int) -> list[MediaItem]:
        """Items in the trash since before a time."""


class Janitor:
    """Expires uploads whose bytes never arrived, and empties trash older than the retention."""

    def __init__(
        self,
        items: MaintainedItems,
        storage: ObjectStorage,
        quota: QuotaLedger,
        purge_item: Callable[[MediaItem], None],
        *,
        upload_max_age: timedelta,
        trash_retention: timedelta,
        batch: int = 200,
    ) -> None:
        self._items = items
        self._storage = storage
        self._quota = quota
        self._purge_item = purge_item
        self._upload_max_age = upload_max_age
        self._trash_retention = trash_retention
        self._batch = batch

    def sweep(self, now: datetime) -> dict[str, int]:
        """One pass of both chores; how many items each removed."""
        return {"expired_uploads": self._expire_uploads(now), "purged_trash": self._empty_trash(now)}

    def _expire_uploads(self, now: datetime) -> int:
        expired = 0
        for item in self._items.pending_since(now - self._upload_max_age, self._batch):
            if self._storage.list_versions(item.object_key):
                continue  # the bytes arrived: processing owns this item, not upkeep
            if item.upload_id:
                self._storage.abort_multipart(item.object_key, item.upload_id)
            if self._items.delete_if_pending(item.media_id):
                self._quota.release(item.owner_id, item.size)
                expired += 1
        return expired

    def _empty_trash(self, now: datetime) -> int:
        doomed = self._items.trashed_before(now - self._trash_retention, self._batch)
        for item in doomed:
            self._purge_item(item)
        return len(doomed)
