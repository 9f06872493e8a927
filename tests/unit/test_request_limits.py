"""Abuse limits: fixed windows per (kind, subject), Retry-After to the window's end, and one table of limited routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.api.access import ROUTE_ROLES
from functions.api.limits import ROUTE_LIMITS
from shared.domain.errors import TooManyAttempts
from shared.domain.limits import Limited, RateLimit, RequestLimits


class MemoryCounters:
    """WindowCounters in a dict (the conditional add is trivially atomic on one thread)."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.expiries: dict[str, int] = {}

    def take(self, key: str, limit: int, expires_at: int, count: int = 1) -> bool:
        if self.hits.get(key, 0) + count > limit:
            return False
        self.hits[key] = self.hits.get(key, 0) + count
        self.expiries[key] = expires_at
        return True


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def limiter(requests: int, window: int = 60) -> tuple[RequestLimits, MemoryCounters, Clock]:
    counters, clock = MemoryCounters(), Clock(datetime(2026, 1, 1, 12, 0, 0, 500_000, tzinfo=UTC))
    return RequestLimits(counters, {Limited.UPLOADS: RateLimit(requests, window)}, clock=clock), counters, clock


def test_the_request_past_the_limit_waits_for_the_end_of_the_window() -> None:
    limits, _, clock = limiter(2)
    limits.admit(Limited.UPLOADS, "user#a")
    limits.admit(Limited.UPLOADS, "user#a")
    clock.now += timedelta(seconds=20)
    with pytest.raises(TooManyAttempts) as refused:
        limits.admit(Limited.UPLOADS, "user#a")
    assert refused.value.retry_after == 40  # 39.5 s left, rounded up


def test_subjects_and_windows_count_apart_and_counters_outlive_their_window() -> None:
    limits, counters, clock = limiter(1)
    limits.admit(Limited.UPLOADS, "user#a")
    limits.admit(Limited.UPLOADS, "user#b")
    clock.now += timedelta(seconds=60)
    limits.admit(Limited.UPLOADS, "user#a")
    assert sorted(counters.hits.values()) == [1, 1, 1]
    window_end = int(datetime(2026, 1, 1, 12, 1, tzinfo=UTC).timestamp())
    assert counters.expiries[f"uploads#user#b#{window_end // 60 - 1}"] == window_end + 60


def test_a_zero_or_missing_limit_admits_everything() -> None:
    limits, counters, _ = limiter(0)
    for _ in range(5):
        limits.admit(Limited.UPLOADS, "user#a")
        limits.admit(Limited.DESCRIBE, "user#a")
    assert counters.hits == {}


def test_every_limited_route_is_a_declared_route_and_link_routes_are_public() -> None:
    assert set(ROUTE_LIMITS) <= set(ROUTE_ROLES)
    for (method, path), kind in ROUTE_LIMITS.items():
        # A link route has no caller to count, only its token; every other limited route needs a signed-in caller.
        assert (kind is Limited.LINK_OPENS) == (not ROUTE_ROLES[(method, path)]), (method, path)
        assert (kind is Limited.LINK_OPENS) == ("{token}" in path), (method, path)
