"""The janitor's entry point: one sweep bounded by the invocation's time left, its counts as metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from shared.observability import logger, metrics

if TYPE_CHECKING:
    from functions.containers.jobs import JanitorContainer

# Counter name in the summary -> metric name (CloudWatch: namespace MediaVault, dimension service).
METRIC_NAMES = {
    "expired_uploads": "JanitorExpiredUploads",
    "purged_trash": "JanitorPurgedTrash",
    "pruned_versions": "JanitorPrunedVersions",
    "pruned_version_bytes": "JanitorPrunedVersionBytes",
    "expired_shares": "JanitorExpiredShares",
    "cascaded_reshares": "JanitorCascadedReshares",
    "deleted_exports": "JanitorDeletedExports",
}


def handle(context: Any, services: JanitorContainer) -> dict[str, int]:
    """Sweep until done or out of time; every count is a metric (zeros too: a dashboard tells idle from absent)."""
    time_left = (lambda: context.get_remaining_time_in_millis() / 1000) if context is not None else (lambda: 1e9)
    try:
        summary = services.janitor.sweep(datetime.now(UTC), time_left)
        for name, value in summary.items():
            unit = MetricUnit.Bytes if name.endswith("_bytes") else MetricUnit.Count
            metrics.add_metric(name=METRIC_NAMES.get(name, name), unit=unit, value=value)
        logger.info("janitor sweep", extra={"summary": summary})
        return summary
    finally:
        metrics.flush_metrics(raise_on_empty_metrics=False)
