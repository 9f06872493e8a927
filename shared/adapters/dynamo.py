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
from shared.domain.errors import Conflict, NotFound
from shared.domain.media import MediaItem, MediaStatus, Rendition
from shared.domain.principal import Role
from shared.domain.users import User, UserStatus


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


def _bind(model: type[Model], table_name: str, region: str) -> None:
    """Point a model at a table: PynamoDB binds at class level, so rebinding drops its cached connection."""
    if (model.Meta.table_name, model.Meta.region) != (table_name, region):
        model.Meta.table_name = table_name
        model.Meta.region = region
        model._connection = None


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
        _bind(MediaModel, table_name, region)

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


class UserModel(Model):
    """The users table (keys mirror infra/template.yaml; a test keeps them in step)."""

    class Meta:
        table_name = get_settings().users_table
        region = get_settings().region

    user_id = UnicodeAttribute(hash_key=True)
    username = UnicodeAttribute()
    email = UnicodeAttribute(default="")
    role = UnicodeAttribute()
    partner_org = UnicodeAttribute(default="")
    status = UnicodeAttribute()
    quota_bytes = NumberAttribute()
    created_at = UTCDateTimeAttribute()
    last_seen_at = UTCDateTimeAttribute()


def _to_user(model: UserModel) -> User:
    return User(
        user_id=model.user_id,
        username=model.username,
        email=model.email or "",
        role=Role(model.role),
        partner_org=model.partner_org or "",
        status=UserStatus(model.status),
        quota_bytes=int(model.quota_bytes),
        created_at=model.created_at,
        last_seen_at=model.last_seen_at,
    )


class DynamoUserRepository:
    """UserRepository on the PynamoDB users table."""

    def __init__(self, table_name: str, region: str) -> None:
        _bind(UserModel, table_name, region)

    def get(self, user_id: str) -> User | None:
        """The account, or None."""
        try:
            return _to_user(UserModel.get(user_id, consistent_read=True))
        except UserModel.DoesNotExist:
            return None

    def create(self, user: User) -> User:
        """Store a new account unless a concurrent request already did; return the stored one."""
        model = UserModel(
            user.user_id,
            username=user.username,
            email=user.email,
            role=user.role.value,
            partner_org=user.partner_org,
            status=user.status.value,
            quota_bytes=user.quota_bytes,
            created_at=user.created_at,
            last_seen_at=user.last_seen_at,
        )
        try:
            model.save(condition=UserModel.user_id.does_not_exist())
        except PutError as exc:
            if not _is_condition_failure(exc):
                raise
            existing = self.get(user.user_id)
            if existing is None:
                raise
            return existing
        return user

    def save_profile(self, user: User) -> None:
        """Refresh the realm-owned fields and last-seen; status and quota stay as they are."""
        UserModel(user.user_id).update(
            actions=[
                UserModel.username.set(user.username),
                UserModel.email.set(user.email),
                UserModel.role.set(user.role.value),
                UserModel.partner_org.set(user.partner_org),
                UserModel.last_seen_at.set(user.last_seen_at),
            ],
            condition=UserModel.user_id.exists(),
        )

    def set_status(self, user_id: str, status: UserStatus) -> User:
        """Change the status of an existing account."""
        model = UserModel(user_id)
        try:
            model.update(actions=[UserModel.status.set(status.value)], condition=UserModel.user_id.exists())
        except UpdateError as exc:
            if _is_condition_failure(exc):
                raise NotFound("user not found") from exc
            raise
        return _to_user(model)
