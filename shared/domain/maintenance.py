"""Scheduled upkeep: abandoned uploads give their quota back; old trash is deleted for good; then the retention
chores (shared/domain/retention.py) it is given."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from shared.domain.errors import Conflict
from shared.domain.media import MediaItem
from shared.domain.ports import ObjectStorage
from shared.domain.retention import BATCH_SECONDS, Chore


class MaintainedItems(Protocol):
    """The repository calls upkeep needs."""

    def pending_since(self, before: datetime, limit: int) -> list[MediaItem]:
        """Pending items last changed before a time."""

    def expire_upload(self, item: MediaItem) -> bool:
        """Give up an upload unchanged since item was read (a new item's record goes; a new version's item returns
        to its superseded original), releasing its bytes in the same step; False if it moved on."""

    def trashed_before(self, before: datetime, limit: int) -> list[MediaItem]:
        """Items in the trash since before a time."""


class Janitor:
    """Expires uploads whose bytes never arrived, and empties trash older than the retention."""

    def __init__(
        self,
        items: MaintainedItems,
        storage: ObjectStorage,
        purge_item: Callable[[MediaItem], None],
        *,
        upload_max_age: timedelta,
        trash_retention: timedelta | Callable[[], timedelta],
        batch: int = 200,
        chores: Sequence[Chore] = (),
    ) -> None:
        self._items = items
        self._storage = storage
        self._purge_item = purge_item
        self._upload_max_age = upload_max_age
        # A callable gives the retention in force at each sweep (an admin setting).
        self._trash_retention = trash_retention if callable(trash_retention) else lambda: trash_retention
        self._batch = batch
        self._chores = tuple(chores)

    def sweep(self, now: datetime, time_left: Callable[[], float] = lambda: float("inf")) -> dict[str, int]:
        """Both chores, batch after batch while a batch comes back full and more than a batch's worth of time
        (time_left(), in seconds) remains, then each extra chore; how many items each removed. What is left waits
        for the next run."""
        done = {"expired_uploads": 0, "purged_trash": 0}
        for name, chore in (("expired_uploads", self._expire_uploads), ("purged_trash", self._empty_trash)):
            while True:
                seen, removed = chore(now)
                done[name] += removed
                # A batch where nothing could be removed (all moved on, or failing) would come back the same.
                if seen < self._batch or removed == 0 or time_left() < BATCH_SECONDS:
                    break
        for extra in self._chores:
            if time_left() < BATCH_SECONDS:
                break  # the next run starts over; every chore is safe to repeat
            done.update(extra.run(now, time_left))
        return done

    def _expire_uploads(self, now: datetime) -> tuple[int, int]:
        expired = 0
        candidates = self._items.pending_since(now - self._upload_max_age, self._batch)
        for item in candidates:
            if self._bytes_arrived(item):
                continue  # processing owns this item, not upkeep
            # The record decides first: an owner completing or aborting at the same moment loses or wins whole.
            if not self._items.expire_upload(item):
                continue
            if item.upload_id:
                self._storage.abort_multipart(item.object_key, item.upload_id)
            expired += 1
        return len(candidates), expired

    def _bytes_arrived(self, item: MediaItem) -> bool:
        """True when the upload's object is in the bucket (for a new version: a version other than the served one)."""
        if item.superseded is not None:
            return self._storage.current_version(item.object_key) not in ("", item.version_id)
        return bool(self._storage.list_versions(item.object_key))

    def _empty_trash(self, now: datetime) -> tuple[int, int]:
        purged = 0
        candidates = self._items.trashed_before(now - self._trash_retention(), self._batch)
        for item in candidates:
            try:
                self._purge_item(item)
            except Conflict:
                continue  # the owner purged or restored it since it was listed
            purged += 1
        return len(candidates), purged
