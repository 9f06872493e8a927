"""The upload's progress display as a person sees it: run under a pseudo-terminal and read what it drew."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from infra.local.stack import DevStack
from tests.cli.conftest import Run, cli_environment, login, mediavault_command
from tests.support.images import jpeg_bytes

# Colours and styles vanish; cursor moves and line erases end a line, as they do on the screen.
STYLE = re.compile(r"\x1b\[[0-9;]*m")
MOVE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")
BAR = "━"


def run_in_terminal(args: list[str], env: dict[str, str], timeout: float = 120) -> tuple[int, str]:
    """Run a command with a pseudo-terminal as stdin, stdout and stderr; its exit status and all it wrote."""
    controller, terminal = os.openpty()
    process = subprocess.Popen(args, stdin=terminal, stdout=terminal, stderr=terminal, env=env, close_fds=True)
    os.close(terminal)
    written = bytearray()
    try:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: every holder of the terminal's other end has closed it
                break
            if not chunk:
                break
            written += chunk
        status = process.wait(timeout=timeout)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
    return status, written.decode("utf-8", "replace")


def test_upload_draws_a_bar_per_file_and_a_total_in_a_terminal(
    run: Run, stack: DevStack, config_dir: Path, tmp_path: Path
) -> None:
    # GIVEN two photos, and alice logged in
    folder = tmp_path / "shots"
    folder.mkdir()
    (folder / "first-shot.jpg").write_bytes(jpeg_bytes(500, 380))
    (folder / "second-shot.jpg").write_bytes(jpeg_bytes(520, 390))
    login(run, "alice")
    env = cli_environment(stack, config_dir, {"TERM": "xterm-256color", "COLUMNS": "160", "LINES": "40"})

    # WHEN she uploads the folder in a terminal (waiting for processing, so the bars stay up a while)
    status, written = run_in_terminal([*mediavault_command(), "upload", str(folder), "--force"], env)

    # THEN the screen showed a bar for each file and one for the whole run, then the summary
    assert status == 0, written
    plain = STYLE.sub("", written)
    lines = MOVE.sub("\n", plain).splitlines()
    for name in ("first-shot.jpg", "second-shot.jpg"):
        assert any(name in line and BAR in line for line in lines), written
    assert any("all 2 files" in line and BAR in line for line in lines), written
    assert any(re.search(r"\b(hash|send|wait)\b.*shot\.jpg", line) for line in lines), written
    assert "2 ready" in plain
    assert "Traceback" not in written
