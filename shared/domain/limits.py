"""Abuse limits: how many expensive requests one caller (or one share link) may make in a fixed window.

Each (kind, subject, window) has one counter; a request counts itself with one conditional add that refuses once
the counter holds the limit, so concurrent requests can never push a window past it (no read-then-write race).
A refused request answers TooManyAttempts (429) with the seconds until the window ends.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from shared.domain.errors import TooManyAttempts


class Limited(StrEnum):
    """The kinds of expensive requests, each with its own limit (a route names the kind it is)."""

    UPLOADS = "uploads"  # upload and version issuance: presigned URLs, quota reservations
    DESCRIBE = "describe"  # AI descriptions: a model call each
    REPROCESS = "reprocess"  # maintenance jobs that walk the library
    EXPORT = "export"  # a whole library packed up
    LINK_OPENS = "link_opens"  # a share link's opens and downloads, counted per link (its token's hash)


@dataclass(frozen=True)
class RateLimit:
    """At most `requests` per window of `window_seconds`; 0 requests: no limit."""

    requests: int
    window_seconds: int = 60


class WindowCounters(Protocol):
    """Counters of requests per window (shared/adapters/dynamo/limits.py)."""

    def take(self, key: str, limit: int, expires_at: int, count: int = 1) -> bool:
        """Count `count` requests under key unless that would take it past limit (atomically); False: no room. The
        counter may be forgotten after expires_at (epoch seconds)."""
        ...


class RequestLimits:
    """Admits a request, or refuses it with the seconds until its window ends."""

    def __init__(
        self,
        counters: WindowCounters,
        limits: Mapping[Limited, RateLimit],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._counters = counters
        self._limits = limits
        self._clock = clock

    def admit(self, kind: Limited, subject: str) -> None:
        """Count one `kind` request by subject (a user id, a link's token hash), or raise TooManyAttempts."""
        self.admit_up_to(kind, subject, 1)

    def admit_up_to(self, kind: Limited, subject: str, count: int) -> int:
        """Count up to `count` requests of one call (a batch), the first ones first: how many the window admits
        (all of them in one write when there is room; one write each, until refused, only when there is not).
        Raises TooManyAttempts when it admits none."""
        limit = self._limits.get(kind)
        if limit is None or limit.requests <= 0:
            return count
        now = self._clock().timestamp()
        window = int(now // limit.window_seconds)
        ends = (window + 1) * limit.window_seconds
        key = f"{kind.value}#{subject}#{window}"
        # Kept one more window after it ends: TTL deletion lags, and a late reader must never see a gap.
        expires = ends + limit.window_seconds
        if self._counters.take(key, limit.requests, expires, count):
            return count
        admitted = 0
        while count > 1 and admitted < count and self._counters.take(key, limit.requests, expires):
            admitted += 1
        if admitted:
            return admitted
        raise self.refusal(kind, ends - now)

    def refusal(self, kind: Limited, seconds_left: float) -> TooManyAttempts:
        """The error for a full window of `kind` that ends in seconds_left."""
        limit = self._limits[kind]
        wait = max(1, math.ceil(seconds_left))
        return TooManyAttempts(
            f"too many {kind.value.replace('_', ' ')} requests: at most {limit.requests} in {limit.window_seconds} s;"
            f" try again in {wait} s",
            retry_after=wait,
        )
