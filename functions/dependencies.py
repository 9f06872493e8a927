"""Builds each service once per container, lazily, from the settings (the composition root's half)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config

from shared.adapters.analysis import LocalAnalyst, SqsAnalysisRequests
from shared.adapters.dynamo import DynamoMediaRepository, DynamoQuotaLedger, DynamoSettingsStore, DynamoUserRepository
from shared.adapters.identity import JwksCache, TokenVerifier
from shared.adapters.keycloak_admin import KeycloakAdmin
from shared.adapters.storage import S3Storage
from shared.config import get_settings
from shared.domain.analysis import AnalysisOnReady, DescriptionRequests, MediaAnalyzer
from shared.domain.library import MediaLibrary
from shared.domain.maintenance import Janitor
from shared.domain.processing import MediaProcessor, ObjectCreated
from shared.domain.uploads import UploadLimits, UploadService
from shared.domain.users import UserAdministration, UserDirectory
from shared.observability import logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig


@lru_cache(maxsize=1)
def s3_client() -> Any:
    """One S3 client per container; SigV4 so presigned URLs carry a real signature."""
    settings = get_settings()
    return boto3.client(
        "s3", region_name=settings.region, config=Config(signature_version="s3v4", s3={"addressing_style": "path"})
    )


@lru_cache(maxsize=1)
def storage() -> S3Storage:
    """The media bucket."""
    return S3Storage(s3_client(), get_settings().media_bucket)


@lru_cache(maxsize=1)
def repository() -> DynamoMediaRepository:
    """The media table."""
    settings = get_settings()
    return DynamoMediaRepository(
        settings.media_table, settings.region, cursor_key=settings.cursor_key, users_table=settings.users_table
    )


@lru_cache(maxsize=1)
def user_repository() -> DynamoUserRepository:
    """The users table."""
    settings = get_settings()
    return DynamoUserRepository(settings.users_table, settings.region)


@lru_cache(maxsize=1)
def user_directory() -> UserDirectory:
    """Vault accounts."""
    return UserDirectory(user_repository(), default_quota_bytes=get_settings().default_quota_bytes)


@lru_cache(maxsize=1)
def user_administration() -> UserAdministration:
    """Admin view of realm users through Keycloak's Admin REST API."""
    settings = get_settings()
    identity = KeycloakAdmin(
        settings.oidc_issuer, settings.keycloak_admin_client_id, settings.keycloak_admin_client_secret
    )
    return UserAdministration(identity, user_repository())


@lru_cache(maxsize=1)
def token_verifier() -> TokenVerifier:
    """Verifier with this container's JWKS cache."""
    settings = get_settings()
    return TokenVerifier(
        issuer=settings.oidc_issuer,
        audience=settings.oidc_audience,
        keys=JwksCache(
            settings.jwks_url,
            min_refetch_seconds=settings.oidc_jwks_refetch_seconds,
            max_age_seconds=settings.oidc_jwks_max_age_seconds,
        ),
        leeway_seconds=settings.oidc_leeway_seconds,
        allowed_clients=settings.oidc_allowed_clients,
    )


@lru_cache(maxsize=1)
def quota_ledger() -> DynamoQuotaLedger:
    """Reserved bytes per owner."""
    settings = get_settings()
    return DynamoQuotaLedger(settings.users_table, settings.region)


@lru_cache(maxsize=1)
def upload_service() -> UploadService:
    """Issues uploads and versions."""
    settings = get_settings()
    limits = UploadLimits(
        allowed_content_types=settings.allowed_content_types,
        max_upload_bytes=settings.max_upload_bytes,
        max_image_bytes=settings.max_image_bytes,
        multipart_threshold_bytes=settings.multipart_threshold_bytes,
        multipart_part_bytes=settings.multipart_part_bytes,
        url_ttl_seconds=settings.upload_url_ttl_seconds,
    )
    return UploadService(repository(), storage(), quota_ledger(), limits)


@lru_cache(maxsize=1)
def media_library() -> MediaLibrary:
    """Reads and manages media; a purge gives the bytes back to the owner's quota."""
    return MediaLibrary(
        repository(), storage(), quota_ledger(), url_ttl_seconds=get_settings().download_url_ttl_seconds
    )


