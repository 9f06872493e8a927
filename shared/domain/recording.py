"""Writing what the API observed, after the fact: audit entries and analytics counts delivered in batches (the
recorder function's use case). A batch may be delivered more than once, so every write is idempotent: an entry
is appended only under its own id, an event's counts only under its event id, and the counts of anonymous events
(views, downloads) only under the batch's id, merged so that a busy batch touches each counter once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from shared.domain.analytics import CounterAdder, Increment
from shared.domain.audit import AuditAppender, AuditEntry
from shared.domain.errors import Conflict

# Counters per write: a transaction holds at most 100 items, one of which is its marker.
MAX_COUNTERS_PER_WRITE = 99


@dataclass(frozen=True)
class CountRecord:
    """Counters to add; with an event id they count once however often they are delivered."""

    increments: tuple[Increment, ...]
    event_id: str | None = None


Record = AuditEntry | CountRecord


@dataclass(frozen=True)
class Written:
    """What one batch wrote: entries appended (new ones), events counted, counters touched for anonymous events."""

    entries: int
    events: int
    counters: int


class RecordWriter:
    """Writes one delivered batch of records."""

    def __init__(self, log: AuditAppender, counters: CounterAdder) -> None:
        self._log = log
        self._counters = counters

    def write(self, batch_id: str, records: Sequence[Record]) -> Written:
        """Append the batch's entries and add its counts; a redelivered batch writes nothing twice."""
        entries = events = 0
        anonymous: list[Increment] = []
        for record in records:
            if isinstance(record, AuditEntry):
                try:
                    self._log.append(record)
                    entries += 1
                except Conflict:
                    pass  # appended by an earlier delivery of this batch
            elif record.event_id:
                events += int(self._counters.add(record.increments, record.event_id))
            else:
                anonymous.extend(record.increments)
        merged = merge(anonymous)
        for start in range(0, len(merged), MAX_COUNTERS_PER_WRITE):
            chunk = merged[start : start + MAX_COUNTERS_PER_WRITE]
            self._counters.add(chunk, f"batch#{batch_id}#{start // MAX_COUNTERS_PER_WRITE}")
        return Written(entries, events, len(merged))


def merge(increments: Sequence[Increment]) -> list[Increment]:
    """One increment per (scope, day), its counts summed: a transaction may not name the same item twice."""
    merged: dict[tuple[str, date | None], dict[str, int]] = {}
    for increment in increments:
        counts = merged.setdefault((increment.scope, increment.day), {})
        for name, value in increment.counts.items():
            counts[name] = counts.get(name, 0) + value
    return [Increment(scope, counts, day) for (scope, day), counts in merged.items() if counts]
