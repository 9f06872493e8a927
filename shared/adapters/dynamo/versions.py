"""Media records holding older versions of their original: what the janitor's version retention reads and updates
(shared/domain/retention.py VersionRetention).

No scan: the candidates come from the sparse, keys-only versions-index (shared/adapters/dynamo/media_model.py),
whose partition key versions_shard ("v00".."v31", from the media id) an item carries exactly while it may hold
older versions. The media repository sets it wherever a new version of an original is declared or restored
(start_new_version), keeps or removes it when a version that never arrived is given up, and release_versions below
removes it once nothing older remains (stored_bytes == size); erasure and purge delete the record with it. The
index is eventually consistent, so every candidate is read again consistently (BatchGetItem) and kept only if it
is still settled with stored_bytes > size; the release itself stays conditional.

Records written before the index existed lack versions_shard and are not found: the admin reconcile
(POST /admin/reconcile) does not add it, so data older than this change needs a one-off backfill (set
versions_shard to the item's shard wherever stored_bytes > size).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from shared.adapters.dynamo.conditions import bind, conditional_write, transaction
from shared.adapters.dynamo.media_model import VERSIONS_SHARDS, MediaModel
from shared.adapters.dynamo.media_queries import load_current
from shared.adapters.dynamo.quota import floor_at_zero, release_within
from shared.adapters.dynamo.users import UserModel
from shared.domain.errors import Conflict
from shared.domain.media import MediaItem, MediaStatus

_SETTLED = [MediaStatus.READY.value, MediaStatus.FAILED.value, MediaStatus.REJECTED.value]
_SETTLED_STATUSES = frozenset(MediaStatus(status) for status in _SETTLED)


def _settled() -> Condition:
    """Not awaiting or in processing (a new version in flight), not trashed (the trash purge owns those)."""
    settled: Condition = (
        MediaModel.status.is_in(*_SETTLED)
        & MediaModel.trashed_at.does_not_exist()
        & MediaModel.superseded.does_not_exist()
    )
    return settled


def _holds_older_versions(item: MediaItem) -> bool:
    """_settled() & stored_bytes > size, decided on a record read consistently."""
    return (
        item.status in _SETTLED_STATUSES
        and item.trashed_at is None
        and item.superseded is None
        and item.stored_bytes > item.size
    )


class DynamoVersionedItems:
    """VersionedItems on the PynamoDB media table (quota counters on the users table)."""

    def __init__(self, media_table: str, users_table: str, region: str, *, page_size: int = 100) -> None:
        bind(MediaModel, media_table, region)
        bind(UserModel, users_table, region)
        self._region = region
        self._page_size = page_size

    def with_older_versions(self) -> Iterator[MediaItem]:
        """Settled items whose stored_bytes exceed their current size: every shard of the versions index a page
        of keys at a time, each page read again consistently (BatchGetItem) before it is yielded."""
        for shard in VERSIONS_SHARDS:
            entries = iter(MediaModel.versions_index.query(shard, page_size=self._page_size))
            while page := [entry.media_id for entry in itertools.islice(entries, self._page_size)]:
                yield from load_current(page, _holds_older_versions, lambda item: item.media_id)

    def release_versions(self, item: MediaItem, size: int) -> bool:
        """stored_bytes -= size and the owner's counter with it, in one transaction, only while stored_bytes is
        the value item was read with: of two sweeps releasing the same deleted version, one wins."""
        condition = _settled() & (MediaModel.stored_bytes == item.stored_bytes)
        stored = item.stored_bytes - size
        actions: list[Action] = [MediaModel.stored_bytes.set(stored)]
        if stored <= item.size:
            # Nothing older remains: out of the versions index (the size guard keeps it for any other version).
            actions.append(MediaModel.versions_shard.remove())
            condition &= MediaModel.size == item.size
        try:
            with conditional_write(Conflict("the item changed")), transaction(self._region) as write:
                write.update(MediaModel(item.media_id), actions=actions, condition=condition)
                release_within(write, item.owner_id, size)
        except Conflict:
            return False
        floor_at_zero(item.owner_id)
        return True
