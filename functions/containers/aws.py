"""The AWS side every function shares: clients, the bucket, and the one place its repositories are built."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config

from functions.containers import Container
from shared.adapters.analysis import SqsAnalysisRequests
from shared.adapters.dynamo.albums import DynamoAlbumRepository
from shared.adapters.dynamo.analytics import DynamoCounterStore
from shared.adapters.dynamo.audit import DynamoAuditLog
from shared.adapters.dynamo.grants import DynamoGrantRepository
from shared.adapters.dynamo.media import DynamoMediaRepository
from shared.adapters.dynamo.notifications import DynamoNotificationRepository
from shared.adapters.dynamo.quota import DynamoQuotaLedger
from shared.adapters.dynamo.settings import DynamoSettingsStore, environment_defaults
from shared.adapters.dynamo.users import DynamoUserRepository
from shared.adapters.storage import S3Storage
from shared.domain.analytics import AnalyticsRecorder, CounterAdder
from shared.observability import logger, metrics


class AwsContainer(Container):
    """Clients, storage and repositories; an entry point's container adds its services on top."""

    @cached_property
    def boto_session(self) -> boto3.session.Session:
        """The session this container's clients share (and whose credentials sign URLs)."""
        return boto3.session.Session(region_name=self.settings.region)

    @cached_property
    def s3_client(self) -> Any:
        """SigV4, so presigned URLs carry a real signature; path-style, as the emulators serve it."""
        return self.boto_session.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))

    @cached_property
    def storage(self) -> S3Storage:
        """The media bucket."""
        return S3Storage(self.s3_client, self.settings.media_bucket, self.boto_session.get_credentials())

    @cached_property
    def media_repository(self) -> DynamoMediaRepository:
        """The media table (deletes give bytes back on the users table in the same transaction)."""
        settings = self.settings
        return DynamoMediaRepository(
            settings.media_table, settings.region, cursor_key=settings.cursor_key, users_table=settings.users_table
        )

    @cached_property
    def user_repository(self) -> DynamoUserRepository:
        """The users table."""
        return DynamoUserRepository(self.settings.users_table, self.settings.region)

    @cached_property
    def grant_repository(self) -> DynamoGrantRepository:
        """The shares table: grants on media (the API reads them; a purge deletes an item's)."""
        settings = self.settings
        return DynamoGrantRepository(settings.shares_table, settings.region, cursor_key=settings.cursor_key)

    @cached_property
    def quota_ledger(self) -> DynamoQuotaLedger:
        """Reserved bytes per owner."""
        return DynamoQuotaLedger(self.settings.users_table, self.settings.region)

    @cached_property
    def settings_store(self) -> DynamoSettingsStore:
        """Admin-controlled settings (the environment's values until an admin changes them)."""
        settings = self.settings
        return DynamoSettingsStore(settings.settings_table, settings.region, defaults=environment_defaults(settings))

    @cached_property
    def analysis_requests(self) -> SqsAnalysisRequests:
        """The analyzer's queue."""
        return SqsAnalysisRequests(self.boto_session.client("sqs"), self.settings.analysis_queue_url)

    @cached_property
    def notification_repository(self) -> DynamoNotificationRepository:
        """The notifications table (the API lists and marks them read; the notifier writes them)."""
        settings = self.settings
        return DynamoNotificationRepository(
            settings.notifications_table,
            settings.region,
            cursor_key=settings.cursor_key,
            retention_days=settings.notification_retention_days,
        )

    @cached_property
    def album_repository(self) -> DynamoAlbumRepository:
        """The albums table (membership changes also write each item's album set in the media table)."""
        settings = self.settings
        return DynamoAlbumRepository(
            settings.albums_table, settings.media_table, settings.region, cursor_key=settings.cursor_key
        )

    @cached_property
    def analytics_store(self) -> DynamoCounterStore:
        """The analytics counters."""
        return DynamoCounterStore(self.boto_session.client("dynamodb"), self.settings.analytics_table)

    @cached_property
    def analytics_recorder(self) -> AnalyticsRecorder:
        """Counts events as they happen; a failed count is logged and metered, never raised."""

        def report(event_id: str, error: Exception) -> None:
            logger.warning("an analytics count was lost", extra={"event_id": event_id, "error": repr(error)})
            metrics.add_metric(name="AnalyticsWriteFailed", unit=MetricUnit.Count, value=1)

        return AnalyticsRecorder(self.counter_sink, on_failure=report)

    @property
    def counter_sink(self) -> CounterAdder:
        """Where the recorder's counts go: the store (a function that defers them overrides this)."""
        return self.analytics_store

    @cached_property
    def audit_log(self) -> DynamoAuditLog:
        """The audit log."""
        settings = self.settings
        return DynamoAuditLog(
            settings.audit_table,
            settings.region,
            retention_days=settings.audit_retention_days,
            cursor_key=settings.cursor_key,
        )
