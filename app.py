"""Composition root: the Chalice app, its middleware, blueprints, authorizer and Lambda entry points.

Each entry point has one container (functions/containers), built on first use and kept for the Lambda container's
life: the routes reach theirs through `routing.services()`, the queue and scheduled handlers are handed theirs.
What only the queue functions need (Powertools batch and idempotency, Pillow, the analysis code) is imported when
they first run, so the API's cold start does not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Chalice, CloudWatchEvent, SQSEvent

from functions import authorizer
from functions.api import (
    albums,
    analytics,
    audit,
    health,
    links,
    media,
    notifications,
    openapi,
    routing,
    shares,
    uploads,
    users,
)
from functions.api import erasure as erasure_api
from functions.api import export as export_api
from functions.api import maintenance as maintenance_api
from functions.api import moderation as moderation_api
from functions.api import upload_batches as upload_batches_api
from functions.api.middleware import http_middleware
from functions.containers import Lazy
from functions.containers.api import ApiContainer

if TYPE_CHECKING:
    from functions.containers.jobs import (
        AnalyzerContainer,
        JanitorContainer,
        NotifierContainer,
        ProcessorContainer,
        RecorderContainer,
    )
    from functions.containers.maintenance import MaintainerContainer

app = Chalice(app_name="media-vault")
app.register_middleware(http_middleware, "http")

app.register_blueprint(authorizer.bp)
for blueprint in (health.bp, openapi.bp, users.bp, uploads.bp, media.bp, shares.bp, notifications.bp):
    app.register_blueprint(blueprint)
app.register_blueprint(audit.bp)
app.register_blueprint(links.bp)
app.register_blueprint(albums.bp)
app.register_blueprint(analytics.bp)
app.register_blueprint(moderation_api.bp)
app.register_blueprint(maintenance_api.bp)
app.register_blueprint(export_api.bp)
app.register_blueprint(erasure_api.bp)
app.register_blueprint(upload_batches_api.bp)


def _processor_container() -> ProcessorContainer:
    from functions.containers.jobs import ProcessorContainer

    return ProcessorContainer.from_env()


def _analyzer_container() -> AnalyzerContainer:
    from functions.containers.jobs import AnalyzerContainer

    return AnalyzerContainer.from_env()


def _notifier_container() -> NotifierContainer:
    from functions.containers.jobs import NotifierContainer

    return NotifierContainer.from_env()


def _recorder_container() -> RecorderContainer:
    from functions.containers.jobs import RecorderContainer

    return RecorderContainer.from_env()


def _janitor_container() -> JanitorContainer:
    from functions.containers.jobs import JanitorContainer

    return JanitorContainer.from_env()


api_services: Lazy[ApiContainer] = Lazy(ApiContainer.from_env)
processor_services: Lazy[ProcessorContainer] = Lazy(_processor_container)
analyzer_services: Lazy[AnalyzerContainer] = Lazy(_analyzer_container)
janitor_services: Lazy[JanitorContainer] = Lazy(_janitor_container)
notifier_services: Lazy[NotifierContainer] = Lazy(_notifier_container)
recorder_services: Lazy[RecorderContainer] = Lazy(_recorder_container)
routing.serve(api_services)

# Placeholder ARNs: infra/template.yaml points the event sources at the stack's own queues.
QUEUE_ARN_PLACEHOLDER = "arn:aws:sqs:us-east-1:000000000000:media-vault-processing"
ANALYSIS_QUEUE_ARN_PLACEHOLDER = "arn:aws:sqs:us-east-1:000000000000:media-vault-analysis"
NOTIFICATIONS_QUEUE_ARN_PLACEHOLDER = "arn:aws:sqs:us-east-1:000000000000:media-vault-notifications"


@app.on_sqs_message(queue_arn=QUEUE_ARN_PLACEHOLDER, batch_size=10, name="processor")
def processor(event: SQSEvent) -> dict[str, Any]:
    """S3 object-created notifications, delivered through SQS."""
    from functions.processing.handler import handle_batch

    return handle_batch(event.to_dict(), event.context, processor_services())


@app.on_sqs_message(queue_arn=ANALYSIS_QUEUE_ARN_PLACEHOLDER, batch_size=5, name="analyzer")
def analyzer(event: SQSEvent) -> dict[str, Any]:
    """Moderation and description requests for ready items."""
    from functions.processing.analysis import handle_batch

    return handle_batch(event.to_dict(), event.context, analyzer_services())


@app.on_sqs_message(queue_arn=NOTIFICATIONS_QUEUE_ARN_PLACEHOLDER, batch_size=10, name="notifier")
def notifier(event: SQSEvent) -> dict[str, Any]:
    """Sharing events: in-app notifications and emails for grants made and removed."""
    from functions.notifications.handler import handle_batch

    return handle_batch(event.to_dict(), event.context, notifier_services())


@app.lambda_function(name="recorder")
def recorder(event: dict[str, Any], context: Any) -> dict[str, int]:
    """The API's audit entries and analytics counts, delivered from its log group by a subscription filter."""
    from functions.recorder import handle

    return handle(event, recorder_services())


@app.schedule("rate(1 hour)", name="janitor")
def janitor(event: CloudWatchEvent) -> dict[str, int]:
    """Hourly upkeep: uploads whose bytes never came give their quota back; old trash, old versions of originals,
    ended grants and finished exports are deleted for good. Counts go out as metrics and come back as a summary."""
    from functions.processing.janitor import handle

    return handle(event.context, janitor_services())


def _maintainer_container() -> MaintainerContainer:
    from functions.containers.maintenance import MaintainerContainer

    return MaintainerContainer.from_env()


maintainer_services: Lazy[MaintainerContainer] = Lazy(_maintainer_container)
MAINTENANCE_QUEUE_ARN_PLACEHOLDER = "arn:aws:sqs:us-east-1:000000000000:media-vault-maintenance"


@app.on_sqs_message(queue_arn=MAINTENANCE_QUEUE_ARN_PLACEHOLDER, batch_size=1, name="maintainer")
def maintainer(event: SQSEvent) -> dict[str, Any]:
    """Admins' maintenance jobs (reprocess, reconcile), one bounded step per message."""
    from functions.processing.maintainer import handle_batch

    return handle_batch(event.to_dict(), event.context, maintainer_services())
