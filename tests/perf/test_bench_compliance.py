"""`make bench`: export and erasure of a user with 1,000 items, through the local stack's API and maintainer worker.

Baselines, measured in the same run on the same emulator:
- export: paging the same 1,000 items through GET /media; a plain S3 GetObject of each of their originals; and the
  S3 calls the export makes per item (ListObjectVersions of its key, GetObject of each version) made plainly
  (reading what the archive must hold, without building or uploading it);
- erasure: one DeleteObjects of the originals' versions (ids known) and BatchWriteItem deletes of the rows, for
  another owner's 1,000 items of the same shape (removing what must go, without finding it page by page or
  pseudonymising anything).

Job times run from the request to the job reading done, so they include the worker picking the job up (it polls
its queue). Items are seeded as already processed (no renditions); the bucket's upload notification is switched
off first, so the processor does not take 1,000 seeded originals for new uploads meanwhile.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import requests

from infra.local.stack import DevStack
from tests.perf.measure import running_stack, seed_ready_items, session_of
from tests.support.images import jpeg_bytes

ITEMS = 1_000
JOB_TIMEOUT = 600.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    yield from running_stack(tmp_path_factory.mktemp("bench-compliance"))


def _seconds(fn: Callable[[], object]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _until_finished(poll: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Poll a job's view until it is done or failed."""
    deadline = time.monotonic() + JOB_TIMEOUT
    while True:
        view = poll()
        if view["status"] in ("done", "failed") or time.monotonic() > deadline:
            return view
        time.sleep(0.05)


def _line(name: str, seconds: float, baseline: float | None = None) -> str:
    ratio = f"  ratio {seconds / baseline:6.2f}x" if baseline else ""
    return f"  {name:<54} {seconds:7.2f} s  {seconds * 1000 / ITEMS:6.2f} ms/item{ratio}"


def _store_originals(s3: Any, bucket: str, owner: str, ids: list[str], data: bytes) -> list[dict[str, str]]:
    """Each item's original in the bucket; the stored versions (key and version id)."""
    stored = []
    for media_id in ids:
        key = f"originals/{owner}/{media_id}"
        put = s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="image/jpeg")
        stored.append({"Key": key, "VersionId": put["VersionId"]})
    return stored


def _everything_of(dynamodb: Any, s3: Any, bucket: str, user_id: str) -> list[str]:
    """Every table row and object version that still carries user_id."""
    rows = [
        json.dumps(item, sort_keys=True)
        for table in dynamodb.list_tables()["TableNames"]
        for page in dynamodb.get_paginator("scan").paginate(TableName=table)
        for item in page["Items"]
    ]
    objects = [
        entry["Key"]
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", [])
    ]
    return [text for text in rows + objects if user_id in text]


def test_bench_export_and_erasure_of_1000_items(stack: DevStack) -> None:
    api = stack.api_url
    alice, ada = session_of(stack, "alice"), session_of(stack, "ada")
    owner = alice.get(f"{api}/me", timeout=10).json()["user_id"]
    ada.get(f"{api}/me", timeout=10).raise_for_status()
    dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=stack.dynamodb_url)
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=stack.emulator_url)
    table, bucket = stack.env["MEDIA_TABLE"], stack.env["MEDIA_BUCKET"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    photo = jpeg_bytes(160, 120)
    ids = seed_ready_items(dynamodb, table, owner, ITEMS)
    _store_originals(s3, bucket, owner, ids, photo)

    # Baselines of the export: the rows through the API, the bytes straight from S3.
    def page_all() -> int:
        seen, cursor = 0, ""
        while True:
            page = alice.get(
                f"{api}/media", params={"limit": 100, **({"cursor": cursor} if cursor else {})}, timeout=30
            )
            page.raise_for_status()
            seen += len(page.json()["items"])
            cursor = page.json().get("next_cursor") or ""
            if not cursor:
                return seen

    listing, listed = _seconds(page_all)
    assert listed == ITEMS
    keys = [f"originals/{owner}/{m}" for m in ids]
    raw_reads, _ = _seconds(lambda: [s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys])

    def list_and_read() -> None:
        # The S3 calls the export makes per item (its versions, then each one's bytes), made plainly.
        for key in keys:
            for version in s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]:
                s3.get_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])["Body"].read()

    raw_listed_reads, _ = _seconds(list_and_read)

    # The export: from POST /me/export to its job reading done.
    def export() -> dict[str, Any]:
        accepted = alice.post(f"{api}/me/export", timeout=30)
        assert accepted.status_code == 202, accepted.text
        job_id = accepted.json()["job_id"]
        return _until_finished(lambda: alice.get(f"{api}/me/export/{job_id}", timeout=30).json())

    exporting, progress = _seconds(export)
    assert (progress["status"], progress["items_done"], progress["items_total"]) == ("done", ITEMS, ITEMS), progress
    archive = zipfile.ZipFile(io.BytesIO(requests.get(progress["download_url"], timeout=60).content))
    folders = {name.split("/")[1] for name in archive.namelist() if name.startswith("media/")}
    assert folders == set(ids)
    assert archive.read(f"media/{ids[0]}/v1-photo-0.jpg") == photo

    # Baseline of the erasure: another owner's 1,000 items of the same shape, deleted with plain calls.
    other = "user-bench-baseline"
    other_ids = seed_ready_items(dynamodb, table, other, ITEMS)
    other_versions = _store_originals(s3, bucket, other, other_ids, photo)

    def raw_delete() -> None:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": other_versions, "Quiet": True})
        for start in range(0, ITEMS, 25):
            batch = [{"DeleteRequest": {"Key": {"media_id": {"S": m}}}} for m in other_ids[start : start + 25]]
            dynamodb.batch_write_item(RequestItems={table: batch})

    raw_erasing, _ = _seconds(raw_delete)
    assert _everything_of(dynamodb, s3, bucket, other) == []

    # The erasure: from DELETE /me to its job reading done (followed as an admin: her own tokens stop at once).
    def erase() -> dict[str, Any]:
        accepted = alice.delete(f"{api}/me", timeout=30)
        assert accepted.status_code == 202, accepted.text
        job_id = accepted.json()["job_id"]
        return _until_finished(lambda: ada.get(f"{api}/admin/jobs/{job_id}", timeout=30).json())

    erasing, job = _seconds(erase)
    assert job["status"] == "done", job
    assert _everything_of(dynamodb, s3, bucket, owner) == []

    print(f"\n== export and erasure of a user with {ITEMS} items (local stack; baselines on the same emulator)")
    print(_line("GET /media pages of 100 (baseline)", listing))
    print(_line("raw S3 GetObject of each original (baseline)", raw_reads))
    print(_line("raw ListObjectVersions + GetObject per item (baseline)", raw_listed_reads))
    print(_line("export: POST /me/export -> done", exporting, listing))
    print(_line("  against raw S3 reads", exporting, raw_reads))
    print(_line("  against raw S3 versions + reads", exporting, raw_listed_reads))
    print(_line("raw DeleteObjects + BatchWriteItem (baseline)", raw_erasing))
    print(_line("erasure: DELETE /me -> done", erasing, raw_erasing))
