"""In-app notifications: what was shared with someone (or taken back), listed newest first, read one by one."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from shared.domain.errors import NotFound
from shared.domain.grants import Grant
from shared.domain.principal import Principal

MAX_PAGE = 100
# One request marks at most this many (one write each, within the API's time limit); the rest on the next call.
MAX_MARK_ALL = 500
_NO_SUCH_NOTIFICATION = "notification not found"


class NotificationKind(StrEnum):
    """What happened."""

    SHARE_GRANTED = "share.granted"
    SHARE_REVOKED = "share.revoked"
    MODERATION_APPROVED = "moderation.approved"
    MODERATION_REJECTED = "moderation.rejected"
    EXPORT_READY = "export.ready"


@dataclass(frozen=True)
class SharePayload:
    """What a sharing notification says: who shared which resource, with which permissions, through which grant."""

    actor_id: str
    actor_name: str
    resource_type: str
    resource_id: str
    resource_title: str
    permissions: tuple[str, ...]
    share_id: str


@dataclass(frozen=True)
class Notification:
    """One notice to one user; unread until they mark it read."""

    notification_id: str
    recipient_id: str
    kind: NotificationKind
    created_at: datetime
    payload: SharePayload
    read_at: datetime | None = None

    @property
    def unread(self) -> bool:
        """True until marked read."""
        return self.read_at is None


@dataclass(frozen=True)
class NotificationPage:
    """One page of a user's notifications, the cursor of the next one (None at the end) and how many are unread."""

    items: list[Notification]
    cursor: str | None
    unread_count: int


def notification_id(occurred_at: datetime, share_id: str, kind: NotificationKind) -> str:
    """32 hex characters: the event's time in milliseconds, then a digest of the grant and kind.

    Ordered by time (a recipient's listing is one query), and the same for every delivery of one event, so a
    redelivered message finds its notification already stored instead of making a second one.
    """
    millis = int(occurred_at.timestamp() * 1000)
    digest = hashlib.sha256(f"{share_id}|{kind.value}".encode()).hexdigest()
    return f"{millis:012x}{digest[:20]}"


class NotificationRepository(Protocol):
    """Persistence of notifications, one partition per recipient."""

    def add(self, notification: Notification) -> bool:
        """Store a new notification; False (and nothing written) if one with its id is already stored."""

    def get(self, recipient_id: str, notification_id: str) -> Notification | None:
        """The recipient's notification, or None (someone else's is None too)."""

    def page(
        self, recipient_id: str, unread_only: bool, limit: int, cursor: str | None
    ) -> tuple[list[Notification], str | None]:
        """Newest first, after cursor (signed for this recipient and filter); ValidationError for any other cursor."""

    def unread_count(self, recipient_id: str) -> int:
        """How many of the recipient's notifications are unread."""

    def mark_read(self, recipient_id: str, notification_id: str, at: datetime) -> Notification:
        """Mark read (already read stays as it was); NotFound if the recipient has no such notification."""

    def unread_ids(self, recipient_id: str) -> Iterator[str]:
        """The recipient's unread notification ids, newest first."""

    def claim_email(self, notification: Notification, at: datetime) -> bool:
        """Record that its email is being sent; False if it already was (a redelivery must not send twice)."""

    def release_email(self, notification: Notification) -> None:
        """Undo claim_email after sending failed, so the retried message sends it."""


class ShareEvents(Protocol):
    """Where sharing announces grants made and removed; notifying happens later, off the request."""

    def granted(self, grant: Grant) -> None:
        """A grant was created."""

    def revoked(self, grants: list[Grant]) -> None:
        """These grants were removed (a revoked grant and the reshares that hung from it)."""


@dataclass(frozen=True)
class ShareEvent:
    """A sharing event as the notifier receives it."""

    kind: NotificationKind
    occurred_at: datetime
    grants: tuple[Grant, ...] = field(default_factory=tuple)


class NotificationCenter:
    """A user's own notifications: listing, unread count, marking read."""

    def __init__(
        self,
        notifications: NotificationRepository,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._notifications = notifications
        self._clock = clock

    def listing(self, principal: Principal, *, unread_only: bool, limit: int, cursor: str | None) -> NotificationPage:
        """One page of the caller's notifications, newest first, with their unread count."""
        items, next_cursor = self._notifications.page(principal.sub, unread_only, limit, cursor)
        return NotificationPage(items, next_cursor, self._notifications.unread_count(principal.sub))

    def unread_count(self, principal: Principal) -> int:
        """How many of the caller's notifications are unread."""
        return self._notifications.unread_count(principal.sub)

    def mark_read(self, principal: Principal, notification_id: str) -> Notification:
        """Mark one of the caller's notifications read; someone else's answers NotFound, like a missing one."""
        return self._notifications.mark_read(principal.sub, notification_id, self._clock())

    def mark_all_read(self, principal: Principal) -> int:
        """Mark the caller's unread notifications read (up to MAX_MARK_ALL per call); how many it marked."""
        now = self._clock()
        marked = 0
        for unread_id in itertools.islice(self._notifications.unread_ids(principal.sub), MAX_MARK_ALL):
            try:
                notification = self._notifications.mark_read(principal.sub, unread_id, now)
            except NotFound:
                continue  # expired meanwhile
            # The unread index lags its table: an id it still lists may have been read already.
            marked += notification.read_at == now
        return marked


def not_found() -> NotFound:
    """The one answer for a notification that is missing or not the caller's."""
    return NotFound(_NO_SUCH_NOTIFICATION)
