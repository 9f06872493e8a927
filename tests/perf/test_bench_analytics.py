"""`make bench`: what analytics and the audit log cost. GET /admin/analytics over 90 days after 100,000 counted
events (JSON and CSV) against another admin read of the same run, with the DynamoDB items one report reads; and
GET /media/{id} by a grantee (an audit entry and view counters each) with records written during the request
("direct") and spooled for the recorder (the default), each against the owner's unrecorded read of its own stack."""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from infra.local.stack import DevStack
from shared.adapters.dynamo.analytics import DynamoCounterStore
from shared.domain.analytics import SYSTEM, AnalyticsReader, AnalyticsRecorder, Increment, Metric
from shared.domain.grants import Grant, Grantee, GranteeType, Permission, ResourceType
from shared.domain.media import MediaItem, MediaStatus
from shared.domain.principal import Principal, Role
from shared.domain.recording import merge
from tests.perf.measure import SAMPLES, row, running_stack, seed_ready_items, session_of, timed

EVENTS = 100_000
DAYS = 90
OWNERS = 20  # each owner's scope gets a row per day it has events: 20 owners keep seeding to ~2,000 writes
VIEWERS = 200
ORGS = ("acme", "globex")
# Every counted event adds exactly 1 to exactly one of these in the system scope: their sum is the event count.
EVENT_METRICS = (
    Metric.PROCESSED_READY, Metric.PROCESSED_FAILED, Metric.PROCESSED_REJECTED, Metric.MODERATION_FLAGGED,
    Metric.SHARES_CREATED, Metric.GRANT_VIEWS, Metric.GRANT_DOWNLOADS, Metric.LINK_VIEWS, Metric.LINK_DOWNLOADS,
    Metric.ACTIVE_USERS,
)  # fmt: skip


class CollectedCounts:
    """A CounterAdder that keeps what the recorder would write: one add per counted event."""

    def __init__(self) -> None:
        self.events = 0
        self.increments: list[Increment] = []

    def add(self, increments: Sequence[Increment], event_id: str | None = None) -> bool:
        """Keep the increments; every add is one event."""
        self.events += 1
        self.increments.extend(increments)
        return True


