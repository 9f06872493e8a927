"""Composition root: the Chalice app, its middleware, blueprints, authorizer and Lambda entry points."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalice.app import Chalice, CloudWatchEvent, SQSEvent

from functions import authorizer, dependencies
from functions.api import health, media, openapi, uploads, users
from functions.api.middleware import http_middleware
from functions.processing import analysis
from functions.processing.handler import handle_batch

app = Chalice(app_name="media-vault")
app.register_middleware(http_middleware, "http")

app.register_blueprint(authorizer.bp)
for blueprint in (health.bp, openapi.bp, users.bp, uploads.bp, media.bp):
    app.register_blueprint(blueprint)


# Placeholder ARNs: infra/template.yaml points the event sources at the stack's own queues.
QUEUE_ARN_PLACEHOLDER = "arn:aws:sqs:us-east-1:000000000000:media-vault-processing"
ANALYSIS_QUEUE_ARN_PLACEHOLDER = "arn:aws:sqs:us-east-1:000000000000:media-vault-analysis"


@app.on_sqs_message(queue_arn=QUEUE_ARN_PLACEHOLDER, batch_size=10, name="processor")
def processor(event: SQSEvent) -> dict[str, Any]:
    """S3 object-created notifications, delivered through SQS."""
    return handle_batch(event.to_dict(), event.context)


@app.on_sqs_message(queue_arn=ANALYSIS_QUEUE_ARN_PLACEHOLDER, batch_size=5, name="analyzer")
def analyzer(event: SQSEvent) -> dict[str, Any]:
    """Moderation and description requests for ready items."""
    return analysis.handle_batch(event.to_dict(), event.context)


@app.schedule("rate(1 hour)", name="janitor")
def janitor(event: CloudWatchEvent) -> dict[str, int]:
    """Hourly upkeep: uploads whose bytes never came give their quota back; old trash is deleted for good."""
    return dependencies.janitor().sweep(datetime.now(UTC))
