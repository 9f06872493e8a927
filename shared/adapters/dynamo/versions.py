"""Media records holding older versions of their original: what the janitor's version retention reads and updates
(shared/domain/retention.py VersionRetention).

Scanning is upkeep only, once an hour a page at a time: no API route reads this way.
"""

from __future__ import annotations

from collections.abc import Iterator

from pynamodb.expressions.condition import Condition

from shared.adapters.dynamo.conditions import bind, conditional_write, transaction
from shared.adapters.dynamo.media_model import MediaModel, to_item
from shared.adapters.dynamo.quota import floor_at_zero, release_within
from shared.adapters.dynamo.users import UserModel
from shared.domain.errors import Conflict
from shared.domain.media import MediaItem, MediaStatus

_SETTLED = [MediaStatus.READY.value, MediaStatus.FAILED.value, MediaStatus.REJECTED.value]


def _settled() -> Condition:
    """Not awaiting or in processing (a new version in flight), not trashed (the trash purge owns those)."""
    settled: Condition = (
        MediaModel.status.is_in(*_SETTLED)
        & MediaModel.trashed_at.does_not_exist()
        & MediaModel.superseded.does_not_exist()
    )
    return settled


class DynamoVersionedItems:
    """VersionedItems on the PynamoDB media table (quota counters on the users table)."""

    def __init__(self, media_table: str, users_table: str, region: str, *, page_size: int = 100) -> None:
        bind(MediaModel, media_table, region)
        bind(UserModel, users_table, region)
        self._region = region
        self._page_size = page_size

    def with_older_versions(self) -> Iterator[MediaItem]:
        """Settled items whose stored_bytes exceed their current size, read consistently a page at a time."""
        condition = _settled() & (MediaModel.stored_bytes > MediaModel.size)
        for model in MediaModel.scan(filter_condition=condition, page_size=self._page_size, consistent_read=True):
            yield to_item(model)

    def release_versions(self, item: MediaItem, size: int) -> bool:
        """stored_bytes -= size and the owner's counter with it, in one transaction, only while stored_bytes is
        the value item was read with: of two sweeps releasing the same deleted version, one wins."""
        condition = _settled() & (MediaModel.stored_bytes == item.stored_bytes)
        try:
            with conditional_write(Conflict("the item changed")), transaction(self._region) as write:
                write.update(
                    MediaModel(item.media_id),
                    actions=[MediaModel.stored_bytes.set(item.stored_bytes - size)],
                    condition=condition,
                )
                release_within(write, item.owner_id, size)
        except Conflict:
            return False
        floor_at_zero(item.owner_id)
        return True
