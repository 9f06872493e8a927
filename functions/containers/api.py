"""The API function's services."""

from __future__ import annotations

from functools import cached_property

from functions.api.limits import admit_uploads
from functions.api.recording import AccessWitness
from functions.containers.aws import AwsContainer
from shared.adapters.dead_letters import SqsDeadLetters
from shared.adapters.dynamo.access import DynamoAccessReads
from shared.adapters.dynamo.limits import DynamoWindowCounters
from shared.adapters.dynamo.media_batch import DynamoNewMediaItems
from shared.adapters.dynamo.review import DynamoReviewRepository
from shared.adapters.keycloak_admin import KeycloakAdmin
from shared.adapters.records import DeferredAuditLog, DeferredCounters, Emit, emitter
from shared.adapters.share_events import SqsShareEvents
from shared.domain.albums import Albums
from shared.domain.analysis import DescriptionRequests
from shared.domain.analytics import AccessObservers, AnalyticsReader, CounterAdder
from shared.domain.audit import AuditTrail
from shared.domain.erasure import ErasureRequests
from shared.domain.export import DataExports
from shared.domain.grants import ResourceType
from shared.domain.jobs import MaintenanceJobs, Reprocessing
from shared.domain.library import MediaLibrary
from shared.domain.limits import Limited, RateLimit, RequestLimits
from shared.domain.links import LinkAccess
from shared.domain.notifications import NotificationCenter
from shared.domain.principal import Principal
from shared.domain.review import ModerationReview
from shared.domain.settings import SettingsAdministration
from shared.domain.sharing import Sharing
from shared.domain.uploads import UploadLimits, UploadService
from shared.domain.users import Newcomers, UserAdministration, UserDirectory


class ApiContainer(AwsContainer):
    """What the HTTP routes use."""

    @cached_property
    def user_directory(self) -> UserDirectory:
        """Vault accounts (admitted ones cached for this container)."""
        from functions.containers.erasure import erased_check

        store = self.settings_store
        return UserDirectory(
            self.user_repository,
            default_quota_bytes=lambda: store.load().default_quota_bytes,
            erased=erased_check(self),
        )

    @cached_property
    def realm_admin(self) -> KeycloakAdmin:
        """Keycloak's Admin REST API, as the vault's service account."""
        settings = self.settings
        return KeycloakAdmin(
            settings.oidc_issuer, settings.keycloak_admin_client_id, settings.keycloak_admin_client_secret
        )

    @cached_property
    def user_administration(self) -> UserAdministration:
        """Realm users through Keycloak's Admin REST API, joined with vault accounts."""
        return UserAdministration(self.realm_admin, self.user_repository)

    @cached_property
    def newcomers(self) -> Newcomers | None:
        """Realm users named in a share before their first sign-in; None where no realm administration is set up."""
        from functions.containers.erasure import erased_check

        if not self.settings.keycloak_admin_client_secret:
            return None
        store = self.settings_store
        return Newcomers(
            self.realm_admin,
            self.user_repository,
            default_quota_bytes=lambda: store.load().default_quota_bytes,
            erased=erased_check(self),
        )

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

        request_limits = self.request_limits

        def admit(caller: Principal, count: int) -> int:
            return admit_uploads(request_limits, caller, count)

        return UploadService(
            self.media_repository,
            self.storage,
            self.quota_ledger,
            limits,
            new_items=DynamoNewMediaItems(settings.media_table, settings.region),
            admit_uploads=admit,
        )

    @cached_property
    def settings_administration(self) -> SettingsAdministration:
        """Admins change the settings; each change is versioned and recorded."""
        return SettingsAdministration(self.settings_store)

    @cached_property
    def media_library(self) -> MediaLibrary:
        """Reads and manages media (grants let others in, through the policy); a purge gives bytes back to quota."""
        settings = self.settings
        return MediaLibrary(
            self.media_repository,
            self.storage,
            url_ttl_seconds=settings.download_url_ttl_seconds,
            grants=self.grant_repository,
            observer=AccessObservers(AccessWitness(), self.analytics_recorder),
            albums=self.album_repository,
            on_purged=self.analytics_recorder.purged,
            access_reads=self.access_reads,
        )

    @cached_property
    def access_reads(self) -> DynamoAccessReads:
        """An item and the caller's grants on it, in one read (the policy's lookup)."""
        settings = self.settings
        return DynamoAccessReads(settings.media_table, settings.shares_table, settings.region)

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
            newcomers=self.newcomers,
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
    def request_limits(self) -> RequestLimits:
        """Per-caller (per-link) limits on the expensive routes, counted on the limits table."""
        settings = self.settings
        window = settings.rate_limit_window_seconds
        limits = {
            Limited.UPLOADS: RateLimit(settings.rate_limit_uploads, window),
            Limited.DESCRIBE: RateLimit(settings.rate_limit_describe, window),
            Limited.REPROCESS: RateLimit(settings.rate_limit_reprocess, window),
            Limited.EXPORT: RateLimit(settings.rate_limit_export, window),
            Limited.LINK_OPENS: RateLimit(settings.rate_limit_link_opens, window),
        }
        return RequestLimits(DynamoWindowCounters(settings.limits_table, settings.region), limits)

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
            reprocess=self.reprocessing,
        )

    @cached_property
    def record_emitter(self) -> Emit | None:
        """Where audit entries and counts leave the request for the recorder; None: written during the request."""
        return emitter(self.settings.record_delivery)

    @property
    def counter_sink(self) -> CounterAdder:
        """Counts go to the recorder when deferred (a read by a grantee pays for its reads only)."""
        emit = self.record_emitter
        return DeferredCounters(emit) if emit else self.analytics_store

    @cached_property
    def audit_trail(self) -> AuditTrail:
        """The audit log: the route wrapper records into it (through the recorder when deferred), admins and owners
        search it."""
        emit = self.record_emitter
        return AuditTrail(self.audit_log, writer=DeferredAuditLog(emit) if emit else None)

    @cached_property
    def analytics_reader(self) -> AnalyticsReader:
        """Analytics reports: one query per scope over a range of days."""
        return AnalyticsReader(self.analytics_store)

    @cached_property
    def reprocessing(self) -> Reprocessing:
        """Sends an item back through the processor (an approval after a rejection makes its renditions again)."""
        from functions.containers.maintenance import reprocessing

        return reprocessing(self)

    @cached_property
    def maintenance_jobs(self) -> MaintenanceJobs:
        """Admins' reprocess and reconcile jobs: submitted here, run by the maintainer."""
        from functions.containers.maintenance import maintenance_jobs

        return maintenance_jobs(self)

    @cached_property
    def data_exports(self) -> DataExports:
        """The caller's exports of their own data: started here, built by the maintainer."""
        from functions.containers.export import data_exports

        return data_exports(self, self.maintenance_jobs)

    @cached_property
    def dead_letters(self) -> SqsDeadLetters:
        """The processing, analysis and notifications dead-letter queues."""
        from functions.containers.maintenance import dead_letters

        return dead_letters(self)

    @cached_property
    def erasure_requests(self) -> ErasureRequests:
        """Erasure of a person's data: the account stops at once, the maintainer erases the rest."""
        from functions.containers.erasure import erasure_requests

        return erasure_requests(self, self.user_directory, self.maintenance_jobs)
