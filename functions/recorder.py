"""The recorder function: batches of the API's record lines (a CloudWatch Logs subscription delivers them from the
API function's log group) -> audit entries and analytics counts in their tables.

A batch that fails raises: Lambda retries the asynchronous invocation, and every write of a batch is idempotent
(shared/domain/recording.py), so a retry completes what the failed attempt began.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from shared.adapters.records import decode_all
from shared.observability import logger, metrics

if TYPE_CHECKING:
    from functions.containers.jobs import RecorderContainer


def log_events(event: dict[str, Any]) -> tuple[str, list[str]]:
    """(batch id, messages) of a subscription delivery; a control message (the filter's test) carries none."""
    payload = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    if payload.get("messageType") != "DATA_MESSAGE":
        return "", []
    events = payload.get("logEvents", [])
    ids = "\n".join(str(e.get("id", "")) for e in events)
    batch_id = hashlib.sha256(f"{payload.get('logGroup', '')}\n{ids}".encode()).hexdigest()[:32]
    return batch_id, [str(e.get("message", "")) for e in events]


def subscription_event(log_group: str, stream: str, lines: list[tuple[str, int, str]]) -> dict[str, Any]:
    """The event CloudWatch Logs hands a subscribed function for (id, timestamp ms, message) lines."""
    payload = {
        "messageType": "DATA_MESSAGE",
        "owner": "000000000000",
        "logGroup": log_group,
        "logStream": stream,
        "subscriptionFilters": ["records"],
        "logEvents": [{"id": i, "timestamp": t, "message": m} for i, t, m in lines],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()}}


def handle(event: dict[str, Any], services: RecorderContainer) -> dict[str, int]:
    """Write one delivered batch; raises when a write fails (the whole batch is retried)."""
    batch_id, messages = log_events(event)
    records = decode_all(message.strip() for message in messages)
    written = services.record_writer.write(batch_id, records)
    logger.info(
        "recorded",
        extra={"batch": batch_id, "lines": len(messages), "entries": written.entries, "counters": written.counters},
    )
    metrics.add_metric(name="AuditEntriesRecorded", unit=MetricUnit.Count, value=written.entries)
    return {"records": len(records), "entries": written.entries, "events": written.events, "counters": written.counters}
