"""`make bench`: a bulk upload through the `mediavault` command against boto3 putting the same bytes straight
into the same bucket (goal: the command reaches >= 0.8x the raw put's throughput), then how long until every
uploaded item is `ready`.

The corpus is made in the run: 200 distinct JPEGs of ~5 MB (seeded noise at quality 95, so ~1 GB that does not
compress). The command runs as a subprocess, logged in, `upload DIR --no-wait` at its default parallelism
(`--jobs 4`: 4 files on the wire at once, while 4 more threads hash and declare); its time is the whole process
(start-up, token check, hashing, declaring, sending). The raw puts send as many files at once (4 threads)
and go under a prefix the processing queue's S3 filter (`originals/`) ignores, so they are never processed.

Four rounds, each as another user (alice, bob, pat, gina), so every round is a first upload of the corpus (nothing
to skip as a duplicate). On this machine one side's time varies by up to 1.6x between runs, and the emulator
slows as it holds more objects, so the order alternates (raw then command, command then raw, ...: a drift costs
both sides alike). The ratio is of the two sides' median round times, so one round disturbed on either side (a raw
round once took 14.4 s against 3.6-8.9 s for the others) does not decide it; each round, and the throughput over
all four (4 GB each), are printed too.

Time to ready (first round) is measured from the start of the command: once it has returned, GET /media is polled
(not during the upload, so the polling does not slow what it measures). Nothing is processed during the raw puts,
and the command runs with the processing workers held still (SIGSTOP: what arrives waits in the queue), so both
sides have the machine to themselves; processing starts when the first command has returned, and its time is in
the time to ready. After that the workers stay still: later rounds' uploads are never processed, and their
notifications are dropped after each round (moto's SQS counts every queued message on each send, so a queue
growing by 200 a round would slow each round's command more than the last), and both sides' objects are deleted
after each round.

The command sends each photo as one presigned PUT (`"method": "PUT"`), streamed from the file, as boto3 does.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

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
USERS = ("alice", "bob", "pat", "gina")  # one round each; time to ready is measured on the first
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
    return f"  {name:<46} {rate:7.1f} MB/s  {seconds:7.2f} s{ratio}"


def emulator_client(stack: DevStack, service: str) -> Any:
    """A boto3 client of the stack's emulator."""
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=stack.emulator_url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(max_pool_connections=JOBS),
    )


def drop_queued(stack: DevStack) -> None:
    """Delete every message in the processing queue (PurgeQueue may run once a minute only)."""
    sqs, queue = emulator_client(stack, "sqs"), stack.env["PROCESSING_QUEUE_URL"]
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)]
        sqs.delete_message_batch(QueueUrl=queue, Entries=entries)


def delete_all(stack: DevStack, prefix: str) -> None:
    """Delete every version of every object under the prefix in the media bucket."""
    s3, bucket = emulator_client(stack, "s3"), stack.env["MEDIA_BUCKET"]
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        versions = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        if versions:
            targets = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions]
            s3.delete_objects(Bucket=bucket, Delete={"Objects": targets, "Quiet": True})


def raw_put(stack: DevStack, files: list[Path], prefix: str) -> float:
    """Seconds for boto3 to put every file into the media bucket, JOBS at a time."""
    s3 = emulator_client(stack, "s3")
    bucket = stack.env["MEDIA_BUCKET"]

    def put(path: Path) -> None:
        with path.open("rb") as body:
            s3.put_object(Bucket=bucket, Key=f"{prefix}{path.name}", Body=body, ContentType="image/jpeg")

    put(files[0])  # warm-up: connection, signer, emulator's first write
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        list(pool.map(put, files))
    return time.perf_counter() - started


def statuses(stack: DevStack, session: requests.Session) -> Counter[str]:
    """How many of the session user's items are in each status."""
    counts: Counter[str] = Counter()
    params: dict[str, str] = {"limit": "100"}
    while True:
        page = session.get(f"{stack.api_url}/media", params=params, timeout=30).json()
        counts.update(item["status"] for item in page["items"])
        if not page.get("next_cursor"):
            return counts
        params["cursor"] = page["next_cursor"]


