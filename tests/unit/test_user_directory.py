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
        self.reads = 0

    def get(self, user_id: str) -> User | None:
        self.reads += 1
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

    def set_quota_override(self, user_id: str, quota_bytes: int | None) -> User:
        if user_id not in self.users:
            raise NotFound("user not found")
        self.users[user_id] = dataclasses.replace(self.users[user_id], quota_override_bytes=quota_bytes)
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


def test_a_busy_caller_costs_no_read_until_the_recheck_interval_passes() -> None:
    directory, repository, clock = _directory()
    directory.admit(PAT)
    reads = repository.reads
    for _ in range(5):
        clock.now += timedelta(seconds=5)
        directory.admit(PAT)
    assert repository.reads == reads
    clock.now += timedelta(seconds=30)
    directory.admit(PAT)
    assert repository.reads == reads + 1


def test_a_suspension_made_by_another_container_applies_within_the_recheck_interval() -> None:
    directory, repository, clock = _directory()
    directory.admit(PAT)
    repository.set_status(PAT.sub, UserStatus.SUSPENDED)  # another container's admin request
    clock.now += timedelta(seconds=29)
    directory.admit(PAT)
    clock.now += timedelta(seconds=2)
    with pytest.raises(Forbidden):
        directory.admit(PAT)


def test_a_suspension_made_here_applies_at_once_and_a_changed_token_is_read_again() -> None:
    directory, repository, _clock = _directory()
    directory.admit(PAT)
    directory.set_status(PAT.sub, "suspended")
    with pytest.raises(Forbidden):
        directory.admit(PAT)
    directory.set_status(PAT.sub, "active")
    reads = repository.reads
    assert directory.admit(dataclasses.replace(PAT, role=Role.ADMIN)).role is Role.ADMIN
    assert repository.reads == reads + 1


def test_the_default_quota_is_read_live_and_an_override_wins_until_removed() -> None:
    repository, clock, default = MemoryUsers(), Clock(), [1000]
    directory = UserDirectory(repository, default_quota_bytes=lambda: default[0], clock=clock)
    assert directory.admit(PAT).quota_bytes == 1000
    default[0] = 2000  # an admin changed the default: accounts without their own quota follow it at once
    assert directory.admit(PAT).quota_bytes == 2000
    assert directory.set_quota("u-pat", 50_000).quota_bytes == 50_000
    assert directory.admit(PAT).quota_bytes == 50_000
    assert directory.set_quota("u-pat", None).quota_bytes == 2000
    assert directory.admit(PAT).quota_bytes == 2000
    with pytest.raises(ValidationError):
        directory.set_quota("u-pat", 0)
    with pytest.raises(NotFound):
        directory.set_quota("u-nobody", 10)
