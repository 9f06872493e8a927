"""Erasure's services: the API marks the account and queues the job, the maintainer runs its phases."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from functions.containers.aws import AwsContainer
from shared.adapters.bucket_erasure import S3PersonalObjects
from shared.adapters.dynamo.erasure import DynamoPersonalData, ErasureTables
from shared.adapters.keycloak_admin import KeycloakAdmin
from shared.domain.erasure import Erasure, ErasureRequests, pseudonym

if TYPE_CHECKING:
    from shared.domain.jobs import MaintenanceJobs
    from shared.domain.users import UserDirectory


def alias_of(container: AwsContainer) -> Callable[[str], str]:
    """The pseudonym function: keyed by the cursor-signing secret, under its own label (shared/domain/erasure.py)."""
    key = container.settings.cursor_key.encode()
    if not key:
        raise RuntimeError("CURSOR_SIGNING_KEY is not set: erasure cannot make pseudonyms")
    return lambda user_id: pseudonym(key, user_id)


def personal_data(container: AwsContainer) -> DynamoPersonalData:
    """The tables a person's rows are in."""
    settings = container.settings
    tables = ErasureTables(
        media=settings.media_table,
        users=settings.users_table,
        shares=settings.shares_table,
        albums=settings.albums_table,
        notifications=settings.notifications_table,
        analytics=settings.analytics_table,
        audit=settings.audit_table,
        limits=settings.limits_table,
        jobs=settings.jobs_table,
    )
    return DynamoPersonalData(container.boto_session.client("dynamodb"), tables)


def erasure_runner(container: AwsContainer) -> Erasure:
    """The erase job's phases (the realm user through Keycloak's Admin REST API)."""
    settings = container.settings
    realm = KeycloakAdmin(
        settings.oidc_issuer, settings.keycloak_admin_client_id, settings.keycloak_admin_client_secret
    )
    objects = S3PersonalObjects(container.s3_client, settings.media_bucket)
    return Erasure(personal_data(container), objects, realm, _lazy_alias(container))


def erasure_requests(container: AwsContainer, users: UserDirectory, jobs: MaintenanceJobs) -> ErasureRequests:
    """DELETE /me and DELETE /admin/users/{user_id}/data."""
    return ErasureRequests(users, jobs, personal_data(container), _lazy_alias(container))


def erased_check(container: AwsContainer) -> Callable[[str], bool]:
    """Whether a subject with no account was erased (read only on first sight of a subject)."""
    data = personal_data(container)
    alias = _lazy_alias(container)
    return lambda user_id: data.is_tombstoned(alias(user_id))


def _lazy_alias(container: AwsContainer) -> Callable[[str], str]:
    # The key is read when a pseudonym is first needed: a container without it still serves everything else.
    return lambda user_id: alias_of(container)(user_id)
