"""Reconcile the bucket, the media table and the quota counters: report what disagrees, and repair it if asked.

Four passes, each paged so a job step can stop between pages: objects under originals/, objects under
renditions/ (an object no item owns is an orphan), items (a ready item whose original is gone, a ready item
missing a rendition) and users (a quota counter that is not the sum of the owner's stored bytes). Every repair
makes its finding go away, so a second run finds nothing: orphans are deleted, items without their original are
marked failed, items missing a rendition are processed again, counters are set to the sum.
"""

from __future__ import annotations

from typing import Protocol

from shared.domain.jobs import (
    PAGE_SECONDS,
    Job,
    MaintenanceItems,
    Reprocessing,
    TimeLeft,
    decode_cursor,
    encode_cursor,
)
from shared.domain.media import (
    ORIGINALS_PREFIX,
    RENDITIONS_PREFIX,
    MediaItem,
    MediaStatus,
    parse_original_key,
    rendition_prefix,
)

PHASES = ("originals", "renditions", "items", "quotas")
MISSING_ORIGINAL = "the original object is missing from the bucket (found by reconcile)"


class BucketInventory(Protocol):
    """The bucket as reconcile sees it."""

    def list_keys(self, prefix: str, token: str) -> tuple[list[str], str]:
        """One page of keys under prefix and the token of the next ("" at the end)."""

    def exists(self, key: str) -> bool:
        """True when the key has a current object."""

    def keys_under(self, prefix: str) -> set[str]:
        """Every current key under prefix."""

    def delete_everything(self, exact_keys: list[str], prefixes: list[str]) -> None:
        """Delete every version of the keys and of everything under the prefixes."""


class QuotaCounters(Protocol):
    """The owners' reserved-bytes counters."""

    def scan(self, cursor: str, limit: int) -> tuple[list[tuple[str, int]], str]:
        """One page of (user id, reserved bytes) and the cursor after it ("" at the end)."""

    def correct(self, user_id: str, observed: int, actual: int) -> bool:
        """Set the counter to actual if it still holds observed; False if it changed meanwhile."""


def _owner_and_media(key: str) -> tuple[str, str] | None:
    parsed = parse_original_key(key)
    if parsed is not None:
        return parsed
    if key.startswith(RENDITIONS_PREFIX):
        parts = key[len(RENDITIONS_PREFIX) :].split("/")
        if len(parts) == 3 and all(parts):
            return parts[0], parts[1]
    return None


class Reconciler:
    """The reconcile job's steps."""

    def __init__(
        self,
        bucket: BucketInventory,
        items: MaintenanceItems,
        counters: QuotaCounters,
        reprocessing: Reprocessing,
    ) -> None:
        self._bucket = bucket
        self._items = items
        self._counters = counters
        self._reprocessing = reprocessing

    def __call__(self, job: Job, time_left: TimeLeft) -> bool:
        """Advance job page by page while time lasts; True once every pass is done."""
        fix = bool(job.params.get("fix"))
        position = decode_cursor(job.cursor) or {"phase": PHASES[0], "token": ""}
        while time_left() > PAGE_SECONDS:
            phase, token = position["phase"], position["token"]
            if phase == "originals":
                token = self._objects(job, ORIGINALS_PREFIX, token, fix)
            elif phase == "renditions":
                token = self._objects(job, RENDITIONS_PREFIX, token, fix)
            elif phase == "items":
                token = self._item_page(job, token, fix)
            else:
                token = self._quota_page(job, token, fix)
            if token:
                position = {"phase": phase, "token": token}
            elif phase == PHASES[-1]:
                job.cursor = ""
                return True
            else:
                position = {"phase": PHASES[PHASES.index(phase) + 1], "token": ""}
            job.cursor = encode_cursor(position)
        return False

    def _objects(self, job: Job, prefix: str, token: str, fix: bool) -> str:
        keys, token = self._bucket.list_keys(prefix, token)
        job.count("objects_checked", len(keys))
        owners = {key: _owner_and_media(key) for key in keys}
        found = self._items.get_many(sorted({parsed[1] for parsed in owners.values() if parsed}))
        orphans = []
        for key, parsed in owners.items():
            item = found.get(parsed[1]) if parsed else None
            if item is None or item.owner_id != (parsed[0] if parsed else ""):
                job.note_finding("object_without_item", key)
                orphans.append(key)
        if fix and orphans:
            self._bucket.delete_everything(orphans, [])
            job.count("fixed", len(orphans))
        return token

    def _item_page(self, job: Job, token: str, fix: bool) -> str:
        page, token = self._items.scan(token, 100)
        job.count("items_checked", len(page))
        for item in page:
            # Pending and processing items are in flight: their objects and renditions are not due yet.
            if item.status is not MediaStatus.READY:
                continue
            try:
                self._check_item(job, item, fix)
            except Exception as exc:  # noqa: BLE001 - one item's failure must not stop the job: the job reports it
                job.note_error(f"{item.media_id}: {type(exc).__name__}")
        return token

    def _check_item(self, job: Job, item: MediaItem, fix: bool) -> None:
        if not self._bucket.exists(item.object_key):
            job.note_finding("item_without_object", item.media_id, item.object_key)
            if fix and self._items.mark_failed(item, MISSING_ORIGINAL):
                self._bucket.delete_everything([], [rendition_prefix(item.owner_id, item.media_id)])
                job.count("fixed")
            return
        present = self._bucket.keys_under(rendition_prefix(item.owner_id, item.media_id))
        missing = sorted(name for name, rendition in item.renditions.items() if rendition.key not in present)
        if missing:
            job.note_finding("missing_rendition", item.media_id, ", ".join(missing))
            if fix and self._reprocessing.request(item, job.job_id):
                job.count("fixed")

    def _quota_page(self, job: Job, token: str, fix: bool) -> str:
        page, token = self._counters.scan(token, 100)
        job.count("users_checked", len(page))
        for user_id, reserved in page:
            # Read after the counter: an upload declared in between shows as a mismatch here, and the conditional
            # correction below refuses when the counter moved after it was read.
            actual = self._items.owned_bytes(user_id)
            if actual == reserved:
                continue
            job.note_finding("quota_mismatch", user_id, f"counter {reserved}, items {actual}")
            if fix:
                if self._counters.correct(user_id, reserved, actual):
                    job.count("fixed")
                else:
                    job.note_error(f"{user_id}: the counter changed while reconciling")
        return token
