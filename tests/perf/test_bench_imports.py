"""`make bench`: what a cold API container pays to import the app, against importing boto3 alone.

Each figure is the median of fresh interpreters' `-X importtime` totals, measured in the same run.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from tests.conftest import ROOT

ROUNDS = 7


def _import_us(module: str) -> int:
    """Microseconds a fresh interpreter spends importing module (its cumulative -X importtime figure)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [line.split("|") for line in result.stderr.splitlines() if line.startswith("import time:")]
    return max(int(cumulative) for _, cumulative, name in rows if name.strip() == module)


def test_bench_app_import_against_boto3() -> None:
    boto3_us = statistics.median(_import_us("boto3") for _ in range(ROUNDS))
    app_us = statistics.median(_import_us("app") for _ in range(ROUNDS))
    ratio = app_us / boto3_us
    print("\n== cold-start imports (median of fresh interpreters)")
    print(f"  import boto3 (baseline)   {boto3_us / 1000:7.1f} ms")
    print(f"  import app                {app_us / 1000:7.1f} ms  ratio {ratio:.2f}x  (goal <= 1.5x)")
