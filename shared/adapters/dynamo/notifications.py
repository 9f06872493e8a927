"""The notifications table: one partition per recipient, sorted by time-ordered notification id.

Listing is one Query on the partition; unread ones are also in a sparse index (`unread_for` is set only while a
notification is unread), which serves `unread_only` listings and the unread count without a scan and without a
counter that expiry (TTL) would leave wrong. Notifications expire after the configured retention.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta

from pynamodb.attributes import ListAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from shared.adapters.cursors import CursorSigner
from shared.adapters.dynamo.conditions import bind, conditional_write
from shared.config import get_settings
from shared.domain.errors import Conflict
from shared.domain.notifications import Notification, NotificationKind, SharePayload, not_found


class UnreadIndex(GlobalSecondaryIndex["NotificationModel"]):
    """A recipient's unread notifications, newest first (sparse: read ones are not in it)."""

    class Meta:
        index_name = "unread-index"
        projection = AllProjection()

    unread_for = UnicodeAttribute(hash_key=True)
    notification_id = UnicodeAttribute(range_key=True)


class NotificationModel(Model):
    """The notifications table (keys mirror infra/template.yaml; a test keeps them in step)."""

    class Meta:
        table_name = get_settings().notifications_table
        region = get_settings().region

    recipient_id = UnicodeAttribute(hash_key=True)
    notification_id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    read_at = UTCDateTimeAttribute(null=True)
    # The recipient while unread, absent once read.
    unread_for = UnicodeAttribute(null=True)
    actor_id = UnicodeAttribute()
    actor_name = UnicodeAttribute(default="")
    resource_type = UnicodeAttribute()
    resource_id = UnicodeAttribute()
    resource_title = UnicodeAttribute(default="")
    permissions = ListAttribute(of=UnicodeAttribute, default=list)
    share_id = UnicodeAttribute()
    # Set when the email was handed to SES: a redelivered message does not send it again.
    emailed_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    unread_index = UnreadIndex()


_TABLE_CURSOR = frozenset({"recipient_id", "notification_id"})
_UNREAD_CURSOR = frozenset({"recipient_id", "notification_id", "unread_for"})


def _to_notification(model: NotificationModel) -> Notification:
    return Notification(
        notification_id=model.notification_id,
        recipient_id=model.recipient_id,
        kind=NotificationKind(model.kind),
        created_at=model.created_at,
        read_at=model.read_at,
        payload=SharePayload(
            actor_id=model.actor_id,
            actor_name=model.actor_name or "",
            resource_type=model.resource_type,
            resource_id=model.resource_id,
            resource_title=model.resource_title or "",
            permissions=tuple(str(p) for p in model.permissions or ()),
            share_id=model.share_id,
        ),
    )


class DynamoNotificationRepository:
    """NotificationRepository on the PynamoDB notifications table."""

    def __init__(self, table_name: str, region: str, *, cursor_key: str = "", retention_days: int = 90) -> None:
        bind(NotificationModel, table_name, region)
        self._cursor_key = cursor_key
        self._retention = timedelta(days=retention_days)

    def add(self, notification: Notification) -> bool:
        """Conditional put: a notification already stored under the id (a redelivery) is left as it is."""
        payload = notification.payload
        model = NotificationModel(
            notification.recipient_id,
            notification.notification_id,
            kind=notification.kind.value,
            created_at=notification.created_at,
            read_at=notification.read_at,
            unread_for=notification.recipient_id if notification.unread else None,
            actor_id=payload.actor_id,
            actor_name=payload.actor_name,
            resource_type=payload.resource_type,
            resource_id=payload.resource_id,
            resource_title=payload.resource_title,
            permissions=list(payload.permissions),
            share_id=payload.share_id,
            expires_at=notification.created_at + self._retention,
        )
        try:
            with conditional_write(Conflict("notification already stored")):
                model.save(condition=NotificationModel.notification_id.does_not_exist())
        except Conflict:
            return False
        return True

    def get(self, recipient_id: str, notification_id: str) -> Notification | None:
        """The notification in the recipient's own partition (another user's id is simply not there)."""
        try:
            return _to_notification(NotificationModel.get(recipient_id, notification_id, consistent_read=True))
        except NotificationModel.DoesNotExist:
            return None

    def page(
        self, recipient_id: str, unread_only: bool, limit: int, cursor: str | None
    ) -> tuple[list[Notification], str | None]:
        """One more than asked is read, so the last page carries no cursor."""
        scope = f"notifications\n{recipient_id}\n{'unread' if unread_only else 'all'}"
        attributes = _UNREAD_CURSOR if unread_only else _TABLE_CURSOR
        signer = self._signer()
        start = signer.open(cursor, scope, attributes) if cursor else None
        source = NotificationModel.unread_index if unread_only else NotificationModel
        results = source.query(recipient_id, scan_index_forward=False, limit=limit + 1, last_evaluated_key=start)
        models = list(results)
        shown = models[:limit]
        if len(models) <= limit or not shown:
            return [_to_notification(m) for m in shown], None
        last = shown[-1]
        position = {name: {"S": getattr(last, name)} for name in attributes}
        return [_to_notification(m) for m in shown], signer.sign(position, scope)

    def unread_count(self, recipient_id: str) -> int:
        """A COUNT query on the sparse index: reads only unread entries (a few hundred bytes each)."""
        return int(NotificationModel.unread_index.count(recipient_id))

    def mark_read(self, recipient_id: str, notification_id: str, at: datetime) -> Notification:
        """Set read_at and leave the unread index, unless it is read already."""
        model = NotificationModel(recipient_id, notification_id)
        try:
            with conditional_write(Conflict("already read")):
                model.update(
                    actions=[NotificationModel.read_at.set(at), NotificationModel.unread_for.remove()],
                    condition=NotificationModel.notification_id.exists() & NotificationModel.read_at.does_not_exist(),
                )
        except Conflict:
            existing = self.get(recipient_id, notification_id)
            if existing is None:
                raise not_found() from None
            return existing
        return _to_notification(model)

    def unread_ids(self, recipient_id: str) -> Iterator[str]:
        """From the sparse index, newest first."""
        for model in NotificationModel.unread_index.query(recipient_id, scan_index_forward=False):
            yield model.notification_id

    def claim_email(self, notification: Notification, at: datetime) -> bool:
        """Conditional update of emailed_at: exactly one delivery of a message wins it."""
        model = NotificationModel(notification.recipient_id, notification.notification_id)
        try:
            with conditional_write(Conflict("email already sent")):
                model.update(
                    actions=[NotificationModel.emailed_at.set(at)],
                    condition=NotificationModel.notification_id.exists()
                    & NotificationModel.emailed_at.does_not_exist(),
                )
        except Conflict:
            return False
        return True

    def release_email(self, notification: Notification) -> None:
        """Forget the claim (the send failed)."""
        model = NotificationModel(notification.recipient_id, notification.notification_id)
        with contextlib.suppress(Conflict), conditional_write(Conflict("notification gone")):
            model.update(
                actions=[NotificationModel.emailed_at.remove()], condition=NotificationModel.notification_id.exists()
            )

    def _signer(self) -> CursorSigner:
        if not self._cursor_key:
            raise RuntimeError("CURSOR_SIGNING_KEY is not set: listings cannot sign their cursors")
        return CursorSigner(self._cursor_key.encode())
