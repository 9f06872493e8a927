"""SQS batch of sharing events -> in-app notifications and emails, with partial batch failures.

A message that fails (DynamoDB or SES refused) is reported alone and retried by the queue, then dead-lettered;
each notification and email is made once per event, however often its message is delivered.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.processing.handler import run_batch
from shared.adapters.share_events import decode
from shared.observability import logger, metrics

if TYPE_CHECKING:
    from functions.containers.jobs import NotifierContainer


def notify_record(record: SQSRecord, services: NotifierContainer) -> None:
    """Notify everyone one event concerns; raising marks only this message failed."""
    event = decode(record.body)
    created = services.share_notifier.handle(event)
    logger.info(
        "notified",
        extra={
            "kind": event.kind.value,
            "shares": [g.share_id for g in event.grants],
            "notifications_created": created,
        },
    )
    metrics.add_metric(name="NotificationsCreated", unit=MetricUnit.Count, value=created)


def handle_batch(event: dict[str, Any], context: Any, services: NotifierContainer) -> dict[str, Any]:
    """The notifier's entry point."""
    return run_batch(event, context, functools.partial(notify_record, services=services))
