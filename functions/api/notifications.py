"""The caller's notifications: what was shared with them or taken back."""

from __future__ import annotations

from chalice.app import Blueprint

from functions.api.models.notifications import MarkedRead, NotificationListing, NotificationPageView, NotificationView
from functions.api.routing import principal, route, services

bp = Blueprint(__name__)


@route(bp, "/notifications", query=NotificationListing, response=NotificationPageView)
def list_notifications(query: NotificationListing) -> NotificationPageView:
    """The caller's notifications, newest first, with the unread count (for a badge)."""
    page = services().notification_center.listing(
        principal(bp), unread_only=query.unread_only, limit=query.limit, cursor=query.cursor or None
    )
    return NotificationPageView.of(page)


@route(bp, "/notifications/{notification_id}/read", methods=("POST",), response=NotificationView, errors=(404,))
def mark_notification_read(notification_id: str) -> NotificationView:
    """Mark one of the caller's notifications read (again is fine); anyone else's answers 404."""
    return NotificationView.of(services().notification_center.mark_read(principal(bp), notification_id))


@route(bp, "/notifications/read-all", methods=("POST",), response=MarkedRead)
def mark_all_notifications_read() -> MarkedRead:
    """Mark the caller's unread notifications read (up to 500 per call: call again while unread_count is above 0)."""
    center = services().notification_center
    caller = principal(bp)
    marked = center.mark_all_read(caller)
    return MarkedRead(marked=marked, unread_count=center.unread_count(caller))
