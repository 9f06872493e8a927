"""`make bench`: GET /media/{id} and one page of GET /media over a 10,000-item library, through the local HTTP
API, against the raw DynamoDB GetItem / Query on the same emulator in the same run (the floor)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
import requests

from infra.local.stack import DevStack
from tests.perf.measure import row, running_stack, seed_ready_items, timed
from tests.support.http import password_token

ITEMS = 10_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    yield from running_stack(tmp_path_factory.mktemp("bench-library"))


def test_bench_library_reads_against_raw_dynamodb(stack: DevStack) -> None:
    token = password_token(stack.issuer, "alice")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    owner = session.get(f"{stack.api_url}/me", timeout=10).json()["user_id"]
    dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=stack.dynamodb_url)
    table = stack.env["MEDIA_TABLE"]
    ids = seed_ready_items(dynamodb, table, owner, ITEMS)
    target = ids[len(ids) // 2]

    raw_get = timed(lambda: dynamodb.get_item(TableName=table, Key={"media_id": {"S": target}}, ConsistentRead=True))
    api_get = timed(lambda: session.get(f"{stack.api_url}/media/{target}", timeout=10).raise_for_status())
    raw_page = timed(
        lambda: dynamodb.query(
            TableName=table,
            IndexName="owner-created-index",
            KeyConditionExpression="owner_id = :o",
            ExpressionAttributeValues={":o": {"S": owner}},
            ScanIndexForward=False,
            Limit=50,
        ),
        samples=100,
    )
    api_page = timed(lambda: session.get(f"{stack.api_url}/media?limit=50", timeout=10).raise_for_status(), samples=100)
    assert len(session.get(f"{stack.api_url}/media?limit=50", timeout=10).json()["items"]) == 50
    print(f"\n== library reads over {ITEMS} items (local HTTP API vs raw DynamoDB on the same emulator)")
    print(row("raw GetItem (baseline)", raw_get))
    print(row("GET /media/{id}", api_get, raw_get))
    print(row("raw Query, 50 items (baseline)", raw_page))
    print(row("GET /media?limit=50", api_page, raw_page))
