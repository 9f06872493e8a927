"""Reads of the media table beyond one key: an owner's listing pages, and the janitor's sweeps over every shard."""

from __future__ import annotations

import heapq
import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pynamodb.expressions.condition import Condition

from shared.adapters.dynamo.media_model import MediaModel, OwnerIndex, OwnerTakenIndex, to_item
from shared.domain.media import MediaItem
from shared.domain.ports import MediaQuery, SortField

_BATCH_GET_KEYS = 100  # DynamoDB's BatchGetItem limit


def listing_filters(query: MediaQuery) -> Condition | None:
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


def listing_range(query: MediaQuery) -> Condition | None:
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


def cursor_scope(owner_id: str, query: MediaQuery) -> str:
    """What a cursor is bound to: the owner and every filter, the sort and the order of its listing."""
    fields = {**asdict(query), "sort": query.sort.value}
    return json.dumps({"owner": owner_id, "query": fields}, separators=(",", ":"), sort_keys=True)


def oldest_across_shards(
    index: Any,
    shards: Iterable[str],
    before: Condition,
    order: Callable[[MediaModel], datetime],
    limit: int,
) -> list[str]:
    """The ids of the `limit` oldest entries of a write-sharded index, merged over every shard: each shard's query
    is sorted already, so no shard is read past its own `limit`."""
    per_shard = (index.query(shard, range_key_condition=before, limit=limit, page_size=limit) for shard in shards)
    merged = heapq.merge(*per_shard, key=lambda entry: (order(entry), entry.media_id))
    return [entry.media_id for entry in itertools.islice(merged, limit)]


def load_current(
    media_ids: list[str], still: Callable[[MediaItem], bool], order: Callable[[MediaItem], Any]
) -> list[MediaItem]:
    """The records an index named, read again consistently (an index lags its table): only those that still
    qualify, in order."""
    items: list[MediaItem] = []
    for start in range(0, len(media_ids), _BATCH_GET_KEYS):
        batch = media_ids[start : start + _BATCH_GET_KEYS]
        items += [to_item(model) for model in MediaModel.batch_get(batch, consistent_read=True)]
    return sorted((item for item in items if still(item)), key=order)
