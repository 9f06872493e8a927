"""SQS batch of analysis requests -> moderation and descriptions, with partial batch failures."""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.processing.handler import last_attempt, run_batch
from shared.domain.analysis import Task
from shared.observability import logger

if TYPE_CHECKING:
    from functions.containers.jobs import AnalyzerContainer


def parse_request(body: str) -> tuple[str, list[Task]]:
    """(media_id, tasks) of a request message; ValueError for anything else."""
    message = json.loads(body)
    if not isinstance(message, dict) or not isinstance(message.get("media_id"), str):
        raise TypeError("analysis request without a media_id")
    return message["media_id"], [Task(t) for t in message.get("tasks", [])]


def analyze_record(record: SQSRecord, services: AnalyzerContainer) -> None:
    """Run one request; on its last delivery a pending description is marked failed before the DLQ."""
    media_id, tasks = parse_request(record.body)
    try:
        done = services.media_analyzer.analyze(media_id, tasks)
    except Exception as exc:
        attempts = last_attempt(record, services.settings.processing_max_receives)
        if attempts is not None:
            services.media_analyzer.give_up(media_id, f"analysis failed after {attempts} attempts: {exc}")
        raise
    logger.info("analyzed", extra={"media_id": media_id, "tasks": [t.value for t in done]})


def handle_batch(event: dict[str, Any], context: Any, services: AnalyzerContainer) -> dict[str, Any]:
    """The analyzer's entry point."""
    return run_batch(event, context, functools.partial(analyze_record, services=services))
