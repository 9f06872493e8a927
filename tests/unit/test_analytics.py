"""Analytics counters: latency buckets and percentiles, reports with empty days, what each event counts where."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from shared.domain.analytics import (
    LATENCY_BOUNDS_MS,
    SYSTEM,
    AnalyticsReader,
    AnalyticsRecorder,
    Increment,
    estimate_percentile,
    latency_bucket,
    latency_buckets,
    org_scope,
    user_scope,
)
from shared.domain.errors import ValidationError
from shared.domain.grants import Grant, Grantee, GranteeType, Permission, ResourceType
from shared.domain.media import MediaItem, MediaStatus, SupersededOriginal
from shared.domain.principal import Principal, Role

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


class MemoryCounterStore:
    """Counters in dicts, with the adapter's once-per-event-id rule."""

    def __init__(self) -> None:
        self.counters: dict[tuple[str, date | None], dict[str, int]] = {}
        self.events: set[str] = set()
        self.failing = False

    def add(self, increments: Sequence[Increment], event_id: str | None = None) -> bool:
        if self.failing:
            raise ConnectionError("the table did not answer")
        if event_id is not None:
            if event_id in self.events:
                return False
            self.events.add(event_id)
        for increment in increments:
            counters = self.counters.setdefault((increment.scope, increment.day), {})
            for name, value in increment.counts.items():
                counters[name] = counters.get(name, 0) + value
        return True

    def days(self, scope: str, first: date, last: date) -> dict[date, dict[str, int]]:
        return {
            day: dict(counts)
            for (kept, day), counts in self.counters.items()
            if kept == scope and day is not None and first <= day <= last
        }

    def totals(self, scope: str) -> dict[str, int]:
        return dict(self.counters.get((scope, None), {}))


def item(created_ago_ms: int = 800, size: int = 1000, version: str = "v1") -> MediaItem:
    return MediaItem(
        media_id="m" * 32,
        owner_id="alice",
        filename="a.jpg",
        content_type="image/jpeg",
        size=size,
        object_key="originals/alice/m/a.jpg",
        status=MediaStatus.READY,
        created_at=NOW - timedelta(milliseconds=created_ago_ms),
        version_id=version,
    )


@pytest.fixture
def store() -> MemoryCounterStore:
    return MemoryCounterStore()


@pytest.fixture
def recorder(store: MemoryCounterStore) -> AnalyticsRecorder:
    return AnalyticsRecorder(store, clock=lambda: NOW)


@pytest.mark.parametrize(
    ("milliseconds", "bucket"),
    [
        (0, "latency_lt_250ms"),
        (249.9, "latency_lt_250ms"),
        (250, "latency_lt_500ms"),
        (999, "latency_lt_1000ms"),
        (29_999, "latency_lt_30000ms"),
        (30_000, "latency_ge_30000ms"),
        (10**9, "latency_ge_30000ms"),
    ],
)
def test_a_latency_falls_in_the_bucket_below_its_upper_bound(milliseconds: float, bucket: str) -> None:
    assert latency_bucket(milliseconds) == bucket


def test_percentiles_interpolate_inside_the_bucket_they_fall_in() -> None:
    # 10 samples under 250 ms, 10 between 250 and 500 ms
    counts = [10, 10, 0, 0, 0, 0, 0, 0]
    assert len(counts) == len(latency_buckets()) == len(LATENCY_BOUNDS_MS) + 1
    assert estimate_percentile(counts, 50) == 250.0
    assert estimate_percentile(counts, 25) == 125.0
    assert estimate_percentile(counts, 75) == 375.0
    assert estimate_percentile(counts, 100) == 500.0


def test_percentiles_of_no_samples_are_none_and_the_open_bucket_answers_its_lower_bound() -> None:
    assert estimate_percentile([0] * 8, 50) is None
    assert estimate_percentile([0, 0, 0, 0, 0, 0, 0, 4], 99) == 30_000.0
    assert estimate_percentile([1, 0, 0, 0, 0, 0, 0, 99], 50) == 30_000.0


def test_a_ready_item_counts_once_per_version_with_its_latency_and_storage(
    recorder: AnalyticsRecorder, store: MemoryCounterStore
) -> None:
    recorder.processed(item(created_ago_ms=800), "ready")
    recorder.processed(item(created_ago_ms=800), "ready")  # the same event, delivered again
    # A second version replaces the ready first one: uploaded twice, but one item stored, at its new size.
    was = SupersededOriginal(MediaStatus.READY, "a.jpg", "image/jpeg", 1000, "", "")
    recorder.processed(item(created_ago_ms=3_000, size=500, version="v2"), "ready", was)
    report = AnalyticsReader(store).report(user_scope("alice"), TODAY, TODAY)
    assert report.totals["items_uploaded"] == 2 and report.totals["bytes_uploaded"] == 1500
    assert report.totals["processed_ready"] == 2
    assert (report.totals["latency_lt_1000ms"], report.totals["latency_lt_5000ms"]) == (1, 1)
    assert report.storage == {"image": {"items": 1, "bytes": 500}}
    assert AnalyticsReader(store).report(SYSTEM, TODAY, TODAY).totals["processed_ready"] == 2