class ItemsRead:
    """A boto3 DynamoDB client that counts the items its Query and GetItem calls return."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.queried = self.query_pages = self.got = 0

    def query(self, **arguments: Any) -> dict[str, Any]:
        """Query, counted."""
        page: dict[str, Any] = self._client.query(**arguments)
        self.queried += len(page.get("Items", []))
        self.query_pages += 1
        return page

    def get_item(self, **arguments: Any) -> dict[str, Any]:
        """GetItem, counted."""
        answer: dict[str, Any] = self._client.get_item(**arguments)
        self.got += int("Item" in answer)
        return answer


def _counted_events(first: date, seed: int = 20260101) -> CollectedCounts:
    """EVENTS events through the real AnalyticsRecorder (its scopes and metric names), at random times in DAYS."""
    rng = random.Random(seed)
    collected = CollectedCounts()
    now = [datetime.combine(first, datetime.min.time(), UTC)]
    recorder = AnalyticsRecorder(collected, clock=lambda: now[0])
    owners = [uuid.UUID(int=rng.getrandbits(128)).hex for _ in range(OWNERS)]
    viewers = [
        Principal(sub=f"viewer-{n}", username=f"viewer{n}", role=Role.PARTNER if n % 4 == 0 else Role.USER,
                  partner_org=ORGS[n % 2] if n % 4 == 0 else "")
        for n in range(VIEWERS)
    ]  # fmt: skip
    while collected.events < EVENTS:
        now[0] = datetime.combine(first, datetime.min.time(), UTC) + timedelta(seconds=rng.uniform(0, DAYS * 86_400))
        owner = rng.choice(owners)
        content_type = "video/mp4" if rng.random() < 0.1 else "image/jpeg"
        item = MediaItem(
            media_id=uuid.UUID(int=rng.getrandbits(128)).hex, owner_id=owner, filename="x", content_type=content_type,
            size=rng.randint(50_000, 5_000_000), object_key="x", status=MediaStatus.READY,
            created_at=now[0] - timedelta(milliseconds=rng.expovariate(1 / 900)), version_id=str(collected.events),
        )  # fmt: skip
        kind = rng.random()
        if kind < 0.40:
            recorder.accessed(rng.choice(viewers), item, download=False)
        elif kind < 0.50:
            recorder.accessed(rng.choice(viewers), item, download=True)
        elif kind < 0.65:
            recorder.accessed(Principal.for_link(uuid.uuid4().hex), item, download=rng.random() < 0.2)
        elif kind < 0.80:
            outcome = rng.choices(("ready", "failed", "rejected"), (85, 10, 5))[0]
            recorder.processed(item, outcome)
        elif kind < 0.85:
            org = rng.random() < 0.2
            grantee = Grantee(GranteeType.ORG, rng.choice(ORGS)) if org else Grantee(GranteeType.USER, "someone")
            recorder.shared(
                Grant(uuid.uuid4().hex, ResourceType.MEDIA, item.media_id, owner, grantee,
                      frozenset({Permission.VIEW}), owner, now[0])
            )  # fmt: skip
        elif kind < 0.87:
            recorder.flagged(item)
        else:
            recorder.active(rng.choice(viewers))  # a repeat of (user, day) is not counted: no add, no event
    return collected


@pytest.fixture
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    # Function scope: this stack is stopped before the audit bench starts its two (the machine is shared).
    yield from running_stack(tmp_path_factory.mktemp("bench-analytics"))


def test_bench_admin_analytics_over_90_days(stack: DevStack) -> None:
    # GIVEN 100,000 events counted over the 90 days before today (today holds this run's own requests)
    ada = session_of(stack, "ada")
    ada.get(f"{stack.api_url}/me", timeout=10).raise_for_status()
    last = datetime.now(UTC).date() - timedelta(days=1)
    first = last - timedelta(days=DAYS - 1)
    started = time.perf_counter()
    collected = _counted_events(first)
    merged = merge(collected.increments)
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=stack.dynamodb_url)
    table = stack.env["ANALYTICS_TABLE"]
    DynamoCounterStore(client, table).add(merged)
    seeding = time.perf_counter() - started

    # WHEN an admin asks for the 90 days, as JSON and as CSV
    params = {"from": first.isoformat(), "to": last.isoformat()}
    url = f"{stack.api_url}/admin/analytics"
    body = ada.get(url, params=params, timeout=30).json()
    csv_lines = ada.get(url, params=params | {"format": "csv"}, timeout=30).text.strip().splitlines()
    settings = timed(lambda: ada.get(f"{stack.api_url}/admin/settings", timeout=10).raise_for_status())
    me = timed(lambda: ada.get(f"{stack.api_url}/me", timeout=10).raise_for_status())
    report = timed(lambda: ada.get(url, params=params, timeout=30).raise_for_status())
    report_csv = timed(lambda: ada.get(url, params=params | {"format": "csv"}, timeout=30).raise_for_status())

    # THEN every event is in the report, one row per day
    assert sum(body["totals"][metric.value] for metric in EVENT_METRICS) == EVENTS
    assert len(body["days"]) == DAYS and len(csv_lines) == DAYS + 1

    # The API's own reader, run here on the same table through a client that counts the items it is given.
    counting = ItemsRead(client)
    AnalyticsReader(DynamoCounterStore(counting, table)).report(SYSTEM, first, last)
    day_rows = client.query(
        TableName=table, Select="COUNT",
        KeyConditionExpression="#scope = :scope AND #day BETWEEN :first AND :last",
        ExpressionAttributeNames={"#scope": "scope", "#day": "day"},
        ExpressionAttributeValues={
            ":scope": {"S": SYSTEM}, ":first": {"S": f"day#{first}"}, ":last": {"S": f"day#{last}"}
        },
    )["Count"]  # fmt: skip
    assert counting.queried == day_rows

    print(f"\n== analytics: GET /admin/analytics over {DAYS} days after {EVENTS:,} counted events (local HTTP API)")
    print(
        f"  seeded {collected.events:,} events through AnalyticsRecorder (real scopes and metrics), merged per "
        f"(scope, day) into {len(merged):,} counter rows written with DynamoCounterStore.add in {seeding:.1f} s; "
        f"the system scope's event counters total {EVENTS:,} over the range"
    )
    print(row("GET /admin/settings (baseline)", settings))
    print(row("GET /me as ada", me, settings))
    print(row(f"GET /admin/analytics ({DAYS} days, JSON)", report, settings))
    print(row(f"GET /admin/analytics ({DAYS} days, CSV)", report_csv, settings))
    print(
        f"  DynamoDB items read per report: {counting.queried + counting.got} = {counting.queried} system day rows "
        f"(Query, {counting.query_pages} page(s)) + {counting.got} totals row (GetItem); counted by running the "
        f"API's AnalyticsReader on the same table through a client counting returned items, and matching a "
        f"Select=COUNT query of the range ({day_rows} rows). Not counted: the caller's account read every admin "
        f"route makes (the baseline makes it too)"
    )


@contextmanager
def _stack(log_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[DevStack]:
    yield from running_stack(log_dir, extra_env)


def _bobs_reads(alice: requests.Session, stack: DevStack, bob: str, media_id: str) -> int:
    """How many of bob's reads of the item alice's GET /me/audit shows."""
    seen, cursor = 0, None
    while True:
        params = {"action": "media.read", "limit": "100"} | ({"cursor": cursor} if cursor else {})
        response = alice.get(f"{stack.api_url}/me/audit", params=params, timeout=10)
        response.raise_for_status()
        page = response.json()
        seen += sum(1 for e in page["entries"] if e["actor"] == bob and e["resource"] == f"media#{media_id}")
        cursor = page["next_cursor"]
        if not cursor:
            return seen


def _grant_views(alice: requests.Session, stack: DevStack) -> int:
    today = datetime.now(UTC).date().isoformat()
    response = alice.get(f"{stack.api_url}/me/analytics", params={"from": today, "to": today}, timeout=10)
    response.raise_for_status()
    return int(response.json()["totals"][Metric.GRANT_VIEWS.value])


def _reads_of_a_shared_item(stack: DevStack) -> tuple[list[float], list[float], float, int]:
    """Owner's and grantee's GET /media/{id} timings; seconds from the last call to the start of the first poll that
    found all of bob's reads in the audit log and counters, and how many polls that took."""
    alice, bob = session_of(stack, "alice"), session_of(stack, "bob")
    owner = alice.get(f"{stack.api_url}/me", timeout=10).json()["user_id"]
    bob_id = bob.get(f"{stack.api_url}/me", timeout=10).json()["user_id"]
    dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=stack.dynamodb_url)
    (media_id,) = seed_ready_items(dynamodb, stack.env["MEDIA_TABLE"], owner, 1)
    share = {"grantee": {"type": "user", "username": "bob"}, "permissions": ["view"]}
    alice.post(f"{stack.api_url}/media/{media_id}/shares", json=share, timeout=30).raise_for_status()
    item = f"{stack.api_url}/media/{media_id}"

    owner_get = timed(lambda: alice.get(item, timeout=10).raise_for_status())
    grantee_get = timed(lambda: bob.get(item, timeout=10).raise_for_status())
    finished = time.monotonic()
    calls = SAMPLES + 1  # timed() warms up with one call
    polls = 0
    while True:
        # A poll pages through GET /me/audit (~1 s here): its start, not its end, is when everything had arrived.
        polled, polls = time.monotonic(), polls + 1
        if (_bobs_reads(alice, stack, bob_id, media_id), _grant_views(alice, stack)) == (calls, calls):
            return owner_get, grantee_get, polled - finished, polls
        assert polled - finished < 120, "bob's reads did not all reach the audit log and counters in 120 s"
        time.sleep(0.05)


