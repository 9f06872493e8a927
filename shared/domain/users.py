"""Vault accounts: created on first sight of a token's subject, refused while suspended."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from shared.domain.errors import Forbidden, NotFound, ValidationError
from shared.domain.principal import Principal, Role


class UserStatus(StrEnum):
    """Whether an account may use the vault."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


@dataclass(frozen=True)
class User:
    """The vault's record of a realm user."""

    user_id: str
    username: str
    email: str
    role: Role
    partner_org: str = ""
    status: UserStatus = UserStatus.ACTIVE
    quota_bytes: int = 0
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_seen_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_view(self) -> dict[str, Any]:
        """The account as the API shows it."""
        return {
            "user_id": self.user_id,
            "username": self.username,
            "email": self.email,
            "role": self.role.value,
            "partner_org": self.partner_org or None,
            "status": self.status.value,
            "quota_bytes": self.quota_bytes,
            "created_at": self.created_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat(),
        }


class UserRepository(Protocol):
    """Persistence of accounts."""

    def get(self, user_id: str) -> User | None:
        """The account, or None."""

    def create(self, user: User) -> User:
        """Store a new account; if one appeared meanwhile, return that one."""

    def save_profile(self, user: User) -> None:
        """Refresh username, email, role, org and last-seen (never status or quota)."""

    def set_status(self, user_id: str, status: UserStatus) -> User:
        """Change an account's status; NotFound if there is none."""


class UserDirectory:
    """Admits principals as accounts and lets admins change their status."""

    def __init__(
        self,
        repository: UserRepository,
        *,
        default_quota_bytes: int,
        touch_interval: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repository = repository
        self._quota = default_quota_bytes
        self._touch_interval = touch_interval
        self._clock = clock

    def admit(self, principal: Principal) -> User:
        """The caller's account (created on first sight); Forbidden while it is suspended."""
        now = self._clock()
        user = self._repository.get(principal.sub)
        if user is None:
            user = self._repository.create(
                User(
                    user_id=principal.sub,
                    username=principal.username,
                    email=principal.email,
                    role=principal.role,
                    partner_org=principal.partner_org,
                    quota_bytes=self._quota,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        if user.status is UserStatus.SUSPENDED:
            raise Forbidden("this account is suspended")
        profile = replace(
            user,
            username=principal.username,
            email=principal.email,
            role=principal.role,
            partner_org=principal.partner_org,
        )
        # The realm is the source of truth for profile and role; write only when something changed
        # or last-seen is stale, so a busy user costs one read per request, not a write.
        if profile != user or now - user.last_seen_at >= self._touch_interval:
            profile = replace(profile, last_seen_at=now)
            self._repository.save_profile(profile)
        return profile

    def set_status(self, user_id: str, status: str) -> User:
        """Suspend or reactivate an account."""
        try:
            wanted = UserStatus(status)
        except ValueError as exc:
            raise ValidationError(f"status must be one of: {', '.join(s.value for s in UserStatus)}") from exc
        if self._repository.get(user_id) is None:
            raise NotFound("user not found")
        return self._repository.set_status(user_id, wanted)
