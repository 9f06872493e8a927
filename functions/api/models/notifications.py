"""Notifications: the listing's query, and how notifications are shown."""

from __future__ import annotations

from pydantic import Field

from functions.api.models.common import Query, Reply, Timestamp
from shared.domain.notifications import MAX_PAGE, Notification, NotificationKind, NotificationPage


class NotificationListing(Query):
    """Filter and paging of the caller's notifications."""

    unread_only: bool = Field(default=False, description="only notifications not yet marked read")
    limit: int = Field(default=20, ge=1, le=MAX_PAGE, description="page size")
    cursor: str | None = Field(default=None, max_length=2048, description="next_cursor of the previous page")


class SharedResource(Reply):
    """What a notification is about."""

    type: str = Field(examples=["media"])
    id: str
    title: str = Field(description="its title, or its filename when it has none")


class NotificationView(Reply):
    """One notification."""

    notification_id: str
    kind: NotificationKind
    created_at: Timestamp
    read_at: Timestamp | None
    actor_id: str = Field(description="who shared (or whose grant was removed)")
    actor_name: str
    resource: SharedResource
    permissions: list[str]
    share_id: str

    @classmethod
    def of(cls, notification: Notification) -> NotificationView:
        """The response for a notification."""
        payload = notification.payload
        return cls(
            notification_id=notification.notification_id,
            kind=notification.kind,
            created_at=notification.created_at,
            read_at=notification.read_at,
            actor_id=payload.actor_id,
            actor_name=payload.actor_name,
            resource=SharedResource(type=payload.resource_type, id=payload.resource_id, title=payload.resource_title),
            permissions=list(payload.permissions),
            share_id=payload.share_id,
        )


class NotificationPageView(Reply):
    """One page of the caller's notifications, newest first, and how many are unread in all."""

    items: list[NotificationView]
    next_cursor: str | None = Field(description="pass as cursor, with the same unread_only, for the next page")
    unread_count: int

    @classmethod
    def of(cls, page: NotificationPage) -> NotificationPageView:
        """The response for a page."""
        return cls(
            items=[NotificationView.of(n) for n in page.items], next_cursor=page.cursor, unread_count=page.unread_count
        )


class MarkedRead(Reply):
    """How many notifications were marked read, and how many remain unread."""

    marked: int
    unread_count: int
