"""The API function's services."""

from __future__ import annotations

from functools import cached_property

from functions.api.recording import AccessWitness
from functions.containers.aws import AwsContainer
from shared.adapters.dead_letters import SqsDeadLetters
from shared.adapters.dynamo.audit import DynamoAuditLog
from shared.adapters.dynamo.review import DynamoReviewRepository
from shared.adapters.keycloak_admin import KeycloakAdmin
from shared.adapters.share_events import SqsShareEvents
from shared.domain.albums import Albums
from shared.domain.analysis import DescriptionRequests
from shared.domain.analytics import AccessObservers, AnalyticsReader
from shared.domain.audit import AuditTrail
from shared.domain.grants import ResourceType
from shared.domain.jobs import MaintenanceJobs
from shared.domain.library import MediaLibrary
from shared.domain.links import LinkAccess
from shared.domain.notifications import NotificationCenter
from shared.domain.review import ModerationReview
from shared.domain.settings import SettingsAdministration
from shared.domain.sharing import Sharing
from shared.domain.uploads import UploadLimits, UploadService
from shared.domain.users import UserAdministration, UserDirectory


class ApiContainer(AwsContainer):
    """What the HTTP routes use."""

    @cached_property
    def user_directory(self) -> UserDirectory:
        """Vault accounts (admitted ones cached for this container)."""
        store = self.settings_store
        return UserDirectory(self.user_repository, default_quota_bytes=lambda: store.load().default_quota_bytes)

    @cached_property
    def user_administration(self) -> UserAdministration:
        """Realm users through Keycloak's Admin REST API, joined with vault accounts."""
        settings = self.settings
        identity = KeycloakAdmin(
            settings.oidc_issuer, settings.keycloak_admin_client_id, settings.keycloak_admin_client_secret
        )
        return UserAdministration(identity, self.user_repository)

    @cached_property
    def upload_service(self) -> UploadService:
        """Issues uploads and versions."""
        settings, store = self.settings, self.settings_store

        def limits() -> UploadLimits:
            # Types and sizes are admin settings (read through the store's short cache); multipart sizing is not.
            current = store.load()
            return UploadLimits(
                allowed_content_types=current.allowed_content_types,
                max_upload_bytes=current.max_upload_bytes,
                max_image_bytes=current.max_image_bytes,
                multipart_threshold_bytes=settings.multipart_threshold_bytes,
                multipart_part_bytes=settings.multipart_part_bytes,
                url_ttl_seconds=settings.upload_url_ttl_seconds,
            )

        return UploadService(self.media_repository, self.storage, self.quota_ledger, limits)

    @cached_property
    def settings_administration(self) -> SettingsAdministration:
        """Admins change the settings; each change is versioned and recorded."""
        return SettingsAdministration(self.settings_store)

    @cached_property
    def media_library(self) -> MediaLibrary:
        """Reads and manages media (grants let others in, through the policy); a purge gives bytes back to quota."""
        return MediaLibrary(
            self.media_repository,
            self.storage,
            url_ttl_seconds=self.settings.download_url_ttl_seconds,
            grants=self.grant_repository,
            observer=AccessObservers(AccessWitness(), self.analytics_recorder),
            albums=self.album_repository,
            on_purged=self.analytics_recorder.purged,
        )

    @cached_property
    def albums(self) -> Albums:
        """Albums of one's own media, shared like items (their grants reach every item in them)."""
        return Albums(self.album_repository, self.media_repository, self.media_library, self.grant_repository)

    @cached_property
    def sharing(self) -> Sharing:
        """Grants on media to users and partner organisations; grants made and removed are queued for the notifier."""
        return Sharing(
            self.media_library,
            self.media_repository,
            self.grant_repository,
            self.user_repository,
            targets={ResourceType.ALBUM: self.albums},
            albums=self.albums,
            events=self.share_events,
            link_base_url=self.settings.share_link_base_url,
            on_shared=self.analytics_recorder.shared,
        )

    @cached_property
    def link_access(self) -> LinkAccess:
        """Opening and downloading through share links (anonymous: the token is the credential)."""
        return LinkAccess(self.grant_repository, self.media_library, self.albums)

    @cached_property
    def description_requests(self) -> DescriptionRequests:
        """Owner-requested descriptions."""
        return DescriptionRequests(self.media_repository, self.analysis_requests)

    @cached_property
    def share_events(self) -> SqsShareEvents:
        """Grants made and removed, queued for the notifier."""
        return SqsShareEvents(self.boto_session.client("sqs"), self.settings.notifications_queue_url)

    @cached_property
    def notification_center(self) -> NotificationCenter:
        """The caller's own notifications."""
        return NotificationCenter(self.notification_repository)

    @cached_property
    def moderation_review(self) -> ModerationReview:
        """The moderation queue, admins' decisions (the owner is notified) and owners' second-look requests."""
        settings = self.settings
        repository = DynamoReviewRepository(settings.media_table, settings.region, cursor_key=settings.cursor_key)
        return ModerationReview(
            repository,
            self.storage,
            self.notification_repository,
            url_ttl_seconds=settings.download_url_ttl_seconds,
        )

    @cached_property
    def audit_trail(self) -> AuditTrail:
        """The audit log: the route wrapper records into it, admins and owners search it."""
        settings = self.settings
        log = DynamoAuditLog(
            settings.audit_table,
            settings.region,
            retention_days=settings.audit_retention_days,
            cursor_key=settings.cursor_key,
        )
        return AuditTrail(log)

    @cached_property
    def analytics_reader(self) -> AnalyticsReader:
        """Analytics reports: one query per scope over a range of days."""
        return AnalyticsReader(self.analytics_store)

    @cached_property
    def maintenance_jobs(self) -> MaintenanceJobs:
        """Admins' reprocess and reconcile jobs: submitted here, run by the maintainer."""
        from functions.containers.maintenance import maintenance_jobs

        return maintenance_jobs(self)

    @cached_property
    def dead_letters(self) -> SqsDeadLetters:
        """The processing, analysis and notifications dead-letter queues."""
        from functions.containers.maintenance import dead_letters

        return dead_letters(self)
