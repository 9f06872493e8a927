"""`make bench`: start-up and upload -> ready latency through the local stack, as ratios to baselines.

Baselines are measured in the same run on the same machine:
- start-up: the bare AWS emulator alone reaching healthy (the floor any local stack pays);
- latency: rendering the same 12 MP JPEG in-process (the work processing must do anyway).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import pytest

from infra.local.stack import ROOT, DevStack, Ports, wait_for_http
from shared.media.images import render_image
from tests.conftest import free_port
from tests.support.http import ApiSession, password_token
from tests.support.images import photo_bytes

RUNS = 10


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _report(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"\n== {title}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


@pytest.fixture(scope="module")
def photo() -> bytes:
    return photo_bytes(4000, 3000)


def test_bench_startup_to_healthy_api(tmp_path_factory: pytest.TempPathFactory) -> None:
    port = free_port()
    started = time.perf_counter()
    emulator = subprocess.Popen(
        [sys.executable, "-m", "infra.local.emulator", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/moto-api/", process=emulator)
        baseline = time.perf_counter() - started
    finally:
        emulator.terminate()
        emulator.wait()
    ports = Ports(emulator=free_port(), identity=free_port(), api=free_port(), dynamodb=free_port())
    started = time.perf_counter()
    with DevStack(ports, log_dir=tmp_path_factory.mktemp("bench-start")):
        elapsed = time.perf_counter() - started
    _report(
        "start-up (make run's work, venv installed)",
        [
            ("emulator alone (baseline)", f"{baseline:.2f} s"),
            ("whole stack to healthy API", f"{elapsed:.2f} s  (goal <= 15 s)"),
            ("ratio stack / baseline", f"{elapsed / baseline:.1f}x"),
        ],
    )


def test_bench_upload_to_ready_latency(tmp_path_factory: pytest.TempPathFactory, photo: bytes) -> None:
    direct = []
    for _ in range(RUNS):
        started = time.perf_counter()
        render_image(photo, max_pixels=100_000_000)
        direct.append(time.perf_counter() - started)
    ports = Ports(emulator=free_port(), identity=free_port(), api=free_port(), dynamodb=free_port())
    latencies = []
    with DevStack(ports, log_dir=tmp_path_factory.mktemp("bench-latency")) as stack:
        alice = ApiSession(stack.api_url, password_token(stack.issuer, "alice"))
        alice.wait_for_status(alice.upload(photo)[0], {"ready", "failed"})  # warm the worker
        for _ in range(RUNS):
            started = time.perf_counter()
            media_id, stored = alice.upload(photo)
            assert stored.ok, stored.text
            item = alice.wait_for_status(media_id, {"ready", "failed"}, timeout=60)
            latencies.append(time.perf_counter() - started)
            assert item["status"] == "ready", item
    p50, p95 = statistics.median(latencies), _percentile(latencies, 0.95)
    base = statistics.median(direct)
    _report(
        f"upload -> ready, 12 MP JPEG ({len(photo) / 1e6:.1f} MB), {RUNS} runs",
        [
            ("in-process rendering p50 (baseline)", f"{base * 1000:.0f} ms"),
            ("declare + POST + process p50", f"{p50 * 1000:.0f} ms  (goal <= 1000 ms)"),
            ("declare + POST + process p95", f"{p95 * 1000:.0f} ms"),
            ("ratio p50 / baseline", f"{p50 / base:.1f}x"),
        ],
    )