def test_bench_audit_cost_of_a_grantee_read(tmp_path_factory: pytest.TempPathFactory) -> None:
    # One stack at a time: records written during the request, then the default spool for the recorder worker.
    with _stack(tmp_path_factory.mktemp("bench-audit-direct"), {"RECORD_DELIVERY": "direct"}) as stack:
        owner_direct, grantee_direct, direct_lag, direct_polls = _reads_of_a_shared_item(stack)
    with _stack(tmp_path_factory.mktemp("bench-audit-spooled")) as stack:
        assert stack.env["RECORD_DELIVERY"].startswith("file:")
        owner_spooled, grantee_spooled, spooled_lag, spooled_polls = _reads_of_a_shared_item(stack)

    print(f"\n== audit: what recording costs a grantee's GET /media/{{id}} ({SAMPLES} calls each, local HTTP API)")
    print("  RECORD_DELIVERY=direct (audit entry + grant view counters written during the request)")
    print(row("GET /media/{id} by the owner (baseline)", owner_direct))
    print(row("GET /media/{id} by a grantee, direct", grantee_direct, owner_direct))
    print("  RECORD_DELIVERY=file:<spool> (default: one line appended; the recorder worker writes later)")
    print(row("GET /media/{id} by the owner (baseline)", owner_spooled))
    print(row("GET /media/{id} by a grantee, deferred", grantee_spooled, owner_spooled))
    deferred_vs_direct = statistics.median(grantee_spooled) / statistics.median(grantee_direct)
    print(f"  grantee deferred/direct p50 ratio {deferred_vs_direct:.2f}x (across the two stacks)")
    print(
        f"  all {SAMPLES + 1} of bob's reads in alice's GET /me/audit and grant_views, from the last call to the start"
        f" of the poll that found them: direct {direct_lag:.2f} s (poll {direct_polls}), deferred {spooled_lag:.2f} s"
        f" (poll {spooled_polls}; the recorder's lag, to within one poll of ~1 s)"
    )
