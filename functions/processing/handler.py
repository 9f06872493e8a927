"""SQS batch of S3 object-created notifications -> the media processor, with partial batch failures.

Each record is processed at most once per (bucket, key, version) through Powertools idempotency; a
record that fails is reported alone, and on its last delivery its item is marked failed before the
message moves to the dead-letter queue.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.domain.processing import ObjectCreated
from shared.observability import logger, metrics

if TYPE_CHECKING:
    from functions.containers.jobs import ProcessorContainer

_batch = BatchProcessor(event_type=EventType.SQS)


def object_created_events(body: str) -> list[ObjectCreated]:
    """The object-created records of an S3 notification message (S3's test event has none)."""
    message = json.loads(body)
    if not isinstance(message, dict):
        raise TypeError("notification body is not a JSON object")
    reprocess = message.get("reprocess")
    if isinstance(reprocess, dict):
        # An admin's reprocess request (shared/adapters/maintenance.py): the item was reopened first; with no
        # version id or sequencer it goes through the claim alone, never Powertools' replay of the upload's outcome.
        return [ObjectCreated(bucket=str(reprocess["bucket"]), key=str(reprocess["key"]), size=0)]
    events = []
    for record in message.get("Records", []):
        if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
            continue
        s3 = record["s3"]
        obj = s3["object"]
        events.append(
            ObjectCreated(
                bucket=s3["bucket"]["name"],
                key=unquote_plus(obj["key"]),
                size=int(obj.get("size", 0)),
                version_id=str(obj.get("versionId") or ""),
                sequencer=str(obj.get("sequencer") or ""),
            )
        )
    return events


def processing_deadline(lambda_context: Any, margin_seconds: float) -> float | None:
    """When processing must stop (time.monotonic()) so the outcome is still written before Lambda's timeout."""
    if lambda_context is None:
        return None
    left_s = float(lambda_context.get_remaining_time_in_millis()) / 1000
    return time.monotonic() + left_s - margin_seconds


def process_record(record: SQSRecord, services: ProcessorContainer, lambda_context: Any = None) -> None:
    """Process every object a message announces; raising marks only this message failed."""
    settings = services.settings
    for event in object_created_events(record.body):
        deadline = processing_deadline(lambda_context, settings.processing_outcome_margin_seconds)
        try:
            if event.version_id or event.sequencer:
                services.process_once(event=event, deadline=deadline)
            else:
                # Without a version id or sequencer (moto's notifications carry neither) a new version of a
                # key is indistinguishable from a redelivery; the conditional claim alone keeps it exactly-once.
                services.process_directly(event, deadline)
        except Exception as exc:
            attempts = last_attempt(record, settings.processing_max_receives)
            if attempts is not None:
                reason = f"processing failed after {attempts} attempts: {type(exc).__name__}"
                if services.media_processor.give_up(event, reason):
                    logger.error("giving up on object", extra={"key": event.key, "attempts": attempts})
            raise


def last_attempt(record: SQSRecord, max_receives: int) -> int | None:
    """The delivery count when this is the message's last delivery before the dead-letter queue, else None."""
    attempts = int(record.attributes.approximate_receive_count or 1)
    return attempts if attempts >= max_receives else None


def run_batch(event: dict[str, Any], context: Any, record_handler: Callable[[SQSRecord], None]) -> dict[str, Any]:
    """Lambda SQS event in, `{"batchItemFailures": [...]}` out; metrics flushed whatever happens."""
    try:
        response = process_partial_response(
            event=event, record_handler=record_handler, processor=_batch, context=context
        )
        return dict(response)
    finally:
        metrics.flush_metrics(raise_on_empty_metrics=False)


def handle_batch(event: dict[str, Any], context: Any, services: ProcessorContainer) -> dict[str, Any]:
    """The processor's entry point."""
    if context is not None:
        # Lets idempotency expire an in-progress record when this invocation would have timed out.
        services.idempotency_config.register_lambda_context(context)
    return run_batch(event, context, functools.partial(process_record, services=services))
