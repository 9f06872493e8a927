"""`make bench`: what a cold API container pays to import the app, against importing boto3 alone.

Each figure is the median of fresh interpreters' `-X importtime` totals, measured in the same run.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from tests.conftest import ROOT

ROUNDS = 7


# What the API cannot run without, whatever our own code does: the fixed stack's libraries (pydantic models,
# Chalice routing, PynamoDB, Powertools logging and metrics) on top of boto3.
STACK = (
    "boto3",
    "pydantic.main",  # BaseModel itself: `import pydantic` alone loads lazily
    "chalice.app",
    "pynamodb.models",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
)


def _import_us(*modules: str) -> int:
    """Microseconds a fresh interpreter spends importing the modules (the sum of their top-level
    cumulative -X importtime figures)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {', '.join(modules)}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [line.split("|") for line in result.stderr.splitlines() if line.startswith("import time:")]
    # A top-level row's name has one leading space (nested ones more); a module an earlier one already
    # imported has no row of its own, so nothing is counted twice.
    return sum(int(total) for _, total, name in rows if total.strip().isdigit() and not name.startswith("  "))


def test_bench_app_import_against_boto3() -> None:
    boto3_us = statistics.median(_import_us("boto3") for _ in range(ROUNDS))
    stack_us = statistics.median(_import_us(*STACK) for _ in range(ROUNDS))
    app_us = statistics.median(_import_us("app") for _ in range(ROUNDS))
    print("\n== cold-start imports (median of fresh interpreters)")
    print(f"  import boto3 (baseline)            {boto3_us / 1000:7.1f} ms")
    print(f"  the fixed stack's libraries        {stack_us / 1000:7.1f} ms  ratio {stack_us / boto3_us:.2f}x")
    print(
        f"  import app                         {app_us / 1000:7.1f} ms  ratio {app_us / boto3_us:.2f}x  (goal <= 1.5x)"
    )
