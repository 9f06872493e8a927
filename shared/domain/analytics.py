"""Analytics kept by counters written as events happen: reading a report is one query per scope, never a scan.

Every counted event adds to per-day counters of the scopes it concerns (the owner's, a partner organisation's,
the system's). An event that can be delivered twice (a processing outcome, a share) carries a stable id: its
increments are applied together with a marker of that id, only if the marker is new, so a redelivery counts
nothing. Latency is kept as a histogram of fixed buckets per day; percentiles are estimated from it on read.
Recording never fails what it observes: a failure is reported (log and metric) and the event goes uncounted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from shared.domain.audit import AccessObserver
from shared.domain.errors import ValidationError
from shared.domain.grants import Grant, GranteeType
from shared.domain.media import MediaItem, MediaStatus, SupersededOriginal, kind_of
from shared.domain.policy import Action
from shared.domain.principal import Principal

SYSTEM = "system"
MAX_RANGE_DAYS = 366
# Upper bounds (ms) of the latency buckets; one more bucket holds everything slower than the last.
LATENCY_BOUNDS_MS = (250, 500, 1_000, 2_000, 5_000, 10_000, 30_000)
PERCENTILES = (50, 90, 99)


class Metric(StrEnum):
    """Per-day counters, in the order reports and CSV columns show them."""

    ITEMS_UPLOADED = "items_uploaded"
    BYTES_UPLOADED = "bytes_uploaded"
    PROCESSED_READY = "processed_ready"
    PROCESSED_FAILED = "processed_failed"
    PROCESSED_REJECTED = "processed_rejected"
    MODERATION_FLAGGED = "moderation_flagged"
    SHARES_CREATED = "shares_created"
    SHARES_RECEIVED = "shares_received"
    GRANT_VIEWS = "grant_views"
    GRANT_DOWNLOADS = "grant_downloads"
    LINK_VIEWS = "link_views"
    LINK_DOWNLOADS = "link_downloads"
    ACTIVE_USERS = "active_users"


def user_scope(user_id: str) -> str:
    """The scope of one user's own figures."""
    return f"user#{user_id}"


def org_scope(org: str) -> str:
    """The scope of what concerns one partner organisation."""
    return f"org#{org}"


def latency_buckets() -> tuple[str, ...]:
    """Names of the latency histogram's buckets, fastest first."""
    return (*(f"latency_lt_{bound}ms" for bound in LATENCY_BOUNDS_MS), f"latency_ge_{LATENCY_BOUNDS_MS[-1]}ms")


def latency_bucket(milliseconds: float) -> str:
    """The bucket a latency falls in."""
    names = latency_buckets()
    for bound, name in zip(LATENCY_BOUNDS_MS, names, strict=False):
        if milliseconds < bound:
            return name
    return names[-1]


def estimate_percentile(counts: Sequence[int], percentile: float) -> float | None:
    """The percentile (0-100) of a histogram with one count per bucket of latency_buckets(), interpolated linearly
    inside the bucket it falls in; the open-ended last bucket answers its lower bound. None without samples."""
    total = sum(counts)
    if total <= 0:
        return None
    rank = percentile / 100 * total
    seen = 0
    lower = 0.0
    for index, count in enumerate(counts):
        if index >= len(LATENCY_BOUNDS_MS):
            return float(LATENCY_BOUNDS_MS[-1])
        upper = float(LATENCY_BOUNDS_MS[index])
        if count and seen + count >= rank:
            return lower + (upper - lower) * max(rank - seen, 0) / count
        seen += count
        lower = upper
    return float(LATENCY_BOUNDS_MS[-1])


@dataclass(frozen=True)
class Increment:
    """Counters to add in one scope: to a day's (day set) or to the running totals (day None)."""

    scope: str
    counts: Mapping[str, int]
    day: date | None = None


class CounterAdder(Protocol):
    """Where new counts go: the store itself, or a deferred delivery that the recorder adds to it."""

    def add(self, increments: Sequence[Increment], event_id: str | None = None) -> bool:
        """Apply every increment at once; with an event id only if that id was never applied (False: it was)."""


class CounterStore(CounterAdder, Protocol):
    """Where counters live."""

    def days(self, scope: str, first: date, last: date) -> dict[date, dict[str, int]]:
        """The scope's counters of each day from first to last that has any."""

    def totals(self, scope: str) -> dict[str, int]:
        """The scope's running totals."""


