"""The audit table adapter on moto's DynamoDB with the template's table: append-only, every listing a Query."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from infra.local.provision import load_template
from shared.adapters.dynamo.audit import AuditDayModel, AuditModel, DynamoAuditLog
from shared.domain.audit import AuditEntry, AuditPage, AuditQuery
from shared.domain.errors import Conflict, ValidationError
from tests.contract.conftest import CURSOR_KEY, REGION

NOW = datetime.now(UTC).replace(microsecond=0)
RETENTION_DAYS = 400


@pytest.fixture
def log() -> Iterator[DynamoAuditLog]:
    props = load_template()["Resources"]["AuditTable"]["Properties"]
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="contract-audit",
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
            BillingMode="PAY_PER_REQUEST",
        )
        yield DynamoAuditLog("contract-audit", REGION, retention_days=RETENTION_DAYS, cursor_key=CURSOR_KEY)


def entry(entry_id: str, minutes_ago: float, actor: str = "user-ada", **fields: object) -> AuditEntry:
    values: dict[str, object] = {
        "at": NOW - timedelta(minutes=minutes_ago),
        "actor_id": actor,
        "actor_name": actor.removeprefix("user-"),
        "actor_role": "admin",
        "action": "media.read",
        "resource_type": "media",
        "resource_id": "m1",
        "owner_id": "user-alice",
        "status": 200,
        "source_ip": "203.0.113.7",
        "user_agent": "curl/8",
        "request_id": f"req-{entry_id}",
        **fields,
    }
    return AuditEntry(entry_id=entry_id, **values)  # type: ignore[arg-type]


def every_page(listing: Callable[[int, str | None], AuditPage], limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = listing(limit, cursor)
        pages.append([e.entry_id for e in page.entries])
        if page.cursor is None:
            return pages
        cursor = page.cursor
        assert len(pages) < 50, "the listing does not end"


def test_an_entry_reads_back_whole_from_every_listing(log: DynamoAuditLog) -> None:
    written = entry("e1", 1)
    log.append(written)
    query = AuditQuery()
    assert log.by_actor("user-ada", query, 10, None).entries == [written]
    assert log.by_resource("media#m1", query, 10, None).entries == [written]
    assert log.by_owner("user-alice", query, 10, None).entries == [written]
    assert log.in_window(query, 10, None).entries == [written]


def test_entries_are_never_overwritten_and_expire_after_the_retention(log: DynamoAuditLog) -> None:
    first = entry("e1", 1)
    log.append(first)
    with pytest.raises(Conflict):
        log.append(replace(first, status=500))
    stored = next(iter(AuditModel.query(first.at.date().isoformat())))
    assert stored.status == 200
    assert stored.expires == first.at + timedelta(days=RETENTION_DAYS)


def test_the_adapter_offers_no_way_to_change_or_remove_an_entry() -> None:
    public = {name for name in vars(DynamoAuditLog) if not name.startswith("_")}
    assert public == {"append", "by_actor", "by_resource", "by_owner", "in_window"}


def test_the_owner_feed_holds_only_what_others_did(log: DynamoAuditLog) -> None:
    log.append(entry("by-admin", 3))
    log.append(entry("by-owner", 2, actor="user-alice", action="media.update"))
    log.append(entry("no-owner", 1, actor="user-bob", resource_type="settings", resource_id="", owner_id=""))
    assert [e.entry_id for e in log.by_owner("user-alice", AuditQuery(), 10, None).entries] == ["by-admin"]
    # An entry naming no single resource is found by time and actor, never by resource.
    assert [e.entry_id for e in log.by_actor("user-bob", AuditQuery(), 10, None).entries] == ["no-owner"]
    assert [e.entry_id for e in log.by_resource("media#m1", AuditQuery(), 10, None).entries] == ["by-owner", "by-admin"]


def test_pages_are_newest_first_without_gaps_or_repeats(log: DynamoAuditLog) -> None:
    for number in range(7):
        log.append(entry(f"e{number}", 10 - number))
    expected = [f"e{number}" for number in reversed(range(7))]
    for listing in (
        lambda limit, cursor: log.by_actor("user-ada", AuditQuery(), limit, cursor),
        lambda limit, cursor: log.by_resource("media#m1", AuditQuery(), limit, cursor),
        lambda limit, cursor: log.by_owner("user-alice", AuditQuery(), limit, cursor),
        lambda limit, cursor: log.in_window(AuditQuery(), limit, cursor),
    ):
        pages = every_page(listing, 3)
        assert pages == [expected[:3], expected[3:6], expected[6:]]


def test_a_full_last_page_has_no_cursor(log: DynamoAuditLog) -> None:
    for number in range(4):
        log.append(entry(f"e{number}", number))
    assert every_page(lambda limit, cursor: log.by_actor("user-ada", AuditQuery(), limit, cursor), 2) == [
        ["e0", "e1"],
        ["e2", "e3"],
    ]


def test_filters_narrow_each_listing(log: DynamoAuditLog) -> None:
    log.append(entry("read-old", 120))
    log.append(entry("edit", 60, action="media.update"))
    log.append(entry("read-bob", 30, actor="user-bob", actor_role="user"))
    log.append(entry("read-new", 5))
    window = AuditQuery(since=NOW - timedelta(minutes=90), until=NOW - timedelta(minutes=10))
    assert [e.entry_id for e in log.in_window(window, 10, None).entries] == ["read-bob", "edit"]
    assert [e.entry_id for e in log.by_actor("user-ada", window, 10, None).entries] == ["edit"]
    reads = AuditQuery(action="media.read")
    assert [e.entry_id for e in log.by_resource("media#m1", reads, 10, None).entries] == [
        "read-new",
        "read-bob",
        "read-old",
    ]
    bob_reads = AuditQuery(actor="user-bob", action="media.read")
    assert [e.entry_id for e in log.by_resource("media#m1", bob_reads, 10, None).entries] == ["read-bob"]
    assert [e.entry_id for e in log.in_window(bob_reads, 10, None).entries] == ["read-bob"]
    # The bounds are inclusive, to the microsecond.
    exact = AuditQuery(since=NOW - timedelta(minutes=60), until=NOW - timedelta(minutes=60))
    assert [e.entry_id for e in log.in_window(exact, 10, None).entries] == ["edit"]


def test_the_time_listing_crosses_days_and_skips_empty_months(log: DynamoAuditLog) -> None:
    log.append(entry("today", 1))
    log.append(entry("yesterday", 24 * 60 + 1))
    log.append(entry("two-months-ago", 60 * 24 * 60))
    pages = every_page(lambda limit, cursor: log.in_window(AuditQuery(), limit, cursor), 2)
    assert pages == [["today", "yesterday"], ["two-months-ago"]]
    # Only the days holding entries are read: the empty ones between cost nothing.
    days = [marker.sort for marker in AuditDayModel.query("days")]
    assert len(days) == len(set(days)) == 3
    last_week = AuditQuery(since=NOW - timedelta(days=7))
    assert [e.entry_id for e in log.in_window(last_week, 10, None).entries] == ["today", "yesterday"]


def test_a_cursor_serves_only_the_listing_and_filters_it_came_from(log: DynamoAuditLog) -> None:
    for number in range(3):
        log.append(entry(f"e{number}", number))
    cursor = log.by_actor("user-ada", AuditQuery(), 1, None).cursor
    assert cursor
    with pytest.raises(ValidationError):
        log.by_actor("user-bob", AuditQuery(), 1, cursor)
    with pytest.raises(ValidationError):
        log.by_actor("user-ada", AuditQuery(action="media.read"), 1, cursor)
    with pytest.raises(ValidationError):
        log.in_window(AuditQuery(), 1, cursor)
    with pytest.raises(ValidationError):
        log.by_actor("user-ada", AuditQuery(), 1, cursor[:-2] + "xx")
