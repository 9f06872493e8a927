"""Retention chores the janitor runs after its own: old versions of originals, ended grants, finished exports.

Each chore is idempotent and safe beside a second copy of itself: it decides from what it reads, writes under a
condition (or deletes what is already gone without complaint), and counts only what it changed itself. Each stops
between batches once the invocation has less than a batch's worth of time left; the rest waits for the next run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Protocol

from shared.domain.grants import Grant
from shared.domain.media import MediaItem, MediaStatus
from shared.domain.ports import ObjectStorage, ObjectVersion

TimeLeft = Callable[[], float]
# Time one batch may take (its records and S3 calls): no batch starts with less than this left.
BATCH_SECONDS = 60.0
# Prefix of finished export archives (the export job writes there; this chore only ever deletes under it).
EXPORTS_PREFIX = "exports/"


class Chore(Protocol):
    """One scheduled upkeep task: what it did, by counter name."""

    def run(self, now: datetime, time_left: TimeLeft) -> dict[str, int]:
        """Do one bounded pass; counts of what this pass changed."""


def _batches[T](entries: Iterable[T], size: int, time_left: TimeLeft) -> Iterator[list[T]]:
    """entries in lists of size, stopping before a batch once less than a batch's time remains."""
    batch: list[T] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) == size:
            yield batch
            batch = []
            if time_left() < BATCH_SECONDS:
                return
    if batch:
        yield batch


# --- noncurrent versions of originals -------------------------------------------------------------------------


class VersionedItems(Protocol):
    """The media records a version sweep reads and updates."""

    def with_older_versions(self) -> Iterator[MediaItem]:
        """Settled items (not pending, processing or trashed) whose stored_bytes count more than their current
        version, paged through the whole table."""

    def release_versions(self, item: MediaItem, size: int) -> bool:
        """Take size off the item's stored_bytes and its owner's quota in one step, if stored_bytes is still what
        item holds and the item is still settled; False if it moved on."""


_SETTLED = frozenset({MediaStatus.READY, MediaStatus.FAILED, MediaStatus.REJECTED})


def prunable_versions(item: MediaItem, versions: list[ObjectVersion], before: datetime) -> list[ObjectVersion]:
    """The versions of an original the retention may delete: noncurrent since before `before` (a version is
    noncurrent from the moment the next newer one was written, as S3 lifecycle counts it), never the current one
    and never the one the item serves (a new version still being judged by processing leaves the old one served)."""
    newest_first = sorted(versions, key=lambda v: v.last_modified, reverse=True)
    prunable: list[ObjectVersion] = []
    for newer, version in pairwise(newest_first):
        if version.is_current or version.version_id == item.version_id:
            continue
        if datetime.fromisoformat(newer.last_modified) < before:
            prunable.append(version)
    return prunable


class VersionRetention:
    """Deletes versions of originals that have been noncurrent longer than the retention, and gives their bytes
    back to the owner's quota. Version history (GET /media/{id}/versions) and restore see every version younger
    than that; a retention of 0 days keeps every version for ever."""

    def __init__(
        self, items: VersionedItems, storage: ObjectStorage, retention: timedelta, *, batch: int = 100
    ) -> None:
        self._items = items
        self._storage = storage
        self._retention = retention
        self._batch = batch

    def run(self, now: datetime, time_left: TimeLeft) -> dict[str, int]:
        """Prune every settled item with older versions, a batch at a time."""
        done = {"pruned_versions": 0, "pruned_version_bytes": 0}
        if self._retention <= timedelta(0):
            return done
        for batch in _batches(self._items.with_older_versions(), self._batch, time_left):
            for item in batch:
                count, size = self._prune(item, now - self._retention)
                done["pruned_versions"] += count
                done["pruned_version_bytes"] += size
        return done

    def _prune(self, item: MediaItem, before: datetime) -> tuple[int, int]:
        if item.status not in _SETTLED or item.trashed or item.superseded is not None:
            return 0, 0
        # The record was read before the listing: a version deleted meanwhile by another sweep, which released it
        # after deleting it, is either not listed here or makes the conditional release below lose.
        doomed = prunable_versions(item, self._storage.list_versions(item.object_key), before)
        deleted: list[ObjectVersion] = []
        try:
            for version in doomed:
                self._storage.delete_version(item.object_key, version.version_id)
                deleted.append(version)
        finally:
            # Bytes go back only for versions really deleted; never below what the current version holds.
            size = min(sum(v.size for v in deleted), max(item.stored_bytes - item.size, 0))
            released = bool(deleted) and size > 0 and self._items.release_versions(item, size)
        return (len(deleted), size) if released else (0, 0)


# --- ended grants --------------------------------------------------------------------------------------------


class EndedGrants(Protocol):
    """Grants that no longer give anything: expired, or links whose uses are spent."""

    def ended_before(self, before: datetime) -> Iterator[Grant]:
        """Grants expired before `before`, and used-up links, paged through the whole table."""

    def delete_if_ended(self, grant: Grant, before: datetime) -> bool:
        """Delete the grant (a link's token pointer with it) if it is still this grant and still ended; False if
        it is gone or was changed (its expiry extended) meanwhile."""


@dataclass(frozen=True)
class ShareExpiry:
    """Deletes ended grants and, as a revoke does, every reshare that hung from them (`cascade`: the sharing
    domain's removal of orphaned reshares). An expired grant stays listed in /shares/outgoing for `grace` so its
    grantor can still extend it."""

    grants: EndedGrants
    cascade: Callable[[list[Grant]], list[Grant]]
    grace: timedelta = timedelta(0)
    batch: int = 100

    def run(self, now: datetime, time_left: TimeLeft) -> dict[str, int]:
        """Delete what ended before now - grace, batch by batch."""
        done = {"expired_shares": 0, "cascaded_reshares": 0}
        before = now - self.grace
        for batch in _batches(self.grants.ended_before(before), self.batch, time_left):
            ended = [grant for grant in batch if self.grants.delete_if_ended(grant, before)]
            done["expired_shares"] += len(ended)
            if ended:
                done["cascaded_reshares"] += len(self.cascade(ended))
        return done


# --- finished exports ----------------------------------------------------------------------------------------


class ExportArchives(Protocol):
    """Export archives in the bucket, under EXPORTS_PREFIX only."""

    def written_before(self, before: datetime) -> Iterator[str]:
        """Keys under the exports prefix whose newest version (or delete marker) is older than `before`."""

    def delete(self, key: str) -> int:
        """Delete every version and delete marker of exactly this key; how many there were (0: already gone)."""


@dataclass(frozen=True)
class ExportRetention:
    """Deletes finished export archives older than the retention (every version: the bucket is versioned)."""

    archives: ExportArchives
    retention: timedelta
    batch: int = 100

    def run(self, now: datetime, time_left: TimeLeft) -> dict[str, int]:
        """Nothing to do when there are no exports."""
        done = {"deleted_exports": 0}
        for batch in _batches(self.archives.written_before(now - self.retention), self.batch, time_left):
            done["deleted_exports"] += sum(1 for key in batch if self.archives.delete(key) > 0)
        return done
