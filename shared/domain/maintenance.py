"""Scheduled upkeep: uploads that were declared but never sent give their quota back."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from shared.domain.media import MediaItem
from shared.domain.ports import ObjectStorage, QuotaLedger


class PendingItems(Protocol):
    """The repository calls upkeep needs."""

    def pending_since(self, before: datetime, limit: int) -> list[MediaItem]:
        """Pending items last changed before a time."""

    def delete_if_pending(self, media_id: str) -> bool:
        """Delete a record only while it is still pending."""


class UploadJanitor:
    """Removes pending items whose bytes never arrived within the allowed time."""

    def __init__(
        self, items: PendingItems, storage: ObjectStorage, quota: QuotaLedger, *, max_age: timedelta, batch: int = 200
    ) -> None:
        self._items = items
        self._storage = storage
        self._quota = quota
        self._max_age = max_age
        self._batch = batch

    def sweep(self, now: datetime) -> int:
        """Expire abandoned uploads; how many went."""
        expired = 0
        for item in self._items.pending_since(now - self._max_age, self._batch):
            if self._storage.list_versions(item.object_key):
                continue  # the bytes arrived: processing owns this item, not upkeep
            if item.upload_id:
                self._storage.abort_multipart(item.object_key, item.upload_id)
            if self._items.delete_if_pending(item.media_id):
                self._quota.release(item.owner_id, item.size)
                expired += 1
        return expired
