"""The analytics counter store: the DynamoDB adapter and the in-memory fake add, dedupe and read alike."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.provision import load_template
from shared.adapters.dynamo.analytics import DynamoCounterStore
from shared.domain.analytics import Increment
from tests.unit.test_analytics import MemoryCounterStore

REGION = "us-east-1"
DAY = date(2026, 3, 10)


def _dynamo() -> Iterator[DynamoCounterStore]:
    props = load_template()["Resources"]["AnalyticsTable"]["Properties"]
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName="contract-analytics",
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            BillingMode="PAY_PER_REQUEST",
        )
        yield DynamoCounterStore(client, "contract-analytics")


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryCounterStore()
    else:
        yield from _dynamo()


def test_increments_add_up_per_scope_and_day(store: Any) -> None:
    store.add([Increment("user#a", {"link_views": 2}, DAY), Increment("system", {"link_views": 2}, DAY)])
    store.add([Increment("user#a", {"link_views": 1, "grant_views": 1}, DAY)])
    store.add([Increment("user#a", {"link_views": 5}, DAY + timedelta(days=1))])
    assert store.days("user#a", DAY, DAY) == {DAY: {"link_views": 3, "grant_views": 1}}
    assert store.days("system", DAY, DAY + timedelta(days=5)) == {DAY: {"link_views": 2}}
    assert store.days("user#b", DAY, DAY) == {}


def test_an_event_id_counts_once(store: Any) -> None:
    increments = [Increment("user#a", {"processed_ready": 1}, DAY), Increment("user#a", {"items_image": 1})]
    assert store.add(increments, "processed#m#v1#ready") is True
    assert store.add(increments, "processed#m#v1#ready") is False
    assert store.add(increments, "processed#m#v2#ready") is True
    assert store.days("user#a", DAY, DAY) == {DAY: {"processed_ready": 2}}
    assert store.totals("user#a") == {"items_image": 2}


def test_a_range_reads_only_its_days_and_totals_stay_apart(store: Any) -> None:
    for offset in range(5):
        store.add([Increment("system", {"active_users": offset + 1}, DAY + timedelta(days=offset))])
    store.add([Increment("system", {"bytes_video": 10})])
    found = store.days("system", DAY + timedelta(days=1), DAY + timedelta(days=3))
    assert found == {DAY + timedelta(days=n): {"active_users": n + 1} for n in (1, 2, 3)}
    assert store.totals("system") == {"bytes_video": 10}


def test_increments_of_the_same_scope_and_day_in_one_event_are_added_together(store: Any) -> None:
    same_day = [
        Increment("system", {"link_views": 1}, DAY),
        Increment("system", {"link_views": 2, "grant_views": 1}, DAY),
    ]
    assert store.add(same_day, "one-event") is True
    assert store.days("system", DAY, DAY) == {DAY: {"link_views": 3, "grant_views": 1}}
