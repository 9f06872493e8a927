"""Accounts: the caller's own, and account administration."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from functions.api.models.common import Body, Query, Reply, Timestamp
from shared.domain.principal import Role
from shared.domain.users import User, UserStatus, UserSummary


class Account(Reply):
    """A vault account."""

    user_id: str
    username: str
    email: str
    role: Role
    partner_org: str | None
    status: UserStatus
    quota_bytes: int
    created_at: Timestamp
    last_seen_at: Timestamp

    @classmethod
    def of(cls, user: User) -> Account:
        """The response for an account."""
        return cls(
            user_id=user.user_id,
            username=user.username,
            email=user.email,
            role=user.role,
            partner_org=user.partner_org or None,
            status=user.status,
            quota_bytes=user.quota_bytes,
            created_at=user.created_at,
            last_seen_at=user.last_seen_at,
        )


class StatusChange(Body):
    """Suspend or reactivate an account."""

    status: UserStatus


class RoleChange(Body):
    """One vault role; partners need an organisation, and only partners have one."""

    role: Role
    partner_org: Annotated[str, StringConstraints(max_length=255)] | None = None


class UserSearch(Query):
    """Paging and search of realm users."""

    search: str = Field(default="", max_length=255, description="username, email or name contains")
    first: int = Field(default=0, ge=0, le=1_000_000)
    max: int = Field(default=50, ge=1, le=100)


class RealmUserView(Reply):
    """A realm user joined with their vault account."""

    user_id: str
    username: str
    email: str
    enabled: bool
    role: Role | None
    partner_org: str | None
    status: str = Field(description="active, suspended, or never_seen (no vault account yet)")
    last_seen_at: Timestamp | None

    @classmethod
    def of(cls, summary: UserSummary) -> RealmUserView:
        """The response for one user."""
        user, account = summary.realm_user, summary.account
        return cls(
            user_id=user.user_id,
            username=user.username,
            email=user.email,
            enabled=user.enabled,
            role=user.role,
            partner_org=user.partner_org or None,
            status=account.status.value if account else "never_seen",
            last_seen_at=account.last_seen_at if account else None,
        )


class UserList(Reply):
    """One page of realm users."""

    users: list[RealmUserView]
    first: int
    max: int
