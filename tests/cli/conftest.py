"""The `mediavault` command as a subprocess against a local stack on free loopback ports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local.stack import DevStack, Ports
from tests.conftest import free_port

MIB = 1024 * 1024
Result = subprocess.CompletedProcess[str]
Run = Callable[..., Result]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    logs = tmp_path_factory.mktemp("cli-stack-logs")
    ports = Ports(emulator=free_port(), identity=free_port(), api=free_port(), dynamodb=free_port())
    # Multipart from 5 MiB (S3's smallest part), so a resumable upload needs only a photo of ~11 MiB.
    extra = {"MULTIPART_THRESHOLD_BYTES": str(5 * MIB), "MULTIPART_PART_BYTES": str(5 * MIB)}
    dev = DevStack(ports, log_dir=logs, stack_name="media-vault-cli", extra_env=extra)
    try:
        dev.start()
    except Exception:
        for log in sorted(logs.glob("*.log")):
            print(f"===== {log.name}\n{log.read_text()[-4000:]}")
        raise
    yield dev
    dev.stop()


def mediavault_command() -> list[str]:
    """The installed console script (`make install` puts it next to the venv's python)."""
    script = Path(sys.executable).parent / "mediavault"
    found = str(script) if script.exists() else shutil.which("mediavault")
    assert found, "mediavault is not installed: make install (pip install -e ./clients/cli)"
    return [found]


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "config"


def cli_environment(stack: DevStack, config_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment, less any MEDIAVAULT_ or proxy setting, pointed at the test stack."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAVAULT_") and "proxy" not in k.lower()}
    environment.update(
        MEDIAVAULT_CONFIG_DIR=str(config_dir),
        MEDIAVAULT_API=stack.api_url,
        MEDIAVAULT_ISSUER=stack.issuer,
        MEDIAVAULT_BACKOFF_SECONDS="0.05",
        COLUMNS="200",
    )
    environment.update(extra or {})
    return environment


@pytest.fixture
def run(stack: DevStack, config_dir: Path) -> Run:
    """Run `mediavault ARGS` with an isolated config dir, pointed at the test stack; never raises on exit status."""

    def run_cli(
        *args: str, env: dict[str, str] | None = None, timeout: float = 120, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*mediavault_command(), *args],
            env=cli_environment(stack, config_dir, env),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run_cli


def login(run: Run, user: str, env: dict[str, str] | None = None) -> None:
    """Log in as a demo user (password = username)."""
    result = run("login", "--username", user, "--password", user, env=env)
    assert result.returncode == 0, result.stderr


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def one_error_line(stderr: str) -> str:
    """The only line of stderr, which must be an error and no traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def upload_one(run: Run, path: Path) -> str:
    """Upload one file and wait for it: its media id (the upload must end ready)."""
    result = run("upload", str(path), "--json")
    assert result.returncode == 0, result.stderr
    [outcome] = as_json(result)
    assert outcome["result"] == "ready", outcome
    return str(outcome["media_id"])
