"""One frozen Settings object: every environment variable the code reads is named here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache

from shared.domain.settings import KNOWN_CONTENT_TYPES

_LAMBDA_MB_PER_VCPU = 1769
# Public on purpose: it signs cursors only where nothing is worth protecting (make run, tests).
_DEV_CURSOR_KEY = "media-vault-local-cursor-signing-key"


@dataclass(frozen=True)
class Settings:
    """Runtime configuration of every function, read once from the environment."""

    stage: str = "local"
    region: str = "us-east-1"
    media_bucket: str = "media-vault-local-media"
    media_table: str = "media-vault-local-media"
    users_table: str = "media-vault-local-users"
    shares_table: str = "media-vault-local-shares"
    albums_table: str = "media-vault-local-albums"
    audit_table: str = "media-vault-local-audit"
    # Audit entries expire (DynamoDB TTL) this long after they were written.
    audit_retention_days: int = 400
    # How the API's audit entries and analytics counts reach their tables (shared/adapters/records.py): "direct"
    # (during the request), "stdout" (Lambda: a log subscription feeds the recorder), "file:<path>" (local spool).
    record_delivery: str = "direct"
    # Analytics counters (per scope and day) and the markers that keep a redelivered event from counting twice.
    analytics_table: str = "media-vault-local-analytics"
    processing_queue_url: str = ""
    # Identity: the realm URL is the token issuer; the API's client id must be in `aud`.
    oidc_issuer: str = "http://127.0.0.1:8080/realms/media-vault"
    oidc_audience: str = "media-vault-api"
    oidc_jwks_url: str = ""
    oidc_leeway_seconds: int = 30
    # Clients (`azp`) whose access tokens the API accepts: the web console and the CLI, not service accounts.
    oidc_allowed_clients: tuple[str, ...] = ("media-vault-web", "media-vault-cli")
    # Where the vault roles are in the token: realm roles, or client roles such as
    # `resource_access.media-vault-api.roles`.
    oidc_roles_claim: str = "realm_access.roles"
    # An unknown kid refetches the JWKS at most this often; keys are refreshed at least every max age.
    oidc_jwks_refetch_seconds: int = 10
    oidc_jwks_max_age_seconds: int = 900
    # Service-account client for Keycloak's Admin REST API (admin features: users and roles).
    keycloak_admin_client_id: str = "media-vault-admin-cli"
    keycloak_admin_client_secret: str = ""
    # Uploads and renditions.
    upload_url_ttl_seconds: int = 300
    download_url_ttl_seconds: int = 300
    max_upload_bytes: int = 5 * 1024 * 1024 * 1024
    max_image_bytes: int = 200 * 1024 * 1024
    # Larger files go through S3 multipart (resumable); parts are this size (S3 allows 5 MiB..5 GiB).
    multipart_threshold_bytes: int = 64 * 1024 * 1024
    multipart_part_bytes: int = 16 * 1024 * 1024
    default_quota_bytes: int = 10 * 1024 * 1024 * 1024
    # Every type the sniffing pipeline recognises (one list, shared with the settings an admin may narrow).
    allowed_content_types: tuple[str, ...] = KNOWN_CONTENT_TYPES
    max_image_pixels: int = 100_000_000
    image_time_budget_seconds: int = 60
    # Threads one photo's resizes and encodes use; 0: automatic (see image_threads).
    media_image_threads: int = 0
    # Set by Lambda, whose CPU comes with memory.
    aws_lambda_function_memory_size: int = 0
    max_video_seconds: int = 600
    max_video_pixels: int = 7680 * 4320
    video_long_side: int = 1280
    video_time_budget_seconds: int = 300
    # A processing claim older than this is taken over (its attempt is presumed dead); above the
    # function timeout, below the queue's visibility timeout.
    processing_lease_seconds: int = 600
    # Taken off the invocation's remaining time: what writing an attempt's outcome (and removing its
    # renditions) may need after processing stops. Budgets plus this fit the function timeout (a test checks).
    processing_outcome_margin_seconds: int = 15
    # Deliveries before a notification goes to the dead-letter queue (the queue's maxReceiveCount).
    processing_max_receives: int = 3
    # A declared upload whose bytes never arrived is removed (and its quota released) after this long.
    abandoned_upload_hours: int = 24
    # Items stay in the trash this long, then are deleted for good.
    trash_retention_days: int = 30
    # Versions of an original stay this long after a newer one replaced them (history and restore see them), then
    # the janitor deletes them and gives their bytes back; 0 keeps every version. The janitor is the one owner of
    # this rule for originals/ (the bucket's lifecycle rule covers only renditions/, which no quota counts).
    noncurrent_version_retention_days: int = 30
    # An expired grant stays listed in /shares/outgoing (so its grantor can extend it) this long, then goes.
    expired_share_retention_hours: int = 0
    # Finished export archives (exports/ in the media bucket) are deleted this long after they were written.
    export_retention_days: int = 7
    idempotency_table: str = "media-vault-local-idempotency"
    settings_table: str = "media-vault-local-settings"
    analysis_queue_url: str = ""
    # Moderation: nudenet (offline ONNX model, ml layer), rekognition, or none.
    moderation_provider: str = "nudenet"
    # Descriptions: offline (facts only) or bedrock (Converse API with the image).
    description_provider: str = "offline"
    bedrock_model_id: str = "anthropic.claude-3-haiku-20240307-v1:0"
    # HMAC-SHA256 key of listing cursors; deployed stages get it from Secrets Manager (infra/template.yaml).
    cursor_signing_key: str = ""
    # Sharing notifications: the queue the API announces grants on, the notifier's table, and its email.
    notifications_queue_url: str = ""
    notifications_table: str = "media-vault-local-notifications"
    notification_retention_days: int = 90
    # SES sender (a verified identity); empty: in-app notifications only.
    email_sender: str = ""
    # The web console's origin (where its index.html is served); notification emails link to its "Shared with me"
    # page there (never to the media itself). Locally `make run` serves it on :8090; deployed stages set CONSOLE_URL.
    console_url: str = "http://127.0.0.1:8090"

    # Share links are handed out as this URL followed by "/<token>": the API's own GET /links route by default;
    # a deployed stage points it at its API stage URL + "/links" (or a console page that calls that route).
    share_link_base_url: str = "http://127.0.0.1:8000/links"

    # Maintenance jobs (reprocess, reconcile): their table, and the queue their worker (the maintainer) drains.
    jobs_table: str = "media-vault-local-jobs"
    maintenance_queue_url: str = ""

    # Abuse limits (shared/domain/limits.py): requests per window by one caller (link opens: by one link), counted
    # on the limits table; 0 turns a limit off. API Gateway's stage throttling and the WAF rate rule sit in front.
    limits_table: str = "media-vault-local-limits"
    rate_limit_window_seconds: int = 60
    # Files declared per window (a batch counts each file): a bulk upload of photos on a fast link stays under it.
    rate_limit_uploads: int = 1200
    rate_limit_describe: int = 20
    rate_limit_reprocess: int = 10
    rate_limit_export: int = 5
    rate_limit_link_opens: int = 60

    @property
    def cursor_key(self) -> str:
        """CURSOR_SIGNING_KEY, or a fixed development key on the local and test stages only ("" elsewhere)."""
        if self.cursor_signing_key:
            return self.cursor_signing_key
        return _DEV_CURSOR_KEY if self.stage in ("local", "test") else ""

    @property
    def jwks_url(self) -> str:
        """JWKS location: explicit, or Keycloak's layout under the issuer."""
        return self.oidc_jwks_url or f"{self.oidc_issuer}/protocol/openid-connect/certs"

    @property
    def image_threads(self) -> int:
        """MEDIA_IMAGE_THREADS, else one thread per CPU this process may run on (at most 4).

        On Lambda, CPU comes with memory, one vCPU's worth per 1,769 MB, whatever the CPU count shows: below
        that, a second thread only adds overhead (3-10% more CPU time per photo in `make bench` runs).
        """
        if self.media_image_threads > 0:
            return min(self.media_image_threads, 8)
        cpus = len(os.sched_getaffinity(0))
        if self.aws_lambda_function_memory_size:
            cpus = min(cpus, self.aws_lambda_function_memory_size // _LAMBDA_MB_PER_VCPU)
        return max(1, min(cpus, 4))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables named after the fields, upper-cased."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in fields(cls):
            raw = env.get(field.name.upper())
            if raw is None or raw == "":
                continue
            default = field.default
            if isinstance(default, bool):
                values[field.name] = raw.lower() in ("1", "true", "yes")
            elif isinstance(default, int):
                values[field.name] = int(raw)
            elif isinstance(default, tuple):
                values[field.name] = tuple(p.strip() for p in raw.split(",") if p.strip())
            else:
                values[field.name] = raw
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if region and "region" not in values:
            values["region"] = region
        return cls(**values)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached: Lambda containers read the environment once)."""
    return Settings.from_env()