@lru_cache(maxsize=1)
def media_processor() -> MediaProcessor:
    """Processes uploads; Pillow (and PyAV, for videos) are imported here, on the processing path only."""
    from shared.media.render import LocalRenderer, VideoLimits

    settings = get_settings()
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
        repository(),
        storage(),
        renderer,
        allowed_content_types=settings.allowed_content_types,
        lease_seconds=settings.processing_lease_seconds,
        on_ready=AnalysisOnReady(settings_store(), analysis_requests()),
    )


@lru_cache(maxsize=1)
def settings_store() -> DynamoSettingsStore:
    """Admin-controlled pipeline settings."""
    settings = get_settings()
    return DynamoSettingsStore(settings.settings_table, settings.region)


@lru_cache(maxsize=1)
def analysis_requests() -> SqsAnalysisRequests:
    """The analyzer's queue."""
    settings = get_settings()
    return SqsAnalysisRequests(boto3.client("sqs", region_name=settings.region), settings.analysis_queue_url)


@lru_cache(maxsize=1)
def media_analyzer() -> MediaAnalyzer:
    """Moderation and descriptions (numpy/onnxruntime load on first use, in the analyzer function only)."""
    settings = get_settings()
    store = settings_store()
    analyst = LocalAnalyst(
        moderation_provider=settings.moderation_provider,
        description_provider=settings.description_provider,
        rekognition=boto3.client("rekognition", region_name=settings.region)
        if settings.moderation_provider == "rekognition"
        else None,
        bedrock=boto3.client("bedrock-runtime", region_name=settings.region)
        if settings.description_provider == "bedrock"
        else None,
        bedrock_model_id=settings.bedrock_model_id,
    )
    return MediaAnalyzer(repository(), storage().read_small, analyst, store)


@lru_cache(maxsize=1)
def description_requests() -> DescriptionRequests:
    """Owner-requested descriptions."""
    return DescriptionRequests(repository(), analysis_requests())


@lru_cache(maxsize=1)
def idempotency_config() -> IdempotencyConfig:
    """One processing run per (bucket, key, version id, sequencer); results kept a day."""
    # Imported here: only the processor uses idempotency, the API's cold start skips it.
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="[bucket, key, version_id, sequencer]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=24 * 3600,
    )


@lru_cache(maxsize=1)
def process_once() -> Callable[..., str]:
    """The processor behind Powertools idempotency (state in the idempotency table)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

    persistence = DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table)
    config = idempotency_config()

    # Inside the idempotent call: a replayed delivery returns the stored outcome and counts nothing.
    run: Callable[..., str] = idempotent_function(
        data_keyword_argument="event", persistence_store=persistence, config=config
    )(process_directly())
    return run


@lru_cache(maxsize=1)
def process_directly() -> Callable[[ObjectCreated, float | None], str]:
    """Process one object by a deadline, log and count its outcome (MediaDiscarded: bytes deleted unprocessed)."""

    def process(event: ObjectCreated, deadline: float | None = None) -> str:
        outcome = media_processor().process(event, deadline)
        extra = {"key": event.key, "version_id": event.version_id, "outcome": outcome.value}
        logger.info("processed object", extra=extra)
        metrics.add_metric(name=f"Media{outcome.value.capitalize()}", unit=MetricUnit.Count, value=1)
        return outcome.value

    return process


@lru_cache(maxsize=1)
def janitor() -> Janitor:
    """Scheduled upkeep: abandoned uploads, old trash."""
    settings = get_settings()
    return Janitor(
        repository(),
        storage(),
        media_library().purge_item,
        upload_max_age=timedelta(hours=settings.abandoned_upload_hours),
        trash_retention=timedelta(days=settings.trash_retention_days),
    )


_BUILDERS = (
    s3_client,
    storage,
    repository,
    user_repository,
    user_directory,
    user_administration,
    token_verifier,
    quota_ledger,
    upload_service,
    media_library,
    media_processor,
    idempotency_config,
    process_once,
    process_directly,
    settings_store,
    analysis_requests,
    media_analyzer,
    description_requests,
    janitor,
)


def reset() -> None:
    """Forget every built service (tests switch environments between cases)."""
    for builder in _BUILDERS:
        builder.cache_clear()
    get_settings.cache_clear()