@dataclass(frozen=True)
class DayFigures:
    """One day's counters (every metric and latency bucket, zeros included) and its latency percentiles."""

    day: date
    counts: dict[str, int]
    latency_ms: dict[str, float | None]


@dataclass(frozen=True)
class AnalyticsReport:
    """A scope's figures over a range of days: totals over the range, current storage, and each day."""

    scope: str
    first: date
    last: date
    totals: dict[str, int]
    latency_ms: dict[str, float | None]
    storage: dict[str, dict[str, int]]
    days: list[DayFigures] = field(default_factory=list)


def report_columns() -> tuple[str, ...]:
    """Every counter a day has, in report order."""
    return (*(metric.value for metric in Metric), *latency_buckets())


def check_range(first: date, last: date) -> None:
    """A report covers first..last, both included, at most MAX_RANGE_DAYS days."""
    if last < first:
        raise ValidationError("`from` must not be after `to`", field="from")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ValidationError(f"the range may cover at most {MAX_RANGE_DAYS} days", field="to")


def _each_day(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _percentiles(counts: Mapping[str, int]) -> dict[str, float | None]:
    histogram = [counts.get(name, 0) for name in latency_buckets()]
    return {f"p{p}": _rounded(estimate_percentile(histogram, p)) for p in PERCENTILES}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _storage(totals: Mapping[str, int]) -> dict[str, dict[str, int]]:
    kinds: dict[str, dict[str, int]] = {}
    for name, value in totals.items():
        measure, _, kind = name.partition("_")
        if measure in ("items", "bytes") and kind:
            kinds.setdefault(kind, {"items": 0, "bytes": 0})[measure] = max(value, 0)
    return dict(sorted(kinds.items()))


class AnalyticsReader:
    """Reports of counters: one query per scope over the range; days without counters read as zeros."""

    def __init__(self, store: CounterStore) -> None:
        self._store = store

    def report(self, scope: str, first: date, last: date) -> AnalyticsReport:
        """The scope's figures from first to last (UTC days, both included)."""
        check_range(first, last)
        stored = self._store.days(scope, first, last)
        columns = report_columns()
        days = []
        totals = dict.fromkeys(columns, 0)
        for day in _each_day(first, last):
            counts = {name: int(stored.get(day, {}).get(name, 0)) for name in columns}
            for name, value in counts.items():
                totals[name] += value
            days.append(DayFigures(day, counts, _percentiles(counts)))
        storage = _storage(self._store.totals(scope))
        return AnalyticsReport(scope, first, last, totals, _percentiles(totals), storage, days)


FailureReport = Callable[[str, Exception], None]


class AccessObservers:
    """Several AccessObservers told of each access in turn (the audit witness and analytics)."""

    def __init__(self, *observers: AccessObserver) -> None:
        self._observers = observers

    def item_accessed(self, principal: Principal, action: str, item: MediaItem) -> None:
        """Tell every observer."""
        for observer in self._observers:
            observer.item_accessed(principal, action, item)


class AnalyticsRecorder:
    """Counts events as they happen; never raises (a failed write is reported and the event goes uncounted)."""

    def __init__(
        self,
        store: CounterAdder,
        on_failure: FailureReport | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._on_failure = on_failure
        self._clock = clock
        # (user, day) pairs already counted active by this container: spares a write on every request.
        self._active_seen: set[tuple[str, date]] = set()

    def processed(self, item: MediaItem, outcome: str, replaced: SupersededOriginal | None = None) -> None:
        """A processing attempt of the item's version ended ready, failed or rejected: outcome and latency (from
        the upload's issue) per day; a ready item also counts as uploaded, and storage by kind holds what is
        served: a new version that replaces a ready one moves the item's bytes (and kind) to itself."""
        now = self._clock()
        latency_ms = max((now - item.created_at).total_seconds() * 1000, 0)
        counts = {f"processed_{outcome}": 1, latency_bucket(latency_ms): 1}
        stored: dict[str, int] = {}
        if outcome == "ready":
            counts |= {Metric.ITEMS_UPLOADED.value: 1, Metric.BYTES_UPLOADED.value: item.size}
            stored = {f"items_{item.kind.value}": 1, f"bytes_{item.kind.value}": item.size}
            if replaced is not None and replaced.status is MediaStatus.READY:
                was = kind_of(replaced.content_type).value
                stored[f"items_{was}"] = stored.get(f"items_{was}", 0) - 1
                stored[f"bytes_{was}"] = stored.get(f"bytes_{was}", 0) - replaced.size
                stored = {name: value for name, value in stored.items() if value}
        event_id = f"processed#{item.media_id}#{item.version_id or item.sequencer}#{outcome}"
        self._count(event_id, now, counts, item, stored)

    def purged(self, item: MediaItem) -> None:
        """An item was deleted for good: its bytes leave its owner's storage (only a ready one was counted in)."""
        if item.status is not MediaStatus.READY:
            return
        stored = {f"items_{item.kind.value}": -1, f"bytes_{item.kind.value}": -item.size}
        self._count(f"purged#{item.media_id}", self._clock(), {}, item, stored)

    def flagged(self, item: MediaItem) -> None:
        """Moderation flagged an item's version (a redelivered moderation task counts nothing)."""
        event_id = f"flagged#{item.media_id}#{item.version_id or item.sequencer}"
        self._count(event_id, self._clock(), {Metric.MODERATION_FLAGGED.value: 1}, item, {})

    def shared(self, grant: Grant) -> None:
        """A grant was made: the owner shared; an organisation received (counted in its scope too)."""
        now = self._clock()
        increments = [
            Increment(user_scope(grant.owner_id), {Metric.SHARES_CREATED.value: 1}, now.date()),
            Increment(SYSTEM, {Metric.SHARES_CREATED.value: 1}, now.date()),
        ]
        if grant.grantee.type is GranteeType.ORG:
            increments.append(Increment(org_scope(grant.grantee.id), {Metric.SHARES_RECEIVED.value: 1}, now.date()))
        self._apply(increments, f"shared#{grant.share_id}")

    def item_accessed(self, principal: Principal, action: str, item: MediaItem) -> None:
        """The library let someone at an item (its AccessObserver): views and downloads by anyone other than the
        owner or an admin count, as grant or link use."""
        if action in (Action.READ, Action.DOWNLOAD):
            self.accessed(principal, item, download=action == Action.DOWNLOAD)

    def accessed(self, principal: Principal, item: MediaItem, download: bool) -> None:
        """Someone other than the owner viewed or downloaded an item, through a grant or a link."""
        if principal.sub == item.owner_id or principal.is_admin:
            return
        via = "link" if principal.link_id else "grant"
        metric = f"{via}_{'downloads' if download else 'views'}"
        now = self._clock()
        increments = [
            Increment(user_scope(item.owner_id), {metric: 1}, now.date()),
            Increment(SYSTEM, {metric: 1}, now.date()),
        ]
        if principal.partner_org:
            increments.append(Increment(org_scope(principal.partner_org), {metric: 1}, now.date()))
        self._apply(increments, None)

    def active(self, principal: Principal) -> None:
        """The principal used the API today (counted once per user and day)."""
        today = self._clock().date()
        if (principal.sub, today) in self._active_seen:
            return
        increments = [Increment(SYSTEM, {Metric.ACTIVE_USERS.value: 1}, today)]
        if principal.partner_org:
            increments.append(Increment(org_scope(principal.partner_org), {Metric.ACTIVE_USERS.value: 1}, today))
        if self._apply(increments, f"active#{principal.sub}#{today.isoformat()}"):
            self._active_seen.add((principal.sub, today))

    def _count(
        self, event_id: str, now: datetime, counts: dict[str, int], item: MediaItem, stored: dict[str, int]
    ) -> None:
        increments = []
        for scope in (user_scope(item.owner_id), SYSTEM):
            if counts:
                increments.append(Increment(scope, counts, now.date()))
            if stored:
                increments.append(Increment(scope, stored))
        self._apply(increments, event_id)

    def _apply(self, increments: list[Increment], event_id: str | None) -> bool:
        """True once the increments are counted (now, or by an earlier delivery of the same event)."""
        try:
            self._store.add(increments, event_id)
        except Exception as exc:  # noqa: BLE001 - counting must never fail what it observes
            if self._on_failure is not None:
                self._on_failure(event_id or "", exc)
            return False
        return True
