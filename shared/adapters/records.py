"""Deferred records: what the API observes (audit entries, analytics counts) leaves the request as one JSON line
each, and the recorder function writes it to its table after the response went out.

On Lambda the line goes to standard output: the Lambda service ships it to the function's log group without the
request waiting, and a subscription filter on that group (`{ $.mv_record = 1 }`) hands batches of such lines to
the recorder. Locally the line is appended to a spool file that a worker tails into the same recorder. Either way
a grantee's read costs its reads only; the audit entry and the view counters follow within seconds.

`RECORD_DELIVERY` picks the way: "direct" (write during the request; the in-process test tier), "stdout"
(Lambda), or "file:<path>" (the local stack's spool).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from shared.domain.analytics import Increment
from shared.domain.audit import AuditEntry
from shared.domain.recording import CountRecord, Record

MARK = "mv_record"
VERSION = 1
_FILE_PREFIX = "file:"

Emit = Callable[[str], None]


def encode(record: Record) -> str:
    """One record as one JSON line (no newline)."""
    if isinstance(record, AuditEntry):
        body: dict[str, Any] = {"audit": {**asdict(record), "at": record.at.isoformat()}}
    else:
        body = {
            "counts": [
                {"scope": i.scope, "counts": dict(i.counts), "day": i.day.isoformat() if i.day else None}
                for i in record.increments
            ],
            "event_id": record.event_id,
        }
    return json.dumps({MARK: VERSION, **body}, separators=(",", ":"))


def decode(line: str) -> Record | None:
    """The record a line carries; None for any other line (the log group holds ordinary log lines too)."""
    try:
        body = json.loads(line)
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get(MARK) != VERSION:
        return None
    if "audit" in body:
        fields = dict(body["audit"])
        fields["at"] = datetime.fromisoformat(fields["at"])
        return AuditEntry(**fields)
    increments = tuple(
        Increment(c["scope"], {str(k): int(v) for k, v in c["counts"].items()}, _day(c.get("day")))
        for c in body.get("counts", [])
    )
    return CountRecord(increments, body.get("event_id"))


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def emitter(delivery: str) -> Emit | None:
    """Where RECORD_DELIVERY sends lines; None for "direct" (the caller writes the tables itself)."""
    if delivery in ("", "direct"):
        return None
    if delivery == "stdout":
        return _print
    if delivery.startswith(_FILE_PREFIX):
        return SpoolFile(delivery.removeprefix(_FILE_PREFIX)).append
    raise ValueError(f"RECORD_DELIVERY must be direct, stdout or file:<path>, not {delivery!r}")


def spool_path(delivery: str) -> str:
    """The spool file a "file:<path>" delivery names ("" for any other delivery)."""
    return delivery.removeprefix(_FILE_PREFIX) if delivery.startswith(_FILE_PREFIX) else ""


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class SpoolFile:
    """Appends lines to a file: one write each, with O_APPEND, so lines of concurrent writers never interleave."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._fd: int | None = None

    def append(self, line: str) -> None:
        """Write one line."""
        with self._lock:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.write(self._fd, (line + "\n").encode())


class DeferredAuditLog:
    """The audit log's append, as a line for the recorder."""

    def __init__(self, emit: Emit) -> None:
        self._emit = emit

    def append(self, entry: AuditEntry) -> None:
        """Send the entry on."""
        self._emit(encode(entry))


class DeferredCounters:
    """The counter store's add, as a line for the recorder (reports read the real store)."""

    def __init__(self, emit: Emit) -> None:
        self._emit = emit

    def add(self, increments: Sequence[Increment], event_id: str | None = None) -> bool:
        """Send the increments on; True: the recorder's marker, not this call, keeps an event from counting twice."""
        if any(i.counts for i in increments):
            self._emit(encode(CountRecord(tuple(increments), event_id)))
        return True


def decode_all(lines: Iterable[str]) -> list[Record]:
    """The records among lines, in order."""
    return [record for record in map(decode, lines) if record is not None]
