"""SQS batch of analysis requests -> moderation and descriptions, with partial batch failures."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions import dependencies
from functions.processing.handler import last_attempt, run_batch
from shared.domain.analysis import Task
from shared.observability import logger


def parse_request(body: str) -> tuple[str, list[Task]]:
    """(media_id, tasks) of a request message; ValueError for anything else."""
    message = json.loads(body)
    if not isinstance(message, dict) or not isinstance(message.get("media_id"), str):
        raise TypeError("analysis request without a media_id")
    return message["media_id"], [Task(t) for t in message.get("tasks", [])]


def analyze_record(record: SQSRecord) -> None:
    """Run one request; on its last delivery a pending description is marked failed before the DLQ."""
    media_id, tasks = parse_request(record.body)
    try:
        done = dependencies.media_analyzer().analyze(media_id, tasks)
    except Exception as exc:
        attempts = last_attempt(record)
        if attempts is not None:
            dependencies.media_analyzer().give_up(media_id, f"analysis failed after {attempts} attempts: {exc}")
        raise
    logger.info("analyzed", extra={"media_id": media_id, "tasks": [t.value for t in done]})


def handle_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The analyzer's entry point."""
    return run_batch(event, context, analyze_record)
