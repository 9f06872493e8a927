"""Deferred records: the line format round-trips, and a batch is written once however often it is delivered."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.adapters.records import DeferredAuditLog, DeferredCounters, decode, emitter, encode, spool_path
from shared.domain.analytics import Increment
from shared.domain.audit import AuditEntry
from shared.domain.errors import Conflict
from shared.domain.recording import MAX_COUNTERS_PER_WRITE, CountRecord, RecordWriter
from tests.unit.test_analytics import MemoryCounterStore

DAY = date(2026, 12, 2)
ENTRY = AuditEntry(
    entry_id="e1", at=datetime(2026, 12, 2, 10, 0, tzinfo=UTC), actor_id="user-bob", actor_name="bob",
    actor_role="user", action="media.read", resource_type="media", resource_id="m1", owner_id="user-alice",
    status=200, source_ip="127.0.0.1", user_agent="Vault/1 \"quoted\"\n", request_id="r1",
)  # fmt: skip


class MemoryLog:
    def __init__(self) -> None:
        self.entries: dict[str, AuditEntry] = {}

    def append(self, entry: AuditEntry) -> None:
        if entry.entry_id in self.entries:
            raise Conflict("an audit entry with this id exists")
        self.entries[entry.entry_id] = entry


def test_lines_round_trip_and_other_lines_are_not_records() -> None:
    counts = CountRecord((Increment("user#a", {"grant_views": 1}, DAY), Increment("user#a", {"items_image": 1})), "x")
    for record in (ENTRY, counts):
        line = encode(record)
        assert "\n" not in line
        assert decode(line) == record
    for other in ("", "START RequestId: 1", '{"level": "INFO"}', '{"mv_record": 2, "audit": {}}', "[1]"):
        assert decode(other) is None


def test_deferred_writers_emit_one_line_each_and_skip_empty_counts() -> None:
    lines: list[str] = []
    DeferredAuditLog(lines.append).append(ENTRY)
    assert DeferredCounters(lines.append).add([Increment("system", {"link_views": 1}, DAY)]) is True
    DeferredCounters(lines.append).add([Increment("system", {}, DAY)])
    assert [type(decode(line)).__name__ for line in lines] == ["AuditEntry", "CountRecord"]


def test_a_redelivered_batch_writes_nothing_twice_and_anonymous_counts_merge() -> None:
    log, store = MemoryLog(), MemoryCounterStore()
    views = [
        CountRecord((Increment(f"user#{n % 3}", {"grant_views": 1}, DAY), Increment("system", {"grant_views": 1}, DAY)))
        for n in range(9)
    ]
    shared = CountRecord((Increment("system", {"shares_created": 1}, DAY),), "shared#s1")
    batch = [ENTRY, *views, shared]
    first = RecordWriter(log, store).write("b1", batch)
    assert (first.entries, first.events, first.counters) == (1, 1, 4)
    again = RecordWriter(log, store).write("b1", batch)
    assert (again.entries, again.events) == (0, 0)
    assert store.counters[("system", DAY)] == {"grant_views": 9, "shares_created": 1}
    assert store.counters[("user#0", DAY)] == {"grant_views": 3}
    assert list(log.entries) == ["e1"]


def test_a_batch_touching_many_counters_is_written_in_transaction_sized_chunks() -> None:
    store = MemoryCounterStore()
    many = [CountRecord((Increment(f"user#{n}", {"grant_views": 1}, DAY),)) for n in range(MAX_COUNTERS_PER_WRITE + 5)]
    written = RecordWriter(MemoryLog(), store).write("b2", many)
    assert written.counters == MAX_COUNTERS_PER_WRITE + 5
    assert store.events == {"batch#b2#0", "batch#b2#1"}
    assert len(store.counters) == MAX_COUNTERS_PER_WRITE + 5


def test_delivery_settings() -> None:
    assert emitter("direct") is None and emitter("") is None
    assert emitter("stdout") is not None
    assert spool_path("file:/tmp/x.jsonl") == "/tmp/x.jsonl" and spool_path("stdout") == ""
    with pytest.raises(ValueError, match="RECORD_DELIVERY"):
        emitter("kinesis")