def test_a_new_version_of_another_kind_moves_the_item_and_one_replacing_a_rejected_version_adds_it(
    recorder: AnalyticsRecorder, store: MemoryCounterStore
) -> None:
    recorder.processed(item(size=1000), "ready")
    video = replace(item(size=9000, version="v2"), content_type="video/mp4")
    recorder.processed(video, "ready", SupersededOriginal(MediaStatus.READY, "a.jpg", "image/jpeg", 1000, "", ""))
    rejected_before = SupersededOriginal(MediaStatus.REJECTED, "b.jpg", "image/jpeg", 10, "", "not a photo")
    recorder.processed(replace(item(size=300), media_id="n" * 32), "ready", rejected_before)
    report = AnalyticsReader(store).report(user_scope("alice"), TODAY, TODAY)
    assert report.storage == {"image": {"items": 1, "bytes": 300}, "video": {"items": 1, "bytes": 9000}}


def test_a_purge_takes_a_ready_item_out_of_storage(recorder: AnalyticsRecorder, store: MemoryCounterStore) -> None:
    recorder.processed(item(), "ready")
    recorder.purged(item())
    recorder.purged(item())  # a second purge of the same item is the same event
    assert AnalyticsReader(store).report(user_scope("alice"), TODAY, TODAY).storage == {
        "image": {"items": 0, "bytes": 0}
    }


def test_a_report_fills_days_without_counters_with_zeros(
    recorder: AnalyticsRecorder, store: MemoryCounterStore
) -> None:
    recorder.processed(item(), "failed")
    report = AnalyticsReader(store).report(user_scope("alice"), TODAY - timedelta(days=2), TODAY)
    assert [d.day for d in report.days] == [TODAY - timedelta(days=2), TODAY - timedelta(days=1), TODAY]
    assert [d.counts["processed_failed"] for d in report.days] == [0, 0, 1]
    assert report.days[0].latency_ms == {"p50": None, "p90": None, "p99": None}
    assert report.days[2].latency_ms["p50"] is not None
    assert report.totals["items_uploaded"] == 0 and report.storage == {}


@pytest.mark.parametrize(
    ("first", "last"),
    [(TODAY, TODAY - timedelta(days=1)), (TODAY - timedelta(days=366), TODAY)],
    ids=["reversed", "367-days"],
)
def test_a_reversed_or_too_long_range_is_refused(store: MemoryCounterStore, first: date, last: date) -> None:
    with pytest.raises(ValidationError):
        AnalyticsReader(store).report(SYSTEM, first, last)


def test_366_days_are_allowed(store: MemoryCounterStore) -> None:
    assert len(AnalyticsReader(store).report(SYSTEM, TODAY - timedelta(days=365), TODAY).days) == 366


def test_views_count_for_the_owner_the_system_and_the_viewers_organisation(
    recorder: AnalyticsRecorder, store: MemoryCounterStore
) -> None:
    pat = Principal(sub="pat", username="pat", role=Role.PARTNER, partner_org="acme")
    recorder.item_accessed(pat, "read", item())
    recorder.item_accessed(pat, "download", item())
    recorder.item_accessed(pat, "share", item())  # not a view
    recorder.item_accessed(Principal.for_link("s" * 32), "read", item())
    recorder.item_accessed(Principal(sub="alice", username="alice", role=Role.USER), "read", item())  # the owner
    recorder.item_accessed(Principal(sub="ada", username="ada", role=Role.ADMIN), "read", item())  # an admin
    counts = {scope: store.counters[(scope, TODAY)] for scope in (user_scope("alice"), SYSTEM, org_scope("acme"))}
    assert counts[user_scope("alice")] == {"grant_views": 1, "grant_downloads": 1, "link_views": 1}
    assert counts[SYSTEM] == counts[user_scope("alice")]
    assert counts[org_scope("acme")] == {"grant_views": 1, "grant_downloads": 1}


def test_a_share_with_an_organisation_counts_for_both_once(
    recorder: AnalyticsRecorder, store: MemoryCounterStore
) -> None:
    grant = Grant(
        share_id="s" * 32,
        resource_type=ResourceType.MEDIA,
        resource_id="m" * 32,
        owner_id="alice",
        grantee=Grantee(GranteeType.ORG, "acme", "acme"),
        permissions=frozenset({Permission.VIEW}),
        granted_by="alice",
        created_at=NOW,
    )
    recorder.shared(grant)
    recorder.shared(grant)
    assert store.counters[(user_scope("alice"), TODAY)] == {"shares_created": 1}
    assert store.counters[(org_scope("acme"), TODAY)] == {"shares_received": 1}


