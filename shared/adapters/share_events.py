"""Sharing events on the notifications queue: the API's publisher and the notifier's decoder, in one place."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from shared.domain.grants import Grant, Grantee, GranteeType, Permission, ResourceType, grant_document
from shared.domain.notifications import NotificationKind, ShareEvent
from shared.observability import logger, metrics

_VERSION = 1
# A grant is ~400 bytes as JSON: 100 stay far below SQS's 256 KiB message limit.
_GRANTS_PER_MESSAGE = 100


def _grant(data: dict[str, Any]) -> Grant:
    grantee = data["grantee"]
    expires_at = data.get("expires_at")
    return Grant(
        share_id=str(data["share_id"]),
        resource_type=ResourceType(data["resource_type"]),
        resource_id=str(data["resource_id"]),
        owner_id=str(data["owner_id"]),
        grantee=Grantee(GranteeType(grantee["type"]), str(grantee["id"]), str(grantee.get("display", ""))),
        permissions=frozenset(Permission(p) for p in data["permissions"]),
        granted_by=str(data["granted_by"]),
        created_at=datetime.fromisoformat(data["created_at"]),
        expires_at=datetime.fromisoformat(expires_at) if expires_at else None,
        parent_share_id=str(data.get("parent_share_id") or ""),
    )


def encode(event: ShareEvent) -> str:
    """The message body of an event."""
    return json.dumps(
        {
            "version": _VERSION,
            "kind": event.kind.value,
            "occurred_at": event.occurred_at.isoformat(),
            "grants": [grant_document(g) for g in event.grants],
        },
        separators=(",", ":"),
    )


def decode(body: str) -> ShareEvent:
    """The event a message body carries; ValueError, KeyError or TypeError for anything else."""
    message = json.loads(body)
    if not isinstance(message, dict) or message.get("version") != _VERSION:
        raise ValueError("not a sharing event of a known version")
    return ShareEvent(
        kind=NotificationKind(message["kind"]),
        occurred_at=datetime.fromisoformat(message["occurred_at"]),
        grants=tuple(_grant(g) for g in message["grants"]),
    )


class SqsShareEvents:
    """ShareEvents on the notifications queue: one message per event, sent before the request answers."""

    def __init__(
        self, client: Any, queue_url: str, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._sqs = client
        self._queue_url = queue_url
        self._clock = clock

    def granted(self, grant: Grant) -> None:
        """Announce a new grant."""
        self._send(ShareEvent(NotificationKind.SHARE_GRANTED, self._clock(), (grant,)))

    def revoked(self, grants: list[Grant]) -> None:
        """Announce removed grants, in messages of at most _GRANTS_PER_MESSAGE (nothing to send for none)."""
        now = self._clock()
        for first in range(0, len(grants), _GRANTS_PER_MESSAGE):
            chunk = tuple(grants[first : first + _GRANTS_PER_MESSAGE])
            self._send(ShareEvent(NotificationKind.SHARE_REVOKED, now, chunk))

    def _send(self, event: ShareEvent) -> None:
        if not self._queue_url:
            return
        try:
            self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=encode(event))
        except (BotoCoreError, ClientError):
            # The grant change is already stored: failing the request now would misreport it. The notice is lost;
            # the log and metric say so.
            logger.exception("sharing event not queued", extra={"kind": event.kind.value})
            metrics.add_metric(name="ShareEventsLost", unit=MetricUnit.Count, value=1)
