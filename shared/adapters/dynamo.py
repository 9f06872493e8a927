"""PynamoDB models and the media repository; DynamoDB errors become domain errors here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from shared.config import get_settings
from shared.domain.errors import Conflict
from shared.domain.media import MediaItem, MediaStatus, Rendition


class OwnerIndex(GlobalSecondaryIndex["MediaModel"]):
    """Items of one owner, newest first by creation time."""

    class Meta:
        index_name = "owner-created-index"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class RenditionAttribute(MapAttribute[str, Any]):
    """A stored derivative."""

    key = UnicodeAttribute()
    width = NumberAttribute()
    height = NumberAttribute()
    content_type = UnicodeAttribute()


class MediaModel(Model):
    """The media table (keys and indexes mirror infra/template.yaml; a test keeps them in step)."""

    class Meta:
        table_name = get_settings().media_table
        region = get_settings().region

    media_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    object_key = UnicodeAttribute()
    failure_reason = UnicodeAttribute(null=True)
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    renditions = MapAttribute[str, Any](null=True)
    owner_index = OwnerIndex()


def _to_item(model: MediaModel) -> MediaItem:
    renditions = {
        name: Rendition(
            key=str(value["key"]),
            width=int(value["width"]),
            height=int(value["height"]),
            content_type=str(value["content_type"]),
        )
        for name, value in (model.renditions.as_dict() if model.renditions else {}).items()
    }
    return MediaItem(
        media_id=model.media_id,
        owner_id=model.owner_id,
        filename=model.filename,
        content_type=model.content_type,
        size=int(model.size),
        object_key=model.object_key,
        status=MediaStatus(model.status),
        created_at=model.created_at,
        updated_at=model.updated_at,
        failure_reason=model.failure_reason or "",
        width=int(model.width or 0),
        height=int(model.height or 0),
        renditions=renditions,
    )


def _is_condition_failure(exc: PutError | UpdateError) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"


class DynamoMediaRepository:
    """MediaRepository on the PynamoDB media table."""

    def __init__(self, table_name: str, region: str) -> None:
        # PynamoDB binds a model to its table at class level; rebinding drops the cached connection.
        if (MediaModel.Meta.table_name, MediaModel.Meta.region) != (table_name, region):
            MediaModel.Meta.table_name = table_name
            MediaModel.Meta.region = region
            MediaModel._connection = None

    def create(self, item: MediaItem) -> None:
        """Store a new item; Conflict if the id already exists."""
        model = MediaModel(
            item.media_id,
            owner_id=item.owner_id,
            created_at=item.created_at,
            updated_at=item.updated_at,
            status=item.status.value,
            filename=item.filename,
            content_type=item.content_type,
            size=item.size,
            object_key=item.object_key,
        )
        try:
            model.save(condition=MediaModel.media_id.does_not_exist())
        except PutError as exc:
            if _is_condition_failure(exc):
                raise Conflict(f"media {item.media_id} already exists") from exc
            raise

    def get(self, media_id: str) -> MediaItem | None:
        """The item, or None."""
        try:
            return _to_item(MediaModel.get(media_id, consistent_read=True))
        except MediaModel.DoesNotExist:
            return None

    def transition(
        self,
        media_id: str,
        allowed_from: tuple[MediaStatus, ...],
        to: MediaStatus,
        *,
        failure_reason: str = "",
        width: int | None = None,
        height: int | None = None,
        renditions: dict[str, Rendition] | None = None,
    ) -> MediaItem:
        """Conditional status change: only one concurrent caller can win it."""
        actions: list[Action] = [
            MediaModel.status.set(to.value),
            MediaModel.updated_at.set(datetime.now(UTC)),
        ]
        if failure_reason:
            actions.append(MediaModel.failure_reason.set(failure_reason[:500]))
        if width is not None:
            actions.append(MediaModel.width.set(width))
        if height is not None:
            actions.append(MediaModel.height.set(height))
        if renditions is not None:
            actions.append(
                MediaModel.renditions.set(
                    {
                        name: {"key": r.key, "width": r.width, "height": r.height, "content_type": r.content_type}
                        for name, r in renditions.items()
                    }
                )
            )
        condition = MediaModel.media_id.exists() & MediaModel.status.is_in(*(s.value for s in allowed_from))
        model = MediaModel(media_id)
        try:
            model.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if _is_condition_failure(exc):
                raise Conflict(f"media {media_id} is not in state {', '.join(s.value for s in allowed_from)}") from exc
            raise
        return _to_item(model)
