"""The queue and scheduled functions' services: processor, analyzer, notifier, janitor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

import boto3
from aws_lambda_powertools.metrics import MetricUnit

from functions.containers.aws import AwsContainer
from shared.adapters.analysis import LocalAnalyst
from shared.adapters.email import SesNotificationMailer
from shared.domain.analysis import AnalysisOnReady, MediaAnalyzer
from shared.domain.library import MediaLibrary
from shared.domain.maintenance import Janitor
from shared.domain.processing import MediaProcessor, ObjectCreated
from shared.domain.recording import RecordWriter
from shared.domain.retention import Chore
from shared.domain.share_notifier import ShareNotifier
from shared.observability import logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

ProcessObject = Callable[[ObjectCreated, float | None], str]


class ProcessorContainer(AwsContainer):
    """Uploads into renditions, at most once per object version."""

    @cached_property
    def media_processor(self) -> MediaProcessor:
        """Processes uploads; Pillow (and PyAV, for videos) load here, on the processing path only."""
        from shared.media.render import LocalRenderer, VideoLimits

        settings = self.settings
        renderer = LocalRenderer(
            max_image_pixels=settings.max_image_pixels,
            image_budget_s=settings.image_time_budget_seconds,
            image_threads=settings.image_threads,
            video=VideoLimits(
                max_duration_s=settings.max_video_seconds,
                max_pixels=settings.max_video_pixels,
                transcode_long_side=settings.video_long_side,
                time_budget_s=settings.video_time_budget_seconds,
            ),
        )
        return MediaProcessor(
            self.media_repository,
            self.storage,
            renderer,
            allowed_content_types=settings.allowed_content_types,
            lease_seconds=settings.processing_lease_seconds,
            on_ready=AnalysisOnReady(self.settings_store, self.analysis_requests),
            on_outcome=self.analytics_recorder.processed,
        )

    @cached_property
    def idempotency_config(self) -> IdempotencyConfig:
        """One processing run per (bucket, key, version id, sequencer); results kept a day."""
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

        return IdempotencyConfig(
            event_key_jmespath="[bucket, key, version_id, sequencer]",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=24 * 3600,
        )

    @cached_property
    def process_directly(self) -> ProcessObject:
        """Process one object by a deadline, log and count its outcome (MediaDiscarded: bytes deleted unprocessed)."""

        def process(event: ObjectCreated, deadline: float | None = None) -> str:
            # Looked up per call: the processor is built on first use, not with this function.
            outcome = self.media_processor.process(event, deadline)
            extra = {"key": event.key, "version_id": event.version_id, "outcome": outcome.value}
            logger.info("processed object", extra=extra)
            metrics.add_metric(name=f"Media{outcome.value.capitalize()}", unit=MetricUnit.Count, value=1)
            return outcome.value

        return process

    @cached_property
    def process_once(self) -> Callable[..., str]:
        """process_directly behind Powertools idempotency (state in the idempotency table)."""
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

        persistence = DynamoDBPersistenceLayer(table_name=self.settings.idempotency_table)
        # Inside the idempotent call: a replayed delivery returns the stored outcome and counts nothing.
        run: Callable[..., str] = idempotent_function(
            data_keyword_argument="event", persistence_store=persistence, config=self.idempotency_config
        )(self.process_directly)
        return run


class AnalyzerContainer(AwsContainer):
    """Moderation and descriptions of ready items."""

    @cached_property
    def media_analyzer(self) -> MediaAnalyzer:
        """numpy/onnxruntime load on first use, in the analyzer function only."""
        settings = self.settings
        analyst = LocalAnalyst(
            moderation_provider=settings.moderation_provider,
            # Admins choose the description provider (the store's short cache): Bedrock's client comes on first use.
            description_provider=lambda: self.settings_store.load().description_provider,
            rekognition=boto3.client("rekognition", region_name=settings.region)
            if settings.moderation_provider == "rekognition"
            else None,
            bedrock_factory=lambda: boto3.client("bedrock-runtime", region_name=settings.region),
            bedrock_model_id=settings.bedrock_model_id,
        )
        return MediaAnalyzer(
            self.media_repository,
            self.storage.read_small,
            analyst,
            self.settings_store,
            on_flagged=self.analytics_recorder.flagged,
        )


class NotifierContainer(AwsContainer):
    """Sharing events into notifications and emails."""

    @cached_property
    def mailer(self) -> SesNotificationMailer | None:
        """SES from the configured sender; None (in-app only) when no sender is configured."""
        settings = self.settings
        if not settings.email_sender:
            return None
        return SesNotificationMailer(self.boto_session.client("ses"), settings.email_sender, settings.console_url)

    @cached_property
    def share_notifier(self) -> ShareNotifier:
        """Notifies grantees of grants made and removed."""
        return ShareNotifier(self.notification_repository, self.user_repository, self.media_repository, self.mailer)


class RecorderContainer(AwsContainer):
    """The API's deferred records into the audit log and the analytics counters."""

    @cached_property
    def record_writer(self) -> RecordWriter:
        """Writes delivered batches, each write idempotent."""
        return RecordWriter(self.audit_log, self.analytics_store)


class JanitorContainer(AwsContainer):
    """Hourly upkeep."""

    @cached_property
    def janitor(self) -> Janitor:
        """Abandoned uploads give their quota back; old trash is deleted for good."""
        settings = self.settings
        library = MediaLibrary(
            self.media_repository,
            self.storage,
            url_ttl_seconds=settings.download_url_ttl_seconds,
            grants=self.grant_repository,
            albums=self.album_repository,
            on_purged=self.analytics_recorder.purged,
        )
        return Janitor(
            self.media_repository,
            self.storage,
            library.purge_item,
            upload_max_age=timedelta(hours=settings.abandoned_upload_hours),
            trash_retention=lambda: timedelta(days=self.settings_store.load().trash_retention_days),
            chores=retention_chores(self, library),
        )


def retention_chores(container: AwsContainer, library: MediaLibrary) -> list[Chore]:
    """The janitor's retention chores: old versions of originals, ended grants, finished exports."""
    from shared.adapters.dynamo.expiry import DynamoEndedGrants
    from shared.adapters.dynamo.versions import DynamoVersionedItems
    from shared.adapters.exports import S3ExportArchives
    from shared.domain.retention import ExportRetention, ShareExpiry, VersionRetention
    from shared.domain.sharing import Sharing

    settings = container.settings
    # Only the cascade is used: reshares of an ended grant go as a revoke's do, without telling anyone (the grant
    # gave nothing since it expired or was used up; a link has nobody to tell).
    sharing = Sharing(library, container.media_repository, container.grant_repository, container.user_repository)
    return [
        VersionRetention(
            DynamoVersionedItems(settings.media_table, settings.users_table, settings.region),
            container.storage,
            timedelta(days=settings.noncurrent_version_retention_days),
        ),
        ShareExpiry(
            DynamoEndedGrants(settings.shares_table, settings.region),
            lambda ended: sharing.cascade(ended, notify=False),
            grace=timedelta(hours=settings.expired_share_retention_hours),
        ),
        ExportRetention(
            S3ExportArchives(container.s3_client, settings.media_bucket),
            timedelta(days=settings.export_retention_days),
        ),
    ]