def upload_as(stack: DevStack, user: str, photos: Path, config_dir: Path) -> float:
    """Log the command in as the user, then time `upload DIR --no-wait` (the whole process); every file uploaded."""
    environment = cli_environment(stack, config_dir)
    cli = mediavault_command()
    logged_in = subprocess.run(
        [*cli, "login", "--username", user, "--password", user], env=environment, capture_output=True, text=True
    )
    assert logged_in.returncode == 0, logged_in.stderr
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
        seconds = time.perf_counter() - started
    assert uploaded.returncode == 0, uploaded.stderr[-2000:]
    outcomes = json.loads(uploaded.stdout)
    assert Counter(o["result"] for o in outcomes) == {"uploaded": PHOTOS}
    return seconds


def seconds_until_ready(stack: DevStack, user: str) -> float:
    """Seconds until all PHOTOS items of the user are ready, polling GET /media."""
    session, started = session_of(stack, user), time.perf_counter()
    while True:
        counts = statuses(stack, session)
        if counts["ready"] + counts["failed"] + counts["rejected"] >= PHOTOS:
            assert counts["ready"] == PHOTOS, counts
            return time.perf_counter() - started
        assert time.perf_counter() - started < READY_TIMEOUT, f"not all ready after {READY_TIMEOUT:.0f} s: {counts}"
        time.sleep(0.5)


def test_bench_cli_bulk_upload_against_raw_put(stack: DevStack, photos: Path, tmp_path: Path) -> None:
    files = sorted(photos.iterdir())
    total = sum(f.stat().st_size for f in files)
    rounds: list[tuple[float, float]] = []  # (raw seconds, command seconds)
    ready_seconds = 0.0
    for number, user in enumerate(USERS):
        if number % 2 == 0:
            raw_seconds = raw_put(stack, files, f"{RAW_PREFIX}{number}/")
            cli_seconds = upload_as(stack, user, photos, tmp_path / user)
        else:
            cli_seconds = upload_as(stack, user, photos, tmp_path / user)
            raw_seconds = raw_put(stack, files, f"{RAW_PREFIX}{number}/")
        rounds.append((raw_seconds, cli_seconds))
        if number == 0:
            ready_seconds = cli_seconds + seconds_until_ready(stack, user)
            stack.pause(*PROCESSING)  # until the stack stops: later rounds run on a machine as quiet as the first
        else:
            # Those uploads are never processed: drop their notifications, so each round's command starts with the
            # empty processing queue the first one had (moto counts every queued message on each send).
            drop_queued(stack)
        # And each round starts with the bucket the first one had: the emulator spools objects of over 5 MB to
        # temporary files, and 2 GB more a round (8 GB in all) would leave the disk flushing through later rounds.
        for prefix in (f"{RAW_PREFIX}{number}/", "originals/"):
            delete_all(stack, prefix)

    print(f"\n== bulk upload: {PHOTOS} JPEGs, {total / MB:.0f} MB, {JOBS} in parallel (local stack, moto S3)")
    for number, (raw_seconds, cli_seconds) in enumerate(rounds, 1):
        first = "raw first" if number % 2 else "command first"
        print(throughput(f"round {number} ({first}): boto3 put_object", total, raw_seconds))
        print(throughput(f"round {number}: mediavault upload --no-wait", total, cli_seconds, total / MB / raw_seconds))
    raw_all, cli_all = sum(r for r, _ in rounds), sum(c for _, c in rounds)
    everything = total * len(rounds)
    print(throughput("all rounds: boto3 put_object (baseline)", everything, raw_all))
    print(throughput("all rounds: mediavault upload --no-wait", everything, cli_all, everything / MB / raw_all))
    print(throughput("round 1: mediavault upload, until all ready", total, ready_seconds, total / MB / rounds[0][0]))
    raw_median, cli_median = statistics.median(r for r, _ in rounds), statistics.median(c for _, c in rounds)
    print(throughput("median round: boto3 put_object (baseline)", total, raw_median))
    print(throughput("median round: mediavault upload --no-wait", total, cli_median, total / MB / raw_median))
    print(f"  command/raw throughput ratio (median rounds) {raw_median / cli_median:.2f}x (goal >= {GOAL}x)")
