"""Data exports' services: the API starts and shows them, the maintainer builds their archives."""

from __future__ import annotations

import time
import uuid

from functions.containers.aws import AwsContainer
from shared.adapters.dynamo.exports import DynamoExportClaims, DynamoPersonalRecords
from shared.adapters.export_archive import S3ExportBucket
from shared.domain.export import DataExports, ExportBuilder
from shared.domain.jobs import Job, JobStore, MaintenanceJobs


def export_bucket(container: AwsContainer) -> S3ExportBucket:
    """Archives written to, and linked from, the media bucket."""
    return S3ExportBucket(container.s3_client, container.settings.media_bucket, container.storage)


def export_builder(container: AwsContainer, store: JobStore) -> ExportBuilder:
    """The export job's runner: the person's records through the shared repositories; progress on the job."""
    records = DynamoPersonalRecords(
        container.media_repository,
        container.grant_repository,
        container.album_repository,
        container.notification_repository,
        container.audit_log,
    )

    def save_progress(job: Job) -> None:
        store.commit(job, expected_step=job.step)  # the step is unchanged: a later delivery still runs it

    return ExportBuilder(
        records, export_bucket(container), container.notification_repository, save_progress=save_progress,
        clock=time.monotonic,
    )  # fmt: skip


def data_exports(container: AwsContainer, jobs: MaintenanceJobs) -> DataExports:
    """One export per person at a time (claims on the jobs table); links as short-lived as downloads'."""
    settings = container.settings
    return DataExports(
        jobs,
        DynamoExportClaims(settings.jobs_table, settings.region),
        export_bucket(container),
        new_id=lambda: uuid.uuid4().hex,
        link_ttl_seconds=settings.download_url_ttl_seconds,
    )
