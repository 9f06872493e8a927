"""`make load`: Locust against the local stack on loopback, mixed traffic and GET /health at 8 and 32 clients.

Starts a DevStack on free 127.0.0.1 ports (or, with --api-url and --issuer, uses a running one: refused unless
both are 127.0.0.1), then runs Locust headless once per (user class, concurrency) for --duration seconds and
prints requests/s, p50, p99, errors and 429s per run, and the mixed run's figures against GET /health's (the floor
of the local stack: routing, middleware and the local server, no token and no table).

    .venv/bin/python -m tests.load.run [--users 8 32] [--duration 20]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import requests

from infra.local.stack import ROOT, DevStack, Ports
from tests.conftest import free_port
from tests.load.target import DEMO_USERS, RATE_LIMITED, require_loopback
from tests.support.http import password_token

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# Uploads count against a per-account limit (120 a minute); 32 clients share five demo accounts, so the limit is
# raised, not switched off: its counter's write stays in every POST /uploads measured.
STACK_ENV = {"POWERTOOLS_LOG_LEVEL": "WARNING", "RATE_LIMIT_UPLOADS": "100000"}


@dataclass(frozen=True)
class Figures:
    """One Locust run's aggregate."""

    requests: int
    per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    limited: int
    endpoints: tuple[tuple[str, int, float, float], ...] = ()


def run_locust(user_class: str, users: int, seconds: int, api_url: str, issuer: str, out: Path) -> Figures:
    """Run Locust headless in a child process (gevent stays out of this one); its aggregate from the CSV files."""
    prefix = out / f"{user_class}-{users}"
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--stop-timeout", "5",
        "--host", api_url, "--csv", str(prefix), "--loglevel", "WARNING", user_class,
    ]  # fmt: skip
    env = {**os.environ, "LOAD_ISSUER": issuer, "PYTHONPATH": str(ROOT)}
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 60)
    stats = prefix.with_name(prefix.name + "_stats.csv")
    if not stats.exists():
        raise RuntimeError(f"locust wrote no stats (exit {finished.returncode}):\n{finished.stderr[-3000:]}")
    with stats.open() as f:
        rows = list(csv.DictReader(f))
    total = next(r for r in rows if r["Name"] == "Aggregated")
    endpoints = tuple(
        (r["Name"], int(r["Request Count"]), float(r["50%"]), float(r["99%"]))
        for r in rows
        if r["Name"] != "Aggregated"
    )
    with prefix.with_name(prefix.name + "_failures.csv").open() as f:
        failures = list(csv.DictReader(f))
    limited = sum(int(r["Occurrences"]) for r in failures if RATE_LIMITED in r["Error"])
    for failure in failures:
        if RATE_LIMITED not in failure["Error"]:
            print(
                f"    error x{failure['Occurrences']}: {failure['Method']} {failure['Name']}: {failure['Error'][:160]}"
            )
    return Figures(
        requests=int(total["Request Count"]),
        per_second=float(total["Requests/s"]),
        p50_ms=float(total["50%"]),
        p99_ms=float(total["99%"]),
        errors=int(total["Failure Count"]) - limited,
        limited=limited,
        endpoints=endpoints,
    )


def register_demo_users(api_url: str, issuer: str) -> None:
    """Every demo account exists before the load starts, so any of them can be named as a grantee."""
    for username in DEMO_USERS:
        headers = {"Authorization": f"Bearer {password_token(issuer, username)}"}
        requests.get(f"{api_url}/me", headers=headers, timeout=10).raise_for_status()


def report(rows: list[tuple[int, Figures, Figures]], seconds: int) -> None:
    """The table: per concurrency, mixed traffic against GET /health, and their ratio."""
    print(f"\n== load on loopback, {seconds} s per run (Locust; mixed = list, open, upload, share, incoming)")
    print("  users  traffic  requests    req/s   p50 ms   p99 ms  errors   429s")
    for users, mixed, health in rows:
        for name, figures in (("mixed", mixed), ("health", health)):
            print(
                f"  {users:>5}  {name:<7}  {figures.requests:>8}  {figures.per_second:>7.1f}  {figures.p50_ms:>7.0f}"
                f"  {figures.p99_ms:>7.0f}  {figures.errors:>6}  {figures.limited:>5}"
            )
        for name, count, p50, p99 in mixed.endpoints:
            print(f"  {'':>5}    {name:<38} {count:>6} requests  p50 {p50:>5.0f} ms  p99 {p99:>5.0f} ms")
        print(
            f"  {users:>5}  ratio    mixed/health: req/s {mixed.per_second / health.per_second:.2f}x,"
            f" p50 {mixed.p50_ms / health.p50_ms:.2f}x, p99 {mixed.p99_ms / health.p99_ms:.2f}x"
        )


def main(argv: list[str] | None = None) -> int:
    """Start (or use) a loopback stack, run every load, print the table; 1 when any run had errors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[8, 32], help="concurrent clients, one run each")
    parser.add_argument("--duration", type=int, default=20, help="seconds per run")
    parser.add_argument("--api-url", help="a running stack's API (127.0.0.1 only); default: start one")
    parser.add_argument("--issuer", help="that stack's realm URL (127.0.0.1 only)")
    args = parser.parse_args(argv)
    with ExitStack() as cleanup:
        out = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="media-vault-load-")))
        if args.api_url:
            if not args.issuer:
                parser.error("--api-url needs --issuer")
            api_url, issuer = args.api_url.rstrip("/"), args.issuer.rstrip("/")
        else:
            ports = Ports(emulator=free_port(), identity=free_port(), api=free_port(), dynamodb=free_port())
            stack = cleanup.enter_context(DevStack(ports, log_dir=out, extra_env=STACK_ENV))
            api_url, issuer = stack.api_url, stack.issuer
        require_loopback(api_url)
        require_loopback(issuer)
        register_demo_users(api_url, issuer)
        rows = []
        for users in args.users:
            mixed = run_locust("MixedUser", users, args.duration, api_url, issuer, out)
            health = run_locust("HealthUser", users, args.duration, api_url, issuer, out)
            rows.append((users, mixed, health))
        report(rows, args.duration)
    return 1 if any(mixed.errors or health.errors for _, mixed, health in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
