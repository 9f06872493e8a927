"""The API function's services."""

from __future__ import annotations

from functools import cached_property

from functions.containers.aws import AwsContainer
from shared.adapters.keycloak_admin import KeycloakAdmin
from shared.domain.analysis import DescriptionRequests
from shared.domain.library import MediaLibrary
from shared.domain.sharing import Sharing
from shared.domain.uploads import UploadLimits, UploadService
from shared.domain.users import UserAdministration, UserDirectory


class ApiContainer(AwsContainer):
    """What the HTTP routes use."""

    @cached_property
    def user_directory(self) -> UserDirectory:
        """Vault accounts (admitted ones cached for this container)."""
        return UserDirectory(self.user_repository, default_quota_bytes=self.settings.default_quota_bytes)

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
        settings = self.settings
        limits = UploadLimits(
            allowed_content_types=settings.allowed_content_types,
            max_upload_bytes=settings.max_upload_bytes,
            max_image_bytes=settings.max_image_bytes,
            multipart_threshold_bytes=settings.multipart_threshold_bytes,
            multipart_part_bytes=settings.multipart_part_bytes,
            url_ttl_seconds=settings.upload_url_ttl_seconds,
        )
        return UploadService(self.media_repository, self.storage, self.quota_ledger, limits)

    @cached_property
    def media_library(self) -> MediaLibrary:
        """Reads and manages media (grants let others in, through the policy); a purge gives bytes back to quota."""
        return MediaLibrary(
            self.media_repository,
            self.storage,
            url_ttl_seconds=self.settings.download_url_ttl_seconds,
            grants=self.grant_repository,
        )

    @cached_property
    def sharing(self) -> Sharing:
        """Grants on media to users and partner organisations."""
        return Sharing(self.media_library, self.media_repository, self.grant_repository, self.user_repository)

    @cached_property
    def description_requests(self) -> DescriptionRequests:
        """Owner-requested descriptions."""
        return DescriptionRequests(self.media_repository, self.analysis_requests)
