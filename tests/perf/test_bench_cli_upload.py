"""`make bench`: a bulk upload through the `mediavault` command against boto3 putting the same bytes straight
into the same bucket (goal: the command reaches >= 0.8x the raw put's throughput), then how long until every
uploaded item is `ready`.

The corpus is made in the run: 200 distinct JPEGs of ~5 MB (seeded noise at quality 95, so ~1 GB that does not
compress). The command runs as a subprocess, logged in as alice, `upload DIR --no-wait` at its default
parallelism (`--jobs 4`: 4 files on the wire at once, while 4 more threads hash and declare); its time is the whole
process (start-up, token check, hashing, declaring, POSTing). The raw puts send as many files at once (4 threads)
and go under a prefix the processing queue's S3 filter (`originals/`) ignores, so they are never processed.

Time to ready is measured from the start of the command: once it has returned, GET /media is polled (not during
the upload, so the polling does not slow what it measures). The raw puts run first, with nothing being processed;
the command runs with the processing workers held still (SIGSTOP: what arrives waits in the queue), so both sides
have the machine to themselves; processing starts when the command has returned, and its time is in the time to
ready.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import numpy as np
import pytest
import requests
from botocore.config import Config
from PIL import Image

from infra.local.stack import DevStack
from tests.cli.conftest import cli_environment, mediavault_command
from tests.perf.measure import running_stack, session_of

PHOTOS = 200
# 2448 x 1792 noise at quality 95 is ~5.1 MB of JPEG: 200 of them are ~1 GB.
WIDTH, HEIGHT, QUALITY = 2448, 1792, 95
JOBS = 4  # the command's default --jobs (files sent at once); the raw puts use as many threads
RAW_PREFIX = "bench-raw/"  # outside originals/, the only prefix that queues processing (infra/template.yaml)
READY_TIMEOUT = 1800.0
GOAL = 0.8
MB = 1_000_000
PROCESSING = ("worker", "analyzer")  # the stack's processes that turn uploads into renditions (infra/local/stack.py)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    yield from running_stack(tmp_path_factory.mktemp("bench-cli-upload"))


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus, written once per run: photo n is the same bytes in every run (its noise is seeded with n)."""
    folder = tmp_path_factory.mktemp("bench-cli-photos")
    for n in range(PHOTOS):
        pixels = np.random.default_rng(n).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"photo-{n:03d}.jpg", format="JPEG", quality=QUALITY)
    return folder


def throughput(name: str, total: int, seconds: float, baseline: float | None = None) -> str:
    """One report line in `row`'s layout: MB/s and seconds, and the ratio against the baseline's MB/s."""
    rate = total / MB / seconds
    ratio = f"  ratio {rate / baseline:.2f}x" if baseline else ""
    return f"  {name:<38} {rate:7.1f} MB/s  {seconds:7.2f} s{ratio}"


def raw_put(stack: DevStack, files: list[Path]) -> float:
    """Seconds for boto3 to put every file into the media bucket, JOBS at a time."""
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=stack.emulator_url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(max_pool_connections=JOBS),
    )
    bucket = stack.env["MEDIA_BUCKET"]

    def put(path: Path) -> None:
        with path.open("rb") as body:
            s3.put_object(Bucket=bucket, Key=f"{RAW_PREFIX}{path.name}", Body=body, ContentType="image/jpeg")

    put(files[0])  # warm-up: connection, signer, emulator's first write
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        list(pool.map(put, files))
    return time.perf_counter() - started


def statuses(stack: DevStack, session: requests.Session) -> Counter[str]:
    """How many of alice's items are in each status."""
    counts: Counter[str] = Counter()
    params: dict[str, str] = {"limit": "100"}
    while True:
        page = session.get(f"{stack.api_url}/media", params=params, timeout=30).json()
        counts.update(item["status"] for item in page["items"])
        if not page.get("next_cursor"):
            return counts
        params["cursor"] = page["next_cursor"]


def test_bench_cli_bulk_upload_against_raw_put(stack: DevStack, photos: Path, tmp_path: Path) -> None:
    files = sorted(photos.iterdir())
    total = sum(f.stat().st_size for f in files)
    environment = cli_environment(stack, tmp_path / "config")
    cli = mediavault_command()
    logged_in = subprocess.run(
        [*cli, "login", "--username", "alice", "--password", "alice"], env=environment, capture_output=True, text=True
    )
    assert logged_in.returncode == 0, logged_in.stderr

    raw_seconds = raw_put(stack, files)

    started = time.perf_counter()
    # The processor and analyzer wait while the command runs, as nothing is processed during the raw puts: on a
    # 2-core machine rendering 5 MB photos would otherwise take the CPU the client and the API need.
    with stack.paused(*PROCESSING):
        uploaded = subprocess.run(
            [*cli, "upload", str(photos), "--no-wait", "--json"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=READY_TIMEOUT,
        )
        cli_seconds = time.perf_counter() - started
    assert uploaded.returncode == 0, uploaded.stderr[-2000:]
    outcomes = json.loads(uploaded.stdout)
    assert Counter(o["result"] for o in outcomes) == {"uploaded": PHOTOS}

    alice = session_of(stack, "alice")
    while True:
        counts = statuses(stack, alice)
        if counts["ready"] + counts["failed"] + counts["rejected"] >= PHOTOS:
            ready_seconds = time.perf_counter() - started
            break
        assert time.perf_counter() - started < READY_TIMEOUT, f"not all ready after {READY_TIMEOUT:.0f} s: {counts}"
        time.sleep(0.5)
    assert counts["ready"] == PHOTOS, counts

    raw_rate = total / MB / raw_seconds
    ratio = (total / MB / cli_seconds) / raw_rate
    print(f"\n== bulk upload: {PHOTOS} JPEGs, {total / MB:.0f} MB, {JOBS} in parallel (local stack, moto S3)")
    print(throughput("boto3 put_object (baseline)", total, raw_seconds))
    print(throughput("mediavault upload --no-wait", total, cli_seconds, raw_rate))
    print(throughput("mediavault upload, until all ready", total, ready_seconds, raw_rate))
    print(f"  command/raw throughput ratio {ratio:.2f}x (goal >= {GOAL}x)")
