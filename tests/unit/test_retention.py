"""Which older versions of an original the retention may delete: the rule, without any storage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.media import MediaItem, original_key
from shared.domain.ports import ObjectVersion
from shared.domain.retention import prunable_versions

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BEFORE = NOW - timedelta(days=30)


def version(version_id: str, days_ago: int, *, current: bool = False) -> ObjectVersion:
    return ObjectVersion(version_id, 10, (NOW - timedelta(days=days_ago)).isoformat(), current)


def item(served: str) -> MediaItem:
    return MediaItem("m1", "alice", "a.jpg", "image/jpeg", 10, original_key("alice", "m1"), version_id=served)


def test_a_version_goes_once_it_has_been_noncurrent_longer_than_the_retention() -> None:
    # v1 was replaced 40 days ago (v2 written then), v2 only 5 days ago (by v3)
    versions = [version("v3", 5, current=True), version("v2", 40), version("v1", 50)]
    assert [v.version_id for v in prunable_versions(item("v3"), versions, BEFORE)] == ["v1"]


def test_the_current_and_the_served_version_always_stay() -> None:
    # v3 is current but processing still serves v2; v1 stays only as long as the retention says
    versions = [version("v3", 40, current=True), version("v2", 45), version("v1", 50)]
    assert [v.version_id for v in prunable_versions(item("v2"), versions, BEFORE)] == ["v1"]
    assert prunable_versions(item("v3"), [version("v3", 400, current=True)], BEFORE) == []
