"""New media items written together: one BatchWriteItem per 25 instead of one conditional PutItem each.

A batch declaration's items have ids minted for them a moment ago (shared/domain/media.py new_media_id: random
128 bits), so no write needs DynamoDB to check that the id is free; DynamoDB's batch takes no conditions anyway.
"""

from __future__ import annotations

from shared.adapters.dynamo.conditions import bind
from shared.adapters.dynamo.media_model import MediaModel, new_record
from shared.domain.media import MediaItem


class DynamoNewMediaItems:
    """NewItemsWriter on the media table."""

    def __init__(self, table_name: str, region: str) -> None:
        bind(MediaModel, table_name, region)

    def create_many(self, items: list[MediaItem]) -> None:
        """Store every item; PynamoDB sends 25 a call and re-sends what DynamoDB leaves unprocessed."""
        if any(item.stored_bytes > item.size for item in items):
            raise ValueError("only new items (a single version of their original) are written in batches")
        with MediaModel.batch_write() as batch:
            for item in items:
                batch.save(new_record(item))
