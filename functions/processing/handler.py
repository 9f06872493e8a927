"""SQS batch of S3 object-created notifications -> the media processor, with partial batch failures."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions import dependencies
from shared.domain.processing import ObjectCreated
from shared.observability import logger, metrics

_batch = BatchProcessor(event_type=EventType.SQS)


def object_created_events(body: str) -> list[ObjectCreated]:
    """The object-created records of an S3 notification message (S3's test event has none)."""
    message = json.loads(body)
    if not isinstance(message, dict):
        raise TypeError("notification body is not a JSON object")
    events = []
    for record in message.get("Records", []):
        if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
            continue
        s3 = record["s3"]
        events.append(
            ObjectCreated(
                bucket=s3["bucket"]["name"],
                key=unquote_plus(s3["object"]["key"]),
                size=int(s3["object"].get("size", 0)),
            )
        )
    return events


def process_record(record: SQSRecord) -> None:
    """Process every object a message announces; raising marks only this message failed."""
    for event in object_created_events(record.body):
        outcome = dependencies.media_processor().process(event)
        logger.info("processed object", extra={"key": event.key, "outcome": outcome.value})
        metrics.add_metric(name=f"Media{outcome.value.capitalize()}", unit=MetricUnit.Count, value=1)


def handle_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda SQS event in, `{"batchItemFailures": [...]}` out."""
    try:
        response = process_partial_response(
            event=event, record_handler=process_record, processor=_batch, context=context
        )
        return dict(response)
    finally:
        metrics.flush_metrics(raise_on_empty_metrics=False)
