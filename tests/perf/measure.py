"""What the HTTP benchmarks share: timing, percentile rows against a baseline, a local stack, seeded items."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from infra.local.stack import DevStack, Ports
from tests.conftest import free_port
from tests.support.http import password_token

SAMPLES = 300


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the values fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(fn: Callable[[], object], samples: int = SAMPLES) -> list[float]:
    """Seconds per call of fn over `samples` calls, after one warm-up call."""
    fn()
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - started)
    return timings


def timed_together(fns: list[Callable[[], object]], samples: int = SAMPLES) -> list[list[float]]:
    """Seconds per call of each fn, the calls taken in turn (a, b, a, b, ...): on a shared machine a load spike
    falls on every variant alike, so their ratio stays honest."""
    for fn in fns:
        fn()
    timings: list[list[float]] = [[] for _ in fns]
    for _ in range(samples):
        for fn, kept in zip(fns, timings, strict=True):
            started = time.perf_counter()
            fn()
            kept.append(time.perf_counter() - started)
    return timings


def row(name: str, timings: list[float], baseline: list[float] | None = None) -> str:
    """One report line: p50 and p99 in ms, and the p50 ratio against the baseline's."""
    p50, p99 = statistics.median(timings) * 1000, percentile(timings, 0.99) * 1000
    ratio = f"  ratio p50 {statistics.median(timings) / statistics.median(baseline):.2f}x" if baseline else ""
    return f"  {name:<38} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms{ratio}"


class FreshToken(requests.auth.AuthBase):
    """A user's bearer token, fetched again before it expires (seeding and measuring can outlast one token)."""

    def __init__(self, issuer: str, username: str, lifetime: float = 200.0) -> None:
        self._issuer, self._username, self._lifetime = issuer, username, lifetime
        self._token, self._fetched = "", 0.0

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if time.monotonic() - self._fetched > self._lifetime:
            self._token, self._fetched = password_token(self._issuer, self._username), time.monotonic()
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


def session_of(stack: DevStack, username: str) -> requests.Session:
    """A keep-alive session acting as the user, its token kept fresh."""
    session = requests.Session()
    session.auth = FreshToken(stack.issuer, username)
    return session


def running_stack(log_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[DevStack]:
    """A quiet local stack on free ports (extra_env added to its environment), stopped afterwards (for fixtures)."""
    ports = Ports(emulator=free_port(), identity=free_port(), api=free_port(), dynamodb=free_port())
    dev = DevStack(ports, log_dir=log_dir, extra_env={"POWERTOOLS_LOG_LEVEL": "WARNING", **(extra_env or {})})
    dev.start()
    try:
        yield dev
    finally:
        dev.stop()


def seed_ready_items(dynamodb: Any, table: str, owner: str, count: int) -> list[str]:
    """Write `count` ready photo records of `owner` straight to the media table (25 per batch); their ids."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids: list[str] = []
    for batch_start in range(0, count, 25):
        batch = []
        for n in range(batch_start, min(count, batch_start + 25)):
            media_id = uuid.uuid4().hex
            ids.append(media_id)
            created = (start + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")
            item = {
                "media_id": {"S": media_id}, "owner_id": {"S": owner}, "created_at": {"S": created},
                "updated_at": {"S": created}, "status": {"S": "ready"}, "kind": {"S": "image"},
                "filename": {"S": f"photo-{n}.jpg"}, "content_type": {"S": "image/jpeg"}, "size": {"N": "123456"},
                "object_key": {"S": f"originals/{owner}/{media_id}"}, "taken_sort": {"S": created},
                "search_text": {"S": f"photo-{n}.jpg"}, "revision": {"N": "0"}, "title": {"S": ""},
                "description": {"S": ""}, "location_visible": {"BOOL": False},
            }  # fmt: skip
            batch.append({"PutRequest": {"Item": item}})
        dynamodb.batch_write_item(RequestItems={table: batch})
    return ids
