"""`make jobs`: run every scheduled job (each `@app.schedule` in app.py) once against the running local stack.

`make run` must be running: this builds the environment the stack gives its functions (its AWS settings, then the
resources' names, re-read from the template: provisioning is idempotent, so nothing is created twice), calls each
entry point as EventBridge would (the schedule event, a Lambda context with the function's timeout) and prints
what each did.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chalice.local import LambdaContext

from infra.local.stack import DevStack, Ports

ROOT = Path(__file__).resolve().parents[2]
SCHEDULE_EVENT = ROOT / "events" / "schedule.json"
CHALICE_CONFIG = ROOT / ".chalice" / "config.json"


def stack_environment(emulator: str) -> dict[str, str]:
    """The variables the running stack's functions have: its base environment plus the provisioned names."""
    from infra.local.provision import provision

    stack = DevStack(Ports(web=8090), emulator=emulator)
    env = stack._base_env()  # the one definition of the local functions' environment
    os.environ.update(env)
    reachable(stack.emulator_url)
    reachable(stack.dynamodb_url)
    localstack_host = f"{stack.host}:{stack.ports.emulator}" if emulator == "localstack" else None
    env.update(provision(stack.stack_name, localstack_host=localstack_host))
    os.environ.update(env)
    return env


def reachable(url: str) -> None:
    """Exit with a hint when nothing answers at the emulator's address."""
    try:
        urllib.request.urlopen(url, timeout=3).close()
    except urllib.error.HTTPError:
        return  # it answered
    except OSError as exc:
        sys.exit(f"no AWS emulator at {url} ({exc}); start the stack first: make run")


def timeout_ms(function: str) -> int:
    """The deployed function's timeout (.chalice/config.json, dev stage), as Lambda would give it."""
    config = json.loads(CHALICE_CONFIG.read_text())
    functions = config.get("stages", {}).get("dev", {}).get("lambda_functions", {})
    return int(functions.get(function, {}).get("lambda_timeout") or 300) * 1000


def run_all() -> dict[str, Any]:
    """Each scheduled entry point once, in the order app.py registers them; its summary (or its error)."""
    from chalice.app import ScheduledEventConfig

    import app

    event = json.loads(SCHEDULE_EVENT.read_text())
    event["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    results: dict[str, Any] = {}
    for source in app.app.event_sources:
        if not isinstance(source, ScheduledEventConfig):
            continue
        handler = getattr(app, source.handler_string.rsplit(".", 1)[-1])
        context = LambdaContext(source.name, 256, max_runtime_ms=timeout_ms(source.name))
        try:
            results[source.name] = handler(event, context)
        except Exception as exc:  # noqa: BLE001 - one failing job must not hide the others' results
            results[source.name] = {"error": repr(exc)}
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the jobs; print one JSON summary per job; non-zero if any failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulator", choices=("moto", "localstack"), default=os.environ.get("EMULATOR", "moto"))
    args = parser.parse_args(argv)
    # Only warnings from the functions' logs: the summaries are the output.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    # The functions' settings are read on import: the environment comes first.
    stack_environment(args.emulator)
    results = run_all()
    for name, summary in results.items():
        print(f"{name}: {json.dumps(summary, sort_keys=True)}", flush=True)
    return 1 if any(isinstance(s, dict) and "error" in s for s in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