def test_active_users_count_once_a_day(recorder: AnalyticsRecorder, store: MemoryCounterStore) -> None:
    pat = Principal(sub="pat", username="pat", role=Role.PARTNER, partner_org="acme")
    alice = Principal(sub="alice", username="alice", role=Role.USER)
    for caller in (pat, alice, pat, alice):
        recorder.active(caller)
    # another container (no memory of the first) admits alice again the same day
    AnalyticsRecorder(store, clock=lambda: NOW).active(alice)
    assert store.counters[(SYSTEM, TODAY)] == {"active_users": 2}
    assert store.counters[(org_scope("acme"), TODAY)] == {"active_users": 1}


def test_a_failed_count_is_reported_and_never_raised(store: MemoryCounterStore) -> None:
    lost: list[str] = []
    recorder = AnalyticsRecorder(store, on_failure=lambda event_id, _error: lost.append(event_id), clock=lambda: NOW)
    store.failing = True
    recorder.processed(item(), "ready")
    recorder.active(Principal(sub="alice", username="alice", role=Role.USER))
    assert lost == [f"processed#{'m' * 32}#v1#ready", f"active#alice#{TODAY.isoformat()}"]
    store.failing = False
    recorder.active(Principal(sub="alice", username="alice", role=Role.USER))  # not remembered as counted
    assert store.counters[(SYSTEM, TODAY)] == {"active_users": 1}


class _Threshold:
    moderation_threshold = 0.6


class _Settings:
    def load(self) -> _Threshold:
        return _Threshold()


class _Items:
    def __init__(self, kept: MediaItem) -> None:
        self.kept = kept

    def get(self, media_id: str) -> MediaItem | None:
        return self.kept

    def save_analysis(self, media_id: str, **results: object) -> None:
        self.saved = results


class _Analyst:
    def __init__(self, score: float) -> None:
        self.score = score

    def moderate(self, image: bytes) -> dict[str, object]:
        return {"score": self.score, "labels": []}


@pytest.mark.parametrize(("score", "flagged"), [(0.9, 1), (0.1, 0)])
def test_moderation_counts_flagged_items_once_per_version(
    recorder: AnalyticsRecorder, store: MemoryCounterStore, score: float, flagged: int
) -> None:
    from shared.domain.analysis import MediaAnalyzer, Task
    from shared.domain.media import Rendition

    photo = item()
    photo.renditions = {"preview": Rendition(key="renditions/alice/m/preview.webp", width=1, height=1, content_type="")}
    analyzer = MediaAnalyzer(
        _Items(photo),
        lambda key: b"image",
        _Analyst(score),  # type: ignore[arg-type]
        _Settings(),  # type: ignore[arg-type]
        on_flagged=recorder.flagged,
    )
    for _ in range(2):  # the moderation task delivered twice
        analyzer.analyze(photo.media_id, [Task.MODERATE])
    report = AnalyticsReader(store).report(user_scope("alice"), TODAY, TODAY)
    assert report.totals["moderation_flagged"] == flagged


def test_the_processor_reports_each_outcome_once_and_a_given_up_item_as_failed() -> None:
    from shared.domain.processing import MediaProcessor, Outcome
    from tests.unit.test_processing_service import ALLOWED, _setup

    told: list[tuple[str, Outcome]] = []
    processor, repository, storage, event = _setup()
    processor = MediaProcessor(
        repository,
        storage,
        processor._renderer,
        allowed_content_types=ALLOWED,
        on_outcome=lambda done, outcome, _replaced: told.append((done.media_id, outcome)),
    )
    assert processor.process(event) is Outcome.READY
    assert processor.process(event) is Outcome.SKIPPED  # a redelivery: nothing ended, nothing told
    assert told == [("m1", Outcome.READY)]
    failing, repository, storage, event = _setup()
    failing = MediaProcessor(
        repository,
        storage,
        failing._renderer,
        allowed_content_types=ALLOWED,
        on_outcome=lambda done, outcome, _replaced: told.append((done.media_id, outcome)),
    )
    assert failing.give_up(event, "processing failed after 3 attempts") is True
    assert failing.give_up(event, "again") is False
    assert told == [("m1", Outcome.READY), ("m1", Outcome.FAILED)]


@pytest.mark.parametrize(("approved_version", "flagged"), [("v1", False), ("v0", True)])
def test_a_version_a_reviewer_approved_is_scored_again_but_not_flagged_again(
    recorder: AnalyticsRecorder, store: MemoryCounterStore, approved_version: str, flagged: bool
) -> None:
    from shared.domain.analysis import MediaAnalyzer, Task
    from shared.domain.media import Rendition

    photo = item()
    photo.renditions = {"preview": Rendition(key="renditions/alice/m/preview.webp", width=1, height=1, content_type="")}
    # A reviewer approved version v1 (this one) or an older version v0 (a new upload is moderated afresh).
    photo.review = {"decision": "approve", "version": approved_version}
    items = _Items(photo)
    analyzer = MediaAnalyzer(
        items,
        lambda key: b"image",
        _Analyst(0.9),  # type: ignore[arg-type]
        _Settings(),  # type: ignore[arg-type]
        on_flagged=recorder.flagged,
    )
    analyzer.analyze(photo.media_id, [Task.MODERATE])
    assert items.saved["flagged"] is flagged
    assert items.saved["moderation"] == {"score": 0.9, "labels": []}
