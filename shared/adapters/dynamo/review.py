"""The moderation queue on the media table: the sparse, write-sharded review index, merged newest first."""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from shared.adapters.cursors import CursorSigner
from shared.adapters.dynamo.conditions import bind, conditional_write
from shared.adapters.dynamo.media_model import REVIEW_SHARDS, MediaModel, review_shard, to_item
from shared.adapters.dynamo.media_queries import load_current
from shared.domain.errors import Conflict, ValidationError
from shared.domain.media import MediaItem, MediaStatus
from shared.domain.ports import Page
from shared.domain.review import Decision, QueueFilter

_CURSOR_ATTRIBUTES = frozenset({"flagged_at", "media_id"})
# A min_score filter is applied to the items read back: one page looks at most this many entries per item asked.
_EXAMINED_PER_ITEM = 10


class DynamoReviewRepository:
    """ReviewRepository on the PynamoDB media table."""

    def __init__(self, table_name: str, region: str, *, cursor_key: str = "") -> None:
        bind(MediaModel, table_name, region)
        self._cursor_key = cursor_key

    def get(self, media_id: str) -> MediaItem | None:
        """The item, or None."""
        try:
            return to_item(MediaModel.get(media_id, consistent_read=True))
        except MediaModel.DoesNotExist:
            return None

    def review_queue(self, queue_filter: QueueFilter, limit: int, cursor: str | None) -> Page:
        """Newest flag first over every shard; the cursor is the (flagged_at, media_id) of the last entry examined."""
        scope = json.dumps(
            {
                "listing": "review-queue",
                "min_score": queue_filter.min_score,
                "older_than": queue_filter.older_than.isoformat() if queue_filter.older_than else None,
            },
            sort_keys=True,
        )
        signer = self._signer()
        after: tuple[datetime, str] | None = None
        if cursor:
            position = signer.open(cursor, scope, _CURSOR_ATTRIBUTES)
            try:
                after = (datetime.fromisoformat(position["flagged_at"]["S"]), position["media_id"]["S"])
            except ValueError:
                raise ValidationError("cursor is not valid for this listing", field="cursor") from None
        entries = _newest_across_shards(queue_filter.older_than, after)
        items: list[MediaItem] = []
        last: tuple[datetime, str] | None = None
        budget = limit * _EXAMINED_PER_ITEM
        exhausted = False
        while len(items) < limit and budget > 0:
            asked = min(limit, budget)
            batch = [entry for _, entry in zip(range(asked), entries, strict=False)]
            budget -= len(batch)
            # The index lags the table: an entry whose item left the queue since is passed over.
            found = {item.media_id: item for item in load_current([e[1] for e in batch], _queued, lambda _i: 0)}
            examined = 0
            for flagged_at, media_id in batch:
                examined += 1
                last = (flagged_at, media_id)
                item = found.get(media_id)
                if item is not None and _passes(item, queue_filter):
                    items.append(item)
                    if len(items) == limit:
                        break
            if len(batch) < asked and examined == len(batch):
                exhausted = True  # every remaining entry was looked at
                break
        if exhausted or last is None:
            return Page(items=items, cursor=None)
        position = {"flagged_at": {"S": last[0].isoformat()}, "media_id": {"S": last[1]}}
        return Page(items=items, cursor=signer.sign(position, scope))

    def record_decision(self, item: MediaItem, decision: Decision, review: dict[str, Any]) -> MediaItem:
        """Out of the queue with the decision; approve unflags, reject makes it rejected without renditions."""
        actions: list[Action] = [
            MediaModel.review.set(review),
            MediaModel.review_shard.remove(),
            MediaModel.flagged_at.remove(),
            MediaModel.updated_at.set(datetime.now(UTC)),
            MediaModel.revision.set(MediaModel.revision + 1),
        ]
        if decision is Decision.APPROVE:
            actions.append(MediaModel.flagged.set(False))
            if item.status is MediaStatus.REJECTED:
                # Approved on a second look: served again (its renditions went with the rejection).
                actions += [MediaModel.status.set(MediaStatus.READY.value), MediaModel.failure_reason.remove()]
        else:
            actions += [
                MediaModel.status.set(MediaStatus.REJECTED.value),
                MediaModel.renditions.remove(),
                MediaModel.placeholder.remove(),
            ]
        model = MediaModel(item.media_id)
        with conditional_write(Conflict("the item is no longer awaiting review")):
            model.update(actions=actions, condition=MediaModel.review_shard.exists())
        return to_item(model)

    def requeue_for_second_look(self, item: MediaItem, review: dict[str, Any], at: datetime) -> MediaItem:
        """Back in the queue at the top, only if nobody changed the item since it was read."""
        actions: list[Action] = [
            MediaModel.review.set(review),
            MediaModel.review_shard.set(review_shard(item.media_id)),
            MediaModel.flagged_at.set(at),
            MediaModel.updated_at.set(at),
            MediaModel.revision.set(MediaModel.revision + 1),
        ]
        model = MediaModel(item.media_id)
        with conditional_write(Conflict("the item changed; read it again")):
            model.update(actions=actions, condition=MediaModel.revision == item.revision)
        return to_item(model)

    def _signer(self) -> CursorSigner:
        if not self._cursor_key:
            raise RuntimeError("CURSOR_SIGNING_KEY is not set: listings cannot sign their cursors")
        return CursorSigner(self._cursor_key.encode())


def _newest_across_shards(
    older_than: datetime | None, after: tuple[datetime, str] | None
) -> Iterator[tuple[datetime, str]]:
    """(flagged_at, media_id) of every queued entry, newest first, merged lazily over the shards: each shard's
    query is sorted already and is read only as far as the merge needs."""
    bounds = [moment for moment in (older_than, after[0] if after else None) if moment is not None]
    upper = min(bounds) if bounds else None
    per_shard = []
    for shard in REVIEW_SHARDS:
        condition: Condition | None = MediaModel.flagged_at <= upper if upper is not None else None
        results = MediaModel.review_index.query(
            shard, range_key_condition=condition, scan_index_forward=False, page_size=50
        )
        per_shard.append((entry.flagged_at, entry.media_id) for entry in results)
    merged = heapq.merge(*per_shard, reverse=True)
    for entry in merged:
        if after is not None and entry >= after:
            continue  # at or before the cursor's position (same instant, larger id): already shown
        yield entry


def _queued(item: MediaItem) -> bool:
    return item.awaiting_review


def _passes(item: MediaItem, queue_filter: QueueFilter) -> bool:
    if queue_filter.min_score is None:
        return True
    score = item.moderation.get("score")
    return isinstance(score, int | float) and score >= queue_filter.min_score
