"""Processing an uploaded original: pending -> processing -> ready | failed | rejected, exactly once.

S3 notifications arrive at least once and out of order, and SQS redelivers. Each transition is a
conditional write, so concurrent deliveries cannot both win; a claim carries a lease, so a crashed
attempt is taken over once the lease runs out; an event older than the one already applied changes
nothing; rendition keys are fixed per item, so a retry overwrites instead of leaving orphans.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from shared.domain.errors import Conflict, OutOfTime, RejectedMedia, UnreadableMedia
from shared.domain.media import (
    MediaItem,
    MediaStatus,
    Rendition,
    SupersededOriginal,
    kind_of,
    parse_original_key,
    rendition_key,
    rendition_prefix,
)
from shared.domain.ports import MediaRenderer, MediaRepository, ObjectStorage, ProcessingResult
from shared.domain.sniff import same_family, sniff


class Outcome(StrEnum):
    """What processing one object did."""

    READY = "ready"
    FAILED = "failed"
    REJECTED = "rejected"
    SKIPPED = "skipped"
    DISCARDED = "discarded"  # bytes nobody was waiting for: deleted, never processed or served


class InProgress(Exception):
    """Another attempt holds the item's lease: try this delivery again later."""


@dataclass(frozen=True)
class ObjectCreated:
    """The part of an S3 object-created notification processing needs."""

    bucket: str
    key: str
    size: int
    version_id: str = ""
    sequencer: str = ""


def sequencer_key(sequencer: str) -> str:
    """S3 sequencers compare as hex strings once left-padded to the same length."""
    return sequencer.upper().rjust(32, "0")


def is_stale(event: ObjectCreated, item: MediaItem) -> bool:
    """True for an event older than the one the item already reflects (a redelivery of that same event finds
    the item no longer pending, so the claim refuses it)."""
    return bool(event.sequencer and item.sequencer) and sequencer_key(event.sequencer) < sequencer_key(item.sequencer)


def _unasked_for(event: ObjectCreated, item: MediaItem) -> bool:
    """True for bytes the item is not waiting for: a version other than the one it processed or is processing
    (the upload form re-posted after the fact). A pending item waits for whatever arrives."""
    return (
        bool(event.version_id and item.version_id)
        and item.status is not MediaStatus.PENDING
        and event.version_id != item.version_id
    )


