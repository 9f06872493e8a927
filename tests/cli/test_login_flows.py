"""`mediavault login --browser / --device` and `logout`, with the test acting as the person's browser.

The command runs as a real subprocess against the local stack; the test reads what it prints (the
authorization URL, the user code) and completes the sign-in over HTTP with requests, as a browser would.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from infra.local.stack import DevStack
from tests.cli.conftest import Run, mediavault_command

CLI = "media-vault-cli"


class Running:
    """A `mediavault` subprocess whose stderr lines can be awaited while it runs."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert process.stderr is not None
        stderr = process.stderr
        threading.Thread(target=self._pump, args=(stderr,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        """The first stderr line matching pattern (fails with everything seen so far)."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"no line matching {pattern!r} within {timeout} s; saw: {self.seen}")
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found

    def finish(self, timeout: float = 90) -> tuple[int, str]:
        """Exit status and the rest of stderr."""
        code = self.process.wait(timeout=timeout)
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        return code, "".join(self.seen + rest)


Spawn = Callable[..., Running]


@pytest.fixture
def spawn(stack: DevStack, config_dir: Path) -> Iterator[Spawn]:
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> Running:
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith("MEDIAVAULT_") and "proxy" not in k.lower()
        }
        environment.update(
            MEDIAVAULT_CONFIG_DIR=str(config_dir),
            MEDIAVAULT_API=stack.api_url,
            MEDIAVAULT_ISSUER=stack.issuer,
            COLUMNS="200",
            BROWSER="true",  # webbrowser runs `true URL`: no real browser pops up; the test is the browser
        )
        process = subprocess.Popen(
            [*mediavault_command(), *args],
            env=environment,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        started.append(process)
        return Running(process)

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def stored_tokens(config_dir: Path) -> dict[str, str]:
    data: dict[str, str] = json.loads((config_dir / "profiles" / "default.json").read_text())
    return data


def submit(browser: requests.Session, page: requests.Response, **fields: str) -> requests.Response:
    """Post the page's form (hidden fields included) as a browser would, without following redirects."""
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action, page.text
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    return browser.post(urljoin(page.url, action.group(1)), data={**hidden, **fields}, allow_redirects=False)


def refresh_refused(stack: DevStack, refresh_token: str) -> bool:
    form = {"grant_type": "refresh_token", "client_id": CLI, "refresh_token": refresh_token}
    response = requests.post(f"{stack.issuer}/protocol/openid-connect/token", data=form, timeout=10)
    return response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_browser_login_then_ls_then_logout_revokes(spawn: Spawn, run: Run, stack: DevStack, config_dir: Path) -> None:
    # GIVEN `mediavault login --browser` waiting for the redirect on its loopback port
    login = spawn("login", "--browser")
    url = login.wait_for(r"(http://\S+/protocol/openid-connect/auth\?\S+)").group(1)
    assert "code_challenge_method=S256" in url and "redirect_uri=http%3A%2F%2F127.0.0.1%3A" in url
    # WHEN the person signs in in the browser and the browser follows the redirect to the CLI
    browser = requests.Session()
    page = browser.get(url, timeout=10)
    assert page.status_code == 200, page.text
    back = submit(browser, page, username="alice", password="alice", action="allow")
    assert back.status_code == 302
    callback = back.headers["Location"]
    assert urlsplit(callback).hostname == "127.0.0.1" and "code=" in callback
    landing = requests.get(callback, timeout=10)
    assert landing.status_code == 200 and "return to the terminal" in landing.text
    # THEN the command stores alice's tokens and `ls` works with them
    code, stderr = login.finish()
    assert code == 0, stderr
    assert "logged in as alice (user)" in stderr
    assert run("ls", "--json").returncode == 0
    # AND logout revokes the refresh token at the identity server before forgetting it
    refresh_token = stored_tokens(config_dir)["refresh_token"]
    assert not refresh_refused(stack, refresh_token)
    result = run("logout")
    assert result.returncode == 0 and "logged out" in result.stderr
    assert "refresh_token" not in stored_tokens(config_dir)
    assert refresh_refused(stack, refresh_token)


def test_browser_login_ignores_a_redirect_with_a_foreign_state(spawn: Spawn) -> None:
    login = spawn("login", "--browser", "--timeout", "20")
    url = login.wait_for(r"(http://\S+/protocol/openid-connect/auth\?\S+)").group(1)
    port = re.search(r"redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A(\d+)", url)
    assert port
    forged = requests.get(f"http://127.0.0.1:{port.group(1)}/callback?code=stolen&state=guess", timeout=10)
    assert forged.status_code == 400
    assert login.process.poll() is None  # still waiting for the real redirect
    login.process.kill()


def test_device_login_then_ls_then_logout_revokes(spawn: Spawn, run: Run, stack: DevStack, config_dir: Path) -> None:
    # GIVEN `mediavault login --device` showing where to go and which code to type
    login = spawn("login", "--device")
    shown = login.wait_for(r"visit (http\S+) and enter the code: ([A-Z]{4}-[A-Z]{4})")
    verification_uri, user_code = shown.group(1), shown.group(2)
    # WHEN the person opens the page on another device, types the code and signs in
    browser = requests.Session()
    page = browser.get(verification_uri, params={"user_code": user_code}, timeout=10)
    assert page.status_code == 200 and user_code in page.text
    done = submit(browser, page, username="pat", password="pat", action="allow")
    assert done.status_code == 200 and "Device connected" in done.text
    # THEN the polling command picks the tokens up and `ls` works
    code, stderr = login.finish()
    assert code == 0, stderr
    assert "logged in as pat (partner, " in stderr
    assert run("ls", "--json").returncode == 0
    # AND logout makes the old refresh token useless
    refresh_token = stored_tokens(config_dir)["refresh_token"]
    assert run("logout").returncode == 0
    assert refresh_refused(stack, refresh_token)


def test_device_login_denied_is_one_error_line(spawn: Spawn) -> None:
    login = spawn("login", "--device")
    complete = login.wait_for(r"or open (http\S+)").group(1)
    browser = requests.Session()
    denied = submit(browser, browser.get(complete, timeout=10), action="deny")
    assert "Access denied" in denied.text
    code, stderr = login.finish()
    assert code == 1
    assert "error: sign-in was denied in the browser" in stderr and "Traceback" not in stderr
