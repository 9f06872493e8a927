"""Maintenance jobs' services: built the same way for the API (submit, inspect) and the maintainer (run steps)."""

from __future__ import annotations

import uuid
from functools import cached_property

from functions.containers.aws import AwsContainer
from functions.containers.erasure import erasure_runner
from functions.containers.export import export_builder
from shared.adapters.dead_letters import SqsDeadLetters
from shared.adapters.dynamo.inventory import DynamoMaintenanceItems, DynamoQuotaCounters
from shared.adapters.dynamo.jobs import DynamoJobStore
from shared.adapters.maintenance import S3Inventory, SqsJobQueue, SqsProcessingRequests
from shared.domain.jobs import JobKind, MaintenanceJobs, Reprocessing
from shared.domain.reconcile import Reconciler


def reprocessing(container: AwsContainer) -> Reprocessing:
    """Items sent back through the processor: reopened on the media table, announced on the processing queue."""
    settings = container.settings
    sqs = container.boto_session.client("sqs")
    items = DynamoMaintenanceItems(settings.media_table, settings.region)
    return Reprocessing(items, SqsProcessingRequests(sqs, settings.processing_queue_url, settings.media_bucket))


def maintenance_jobs(container: AwsContainer) -> MaintenanceJobs:
    """Jobs on the jobs table, their steps on the maintenance queue."""
    settings = container.settings
    sqs = container.boto_session.client("sqs")
    items = DynamoMaintenanceItems(settings.media_table, settings.region)
    reprocess = reprocessing(container)
    reconciler = Reconciler(
        S3Inventory(container.s3_client, settings.media_bucket, container.storage),
        items,
        DynamoQuotaCounters(settings.users_table, settings.region),
        reprocess,
    )
    store = DynamoJobStore(settings.jobs_table, settings.region)
    return MaintenanceJobs(
        store,
        SqsJobQueue(sqs, settings.maintenance_queue_url),
        items,
        reprocess,
        new_id=lambda: uuid.uuid4().hex,
        runners={
            JobKind.RECONCILE: reconciler,
            JobKind.EXPORT: export_builder(container, store),
            JobKind.ERASE: erasure_runner(container),
        },
    )


def dead_letters(container: AwsContainer) -> SqsDeadLetters:
    """The processing, analysis and notifications queues' dead letters."""
    settings = container.settings
    sources = {
        "processing": settings.processing_queue_url,
        "analysis": settings.analysis_queue_url,
        "notifications": settings.notifications_queue_url,
    }
    return SqsDeadLetters(container.boto_session.client("sqs"), sources)


class MaintainerContainer(AwsContainer):
    """Runs maintenance job steps."""

    @cached_property
    def maintenance_jobs(self) -> MaintenanceJobs:
        """Reprocess and reconcile jobs."""
        return maintenance_jobs(self)
