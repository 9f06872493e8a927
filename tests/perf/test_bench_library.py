"""`make bench`: GET /media/{id} and one page of GET /media over a 10,000-item library, through the local HTTP
API, against the raw DynamoDB GetItem / Query on the same emulator in the same run (the floor)."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests

from infra.local.stack import DevStack, Ports
from tests.conftest import free_port
from tests.support.http import password_token

ITEMS = 10_000
SAMPLES = 300


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _timed(fn: Callable[[], object], samples: int = SAMPLES) -> list[float]:
    fn()
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - started)
    return timings


def _row(name: str, timings: list[float], baseline: list[float] | None = None) -> str:
    p50, p99 = statistics.median(timings) * 1000, _percentile(timings, 0.99) * 1000
    ratio = f"  ratio p50 {statistics.median(timings) / statistics.median(baseline):.1f}x" if baseline else ""
    return f"  {name:<34} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms{ratio}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> DevStack:
    ports = Ports(emulator=free_port(), identity=free_port(), api=free_port(), dynamodb=free_port())
    dev = DevStack(
        ports, log_dir=tmp_path_factory.mktemp("bench-library"), extra_env={"POWERTOOLS_LOG_LEVEL": "WARNING"}
    )
    dev.start()
    yield dev
    dev.stop()


def test_bench_library_reads_against_raw_dynamodb(stack: DevStack) -> None:
    token = password_token(stack.issuer, "alice")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    owner = session.get(f"{stack.api_url}/me", timeout=10).json()["user_id"]
    dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=stack.emulator_url)
    table = stack.env["MEDIA_TABLE"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = []
    for batch_start in range(0, ITEMS, 25):
        requests_batch = []
        for n in range(batch_start, min(ITEMS, batch_start + 25)):
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
            requests_batch.append({"PutRequest": {"Item": item}})
        dynamodb.batch_write_item(RequestItems={table: requests_batch})
    target = ids[len(ids) // 2]

    raw_get = _timed(lambda: dynamodb.get_item(TableName=table, Key={"media_id": {"S": target}}, ConsistentRead=True))
    api_get = _timed(lambda: session.get(f"{stack.api_url}/media/{target}", timeout=10).raise_for_status())
    raw_page = _timed(
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
    api_page = _timed(
        lambda: session.get(f"{stack.api_url}/media?limit=50", timeout=10).raise_for_status(), samples=100
    )
    assert len(session.get(f"{stack.api_url}/media?limit=50", timeout=10).json()["items"]) == 50
    print(f"\n== library reads over {ITEMS} items (local HTTP API vs raw DynamoDB on the same emulator)")
    print(_row("raw GetItem (baseline)", raw_get))
    print(_row("GET /media/{id}", api_get, raw_get))
    print(_row("raw Query, 50 items (baseline)", raw_page))
    print(_row("GET /media?limit=50", api_page, raw_page))
