"""SQS messages `{job_id, step}` -> one step of a maintenance job (reprocess, reconcile); partial batch failures."""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from functions.processing.handler import last_attempt, run_batch
from shared.observability import logger

if TYPE_CHECKING:
    from functions.containers.maintenance import MaintainerContainer

# The maintenance queue's maxReceiveCount (infra/template.yaml): on that delivery a failing step fails its job.
MAX_RECEIVES = 3
# Without a Lambda context (a direct call), a step works as if it had this long.
UNBOUNDED_SECONDS = 900.0


def run_step(record: SQSRecord, services: MaintainerContainer, lambda_context: Any = None) -> None:
    """Run the step a message names; raising leaves it for redelivery (and fails the job on the last one)."""
    message = json.loads(record.body)
    job_id, step = str(message["job_id"]), int(message["step"])

    def time_left() -> float:
        if lambda_context is None:
            return UNBOUNDED_SECONDS
        return float(lambda_context.get_remaining_time_in_millis()) / 1000

    redelivered = int(record.attributes.approximate_receive_count or 1) > 1
    jobs = services.maintenance_jobs
    try:
        jobs.run_step(job_id, step, redelivered=redelivered, time_left=time_left)
    except Exception as exc:
        attempts = last_attempt(record, MAX_RECEIVES)
        if attempts is not None:
            logger.exception("maintenance step failed for good", extra={"job_id": job_id, "step": step})
            jobs.fail(job_id, f"step {step} failed after {attempts} attempts: {type(exc).__name__}")
        raise


def handle_batch(event: dict[str, Any], context: Any, services: MaintainerContainer) -> dict[str, Any]:
    """The maintainer's entry point."""
    return run_batch(event, context, functools.partial(run_step, services=services, lambda_context=context))
