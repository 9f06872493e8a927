"""Accounts: first sight, profile refresh, suspension."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.errors import Forbidden, NotFound, ValidationError
from shared.domain.principal import Principal, Role
from shared.domain.users import User, UserDirectory, UserStatus


class MemoryUsers:
    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.writes = 0

    def get(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def create(self, user: User) -> User:
        self.writes += 1
        return self.users.setdefault(user.user_id, user)

    def save_profile(self, user: User) -> None:
        self.writes += 1
        current = self.users[user.user_id]
        self.users[user.user_id] = dataclasses.replace(user, status=current.status, quota_bytes=current.quota_bytes)

    def set_status(self, user_id: str, status: UserStatus) -> User:
        if user_id not in self.users:
            raise NotFound("user not found")
        self.users[user_id] = dataclasses.replace(self.users[user_id], status=status)
        return self.users[user_id]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


PAT = Principal(sub="u-pat", username="pat", role=Role.PARTNER, email="pat@example.test", partner_org="acme")


def _directory() -> tuple[UserDirectory, MemoryUsers, Clock]:
    repository, clock = MemoryUsers(), Clock()
    return UserDirectory(repository, default_quota_bytes=1000, clock=clock), repository, clock


def test_first_sight_creates_an_active_account_with_the_default_quota() -> None:
    directory, repository, clock = _directory()
    user = directory.admit(PAT)
    assert repository.users["u-pat"] == user
    assert (user.username, user.role, user.partner_org, user.status, user.quota_bytes) == (
        "pat",
        Role.PARTNER,
        "acme",
        UserStatus.ACTIVE,
        1000,
    )
    assert user.created_at == clock.now


def test_repeat_requests_read_only_until_last_seen_is_stale_or_the_profile_changes() -> None:
    directory, repository, clock = _directory()
    directory.admit(PAT)
    writes = repository.writes
    clock.now += timedelta(minutes=1)
    directory.admit(PAT)
    assert repository.writes == writes
    clock.now += timedelta(minutes=5)
    assert directory.admit(PAT).last_seen_at == clock.now
    assert repository.writes == writes + 1
    promoted = dataclasses.replace(PAT, role=Role.ADMIN, partner_org="")
    assert directory.admit(promoted).role is Role.ADMIN
    assert repository.users["u-pat"].role is Role.ADMIN


def test_suspended_account_is_refused_and_can_be_reactivated() -> None:
    directory, _, _ = _directory()
    directory.admit(PAT)
    directory.set_status("u-pat", "suspended")
    with pytest.raises(Forbidden, match="suspended"):
        directory.admit(PAT)
    directory.set_status("u-pat", "active")
    assert directory.admit(PAT).status is UserStatus.ACTIVE


def test_status_changes_validate_value_and_account() -> None:
    directory, _, _ = _directory()
    with pytest.raises(NotFound):
        directory.set_status("nobody", "suspended")
    directory.admit(PAT)
    with pytest.raises(ValidationError, match="active, suspended"):
        directory.set_status("u-pat", "deleted")
