"""Sharing events into notifications and emails, once per event however often its message is delivered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from shared.domain.grants import Grant, GranteeType, ResourceType
from shared.domain.notifications import (
    Notification,
    NotificationRepository,
    ShareEvent,
    SharePayload,
    notification_id,
)
from shared.domain.ports import MediaRepository
from shared.domain.users import UserRepository


class NotificationMailer(Protocol):
    """Sends a notification by email."""

    def send(self, address: str, notification: Notification) -> None:
        """Email the notification to address; raises if it was not accepted (the message is then retried)."""


class ShareNotifier:
    """Notifies the grantee of each grant in an event, in the app and by email."""

    def __init__(
        self,
        notifications: NotificationRepository,
        users: UserRepository,
        media: MediaRepository,
        mailer: NotificationMailer | None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._notifications = notifications
        self._users = users
        self._media = media
        self._mailer = mailer
        self._clock = clock

    def handle(self, event: ShareEvent) -> int:
        """Store (and email) each grantee's notification; how many were new (a redelivery makes none)."""
        created = 0
        for grant in event.grants:
            recipients = self._recipients(grant)
            if not recipients:
                continue
            payload = self._payload(grant)
            for recipient in recipients:
                notification = Notification(
                    notification_id=notification_id(event.occurred_at, grant.share_id, event.kind),
                    recipient_id=recipient,
                    kind=event.kind,
                    created_at=event.occurred_at,
                    payload=payload,
                )
                created += self._notifications.add(notification)
                self._email(notification)
        return created

    def _recipients(self, grant: Grant) -> list[str]:
        """Who a grant concerns: its user, or every partner of its organisation known to the vault (links: nobody)."""
        if grant.grantee.type is GranteeType.USER:
            return [grant.grantee.id]
        if grant.grantee.type is GranteeType.ORG:
            return list(self._users.partners_of(grant.grantee.id))
        return []

    def _payload(self, grant: Grant) -> SharePayload:
        actor = self._users.get(grant.granted_by)
        return SharePayload(
            actor_id=grant.granted_by,
            actor_name=actor.username if actor is not None else "",
            resource_type=grant.resource_type.value,
            resource_id=grant.resource_id,
            resource_title=self._title(grant),
            permissions=tuple(sorted(p.value for p in grant.permissions)),
            share_id=grant.share_id,
        )

    def _title(self, grant: Grant) -> str:
        if grant.resource_type is not ResourceType.MEDIA:
            return ""
        item = self._media.get(grant.resource_id)
        if item is None:
            return ""
        return item.title or item.filename

    def _email(self, notification: Notification) -> None:
        """Send at most once: claimed before sending, released if sending fails so the retry sends it."""
        if self._mailer is None:
            return
        recipient = self._users.get(notification.recipient_id)
        if recipient is None or not recipient.email:
            return
        if not self._notifications.claim_email(notification, self._clock()):
            return
        try:
            self._mailer.send(recipient.email, notification)
        except Exception:
            self._notifications.release_email(notification)
            raise