class MediaProcessor:
    """Turns a freshly uploaded original into a ready item with metadata and renditions."""

    def __init__(
        self,
        repository: MediaRepository,
        storage: ObjectStorage,
        renderer: MediaRenderer,
        *,
        allowed_content_types: tuple[str, ...],
        lease_seconds: int = 900,
        workdir_root: str | None = None,
        on_ready: Callable[[MediaItem], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_outcome: Callable[[MediaItem, Outcome, SupersededOriginal | None], None] | None = None,
    ) -> None:
        self._repository = repository
        self._storage = storage
        self._renderer = renderer
        self._allowed = allowed_content_types
        self._lease = lease_seconds
        self._workdir_root = workdir_root
        self._on_ready = on_ready
        self._clock = clock
        # Told of every attempt that ended ready, failed or rejected (analytics counts outcomes and latency).
        self._on_outcome = on_outcome

    def process(self, event: ObjectCreated, deadline: float | None = None) -> Outcome:
        """Process one object by deadline (on the clock; the time to write the outcome comes after it); once
        claimed, an attempt ends ready, failed or rejected with a reason, never with a raise."""
        parsed = parse_original_key(event.key)
        if parsed is None:
            return Outcome.SKIPPED
        owner_id, media_id = parsed
        item = self._repository.get(media_id)
        if item is None:
            # Bytes posted with a form still valid after its item was purged or expired.
            return self._discard(event)
        if item.owner_id != owner_id or is_stale(event, item):
            return Outcome.SKIPPED
        if event.version_id and self._storage.current_version(event.key) not in ("", event.version_id):
            # An older version's event (a late delivery, a dead-letter redrive) must not stand in for the
            # version the owner uploaded since: only the key's current version is processed.
            return Outcome.SKIPPED
        if _unasked_for(event, item):
            return self._discard(event)
        # What a new version replaces (the claim forgets it): analytics moves storage from it to the new version.
        replaced = item.superseded
        # Not claimed yet: without time to work, the delivery is retried rather than the item failed.
        self._check_time(deadline)
        try:
            item = self._repository.claim(media_id, self._lease, event.version_id)
        except Conflict:
            current = self._repository.get(media_id)
            if current is not None and current.status is MediaStatus.PROCESSING:
                if _unasked_for(event, current):
                    return self._discard(event)
                raise InProgress(f"media {media_id} is being processed by another attempt") from None
            return Outcome.SKIPPED
        try:
            with tempfile.TemporaryDirectory(prefix="media-", dir=self._workdir_root) as workdir:
                result = self._render(item, event, workdir, deadline)
                for source in result.analysis.renditions:
                    self._check_time(deadline)
                    self._storage.store_rendition(result.renditions[source.name].key, source)
        except OutOfTime as exc:
            self._end_without_renditions(item, MediaStatus.FAILED, exc.message)
            return self._ended(item, Outcome.FAILED)
        except RejectedMedia as exc:
            self._end_without_renditions(item, MediaStatus.REJECTED, exc.message)
            return self._ended(item, Outcome.REJECTED)
        except UnreadableMedia as exc:
            self._end_without_renditions(item, MediaStatus.FAILED, exc.message)
            return self._ended(item, Outcome.FAILED)
        ready = self._repository.finish(media_id, MediaStatus.READY, result=result)
        # Derivatives the previous version had and this one does not (e.g. a web MP4) would be orphans.
        leftovers = [r.key for name, r in item.renditions.items() if name not in result.renditions]
        if leftovers:
            self._storage.purge(exact_keys=leftovers, prefixes=[])
        if self._on_ready is not None:
            self._on_ready(ready)
        return self._ended(ready, Outcome.READY, replaced)

    def _ended(self, item: MediaItem, outcome: Outcome, replaced: SupersededOriginal | None = None) -> Outcome:
        if self._on_outcome is not None:
            self._on_outcome(item, outcome, replaced)
        return outcome

    def _end_without_renditions(
        self,
        item: MediaItem,
        status: MediaStatus,
        reason: str,
        allowed_from: tuple[MediaStatus, ...] = (MediaStatus.PROCESSING,),
    ) -> None:
        """failed/rejected items have no derivatives: none of a previous version, none of a crashed attempt."""
        self._repository.finish(item.media_id, status, reason=reason, allowed_from=allowed_from)
        self._storage.purge(exact_keys=[], prefixes=[rendition_prefix(item.owner_id, item.media_id)])

    def _discard(self, event: ObjectCreated) -> Outcome:
        """Delete the version the event announces (only that one): nothing asked for it, nothing checked it."""
        if not event.version_id:
            return Outcome.SKIPPED  # without a version id the bytes cannot be told from the processed ones
        self._storage.delete_version(event.key, event.version_id)
        return Outcome.DISCARDED

    def _time_left(self, deadline: float | None) -> float | None:
        return None if deadline is None else deadline - self._clock()

    def _check_time(self, deadline: float | None) -> None:
        left = self._time_left(deadline)
        if left is not None and left <= 0:
            raise OutOfTime("processing ran out of time: the invocation had no time left to finish it")

    def _render(self, item: MediaItem, event: ObjectCreated, workdir: str, deadline: float | None) -> ProcessingResult:
        self._check_time(deadline)
        downloaded = self._storage.download(
            event.key, event.version_id, os.path.join(workdir, "original"), max_bytes=item.size
        )
        if item.sha256 and downloaded.sha256 != item.sha256:
            raise RejectedMedia("checksum mismatch: the bytes are not the file that was declared")
        actual = sniff(downloaded.head)
        if not actual or actual not in self._allowed:
            raise RejectedMedia("the file is not a photo or video format the vault accepts")
        if not same_family(item.content_type, actual):
            raise RejectedMedia(f"declared {item.content_type} but the bytes are {actual}")
        self._check_time(deadline)
        analysis = self._renderer.render(downloaded.path, kind_of(actual), workdir, self._time_left(deadline))
        renditions = {
            r.name: Rendition(
                key=rendition_key(item.owner_id, item.media_id, r.name, r.extension),
                width=r.width,
                height=r.height,
                content_type=r.content_type,
            )
            for r in analysis.renditions
        }
        return ProcessingResult(
            analysis=analysis,
            renditions=renditions,
            version_id=downloaded.version_id,
            sequencer=event.sequencer,
            taken_sort=replace(item, taken_at=analysis.taken_at).taken_sort,
        )

    def give_up(self, event: ObjectCreated, reason: str) -> bool:
        """Mark the event's item failed after its last delivery attempt; True if that changed it."""
        parsed = parse_original_key(event.key)
        item = self._repository.get(parsed[1]) if parsed else None
        if item is None:
            return False
        try:
            self._end_without_renditions(
                item, MediaStatus.FAILED, reason, allowed_from=(MediaStatus.PENDING, MediaStatus.PROCESSING)
            )
        except Conflict:
            return False
        self._ended(item, Outcome.FAILED)
        return True
