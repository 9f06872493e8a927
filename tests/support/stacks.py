"""A local stack for a test session: its logs printed when it fails to start or a process dies under the tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from infra.local.stack import DevStack, Ports


def watched_stack(
    ports: Ports, logs: Path, stack_name: str, extra_env: dict[str, str] | None = None
) -> Iterator[DevStack]:
    """Start a DevStack, yield it, stop it; fail the session if any of its processes died meanwhile."""
    dev = DevStack(ports, log_dir=logs, stack_name=stack_name, extra_env=extra_env)
    try:
        dev.start()
    except Exception:
        dump_logs(logs)
        raise
    yield dev
    failed = dev.failed_children()
    dev.stop()
    if failed:
        dump_logs(logs)
    assert not failed, f"processes died during the tests: {failed}"


def dump_logs(logs: Path) -> None:
    """Print the tail of every process log (pytest shows it with the failure)."""
    for log in sorted(logs.glob("*.log")):
        print(f"===== {log.name}\n{log.read_text()[-4000:]}")
