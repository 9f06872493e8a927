"""Fuzz tier fixtures: a local stack on free loopback ports, seeded items, tokens per role, a findings ledger.

FUZZ_EXAMPLES: generated requests per operation, role and generation mode (positive, negative). Unset, the run is
the short, derandomized one `make test` includes; `make fuzz` sets it and explores new inputs on every run.
FUZZ_REPORT: a Markdown file that receives every distinct failure, deduplicated, whatever the outcome.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from infra.local.stack import DevStack, Ports
from tests.conftest import free_port
from tests.support.http import ApiSession, password_token
from tests.support.images import jpeg_bytes

# Hypothesis keeps a cache beside the current directory unless told otherwise: keep the work tree clean.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "media-vault-hypothesis"))

# One account per role; bob and gina are left alone so their ids can be the real targets of admin writes.
ROLES = {"user": "alice", "partner": "pat", "admin": "ada"}
BYSTANDERS = ("bob", "gina")
SHORT_RUN_EXAMPLES = 3
MIB = 1024 * 1024

LEDGER_KEY = pytest.StashKey["FuzzLedger"]()


def examples_per_operation() -> int:
    """Generated requests per operation, role and generation mode (FUZZ_EXAMPLES; short run by default)."""
    return int(os.environ.get("FUZZ_EXAMPLES", SHORT_RUN_EXAMPLES))


def is_short_run() -> bool:
    """The run inside `make test`: derandomized, so it is repeatable."""
    return "FUZZ_EXAMPLES" not in os.environ


class RealmBearer:
    """A password-grant token for one user, fetched again well before the realm's 5-minute expiry."""

    def __init__(self, issuer: str, username: str, max_age: float = 60.0) -> None:
        self.issuer = issuer
        self.username = username
        self.max_age = max_age
        self._token = ""
        self._fetched = float("-inf")

    def header(self) -> dict[str, str]:
        """The Authorization header."""
        if time.monotonic() - self._fetched > self.max_age:
            self._token = password_token(self.issuer, self.username)
            self._fetched = time.monotonic()
        return {"Authorization": f"Bearer {self._token}"}


@dataclass
class Finding:
    """One distinct failure and the shortest request that showed it."""

    method: str
    path: str
    kind: str
    status: int
    detail: str
    curl: str
    roles: set[str] = field(default_factory=set)
    operations: set[str] = field(default_factory=set)
    seen: int = 0


@dataclass(repr=False)
class FuzzLedger:
    """Counts what was sent and keeps every distinct failure."""

    requests_by_role: Counter[str] = field(default_factory=Counter)
    status_counts: Counter[int] = field(default_factory=Counter)
    findings: dict[tuple[str, ...], Finding] = field(default_factory=dict)
    log_dir: Path | None = None

    def __repr__(self) -> str:
        return self.summary()

    def sent(self, role: str, status: int) -> None:
        """One request went out and got an answer."""
        self.requests_by_role[role] += 1
        self.status_counts[status] += 1

    def record(self, role: str, case: Any, response: Any, failures: Any) -> None:
        """Keep each failure under a key that ignores the generated values (ids, array indices)."""
        curl = _redact(case.as_curl_command(headers=dict(response.request.headers)))
        method = case.method.upper()
        # A method the document does not declare is one finding for all paths (one server, one gap).
        path = case.path if method == case.operation.method.upper() else "(every path, undeclared method)"
        for failure in failures:
            detail = _describe(failure, response)
            key = (method, path, failure.code, str(response.status_code), _shape(failure, detail))
            found = self.findings.get(key)
            if found is None:
                kind = f"{failure.code} {failure.title}"
                found = self.findings[key] = Finding(method, path, kind, response.status_code, detail, curl)
            found.roles.add(role)
            found.operations.add(case.operation.label)
            found.seen += 1
            if len(curl) < len(found.curl):
                found.curl, found.detail = curl, detail

    def findings_for(self, role: str) -> list[Finding]:
        """The distinct failures this role's requests showed."""
        return [found for found in self.findings.values() if role in found.roles]

    def summary(self) -> str:
        """One line for the terminal."""
        roles = ", ".join(f"{role} {count}" for role, count in sorted(self.requests_by_role.items()))
        server_errors = sum(count for status, count in self.status_counts.items() if status >= 500)
        total = sum(self.requests_by_role.values())
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(self.status_counts.items()))
        return (
            f"fuzz: {total} requests ({roles}), {server_errors} answered 5xx, "
            f"{len(self.findings)} distinct findings; statuses {{{statuses}}}"
        )

    def markdown(self, findings: list[Finding] | None = None) -> str:
        """The findings (all by default), server errors first."""
        chosen = list(self.findings.values()) if findings is None else findings
        lines = [f"# Fuzz findings ({len(chosen)})", "", self.summary(), ""]
        if self.log_dir:
            lines += [f"Stack logs (a 5xx's traceback is in api.log): {self.log_dir}", ""]
        ordered = sorted(chosen, key=lambda f: (f.status < 500, f.path, f.method, f.kind))
        for number, found in enumerate(ordered, 1):
            lines += [
                f"## {number}. {found.method} {found.path}: {found.kind} (status {found.status})",
                "",
                f"roles: {', '.join(sorted(found.roles))}; seen {found.seen} times, on {_listed(found.operations)}",
                "",
                "```",
                found.detail.strip(),
                "```",
                "",
                "```bash",
                found.curl,
                "```",
                "",
            ]
        return "\n".join(lines)


def _listed(operations: set[str], most: int = 4) -> str:
    names = sorted(operations)
    return ", ".join(names[:most]) + (f" and {len(names) - most} more operations" if len(names) > most else "")


def _redact(curl: str) -> str:
    """The curl with a $TOKEN placeholder (Schemathesis filters the header; a raw token would expire anyway)."""
    curl = curl.replace("'Authorization: [Filtered]'", '"Authorization: Bearer $TOKEN"')
    return re.sub(r"Bearer [A-Za-z0-9._~+/=-]+", "Bearer $TOKEN", curl)


def _describe(failure: Any, response: Any) -> str:
    body = response.text[:600] if response.content else "(empty body)"
    if failure.code == "ST108":  # the response breaks the documented schema
        where = "/".join(str(part) for part in failure.instance_path) or "(root)"
        return f"at {where}: {failure.validation_message or failure.message}\nbody: {body}"
    return f"{failure.message.strip()[:800]}\nbody: {body}"


def _shape(failure: Any, detail: str) -> str:
    """What makes two failures of one route different, without the generated values."""
    if failure.code == "ST108":
        return "/".join(str(part) for part in failure.schema_path)
    if failure.code in ("ST101", "ST102"):  # server errors: one per route and status
        return ""
    return re.sub(r"\d+", "#", detail.splitlines()[0] if detail else "")[:200]


@pytest.fixture(scope="module")
def fuzz_ledger(request: pytest.FixtureRequest) -> Iterator[FuzzLedger]:
    ledger = FuzzLedger()
    request.config.stash[LEDGER_KEY] = ledger
    yield ledger
    report = os.environ.get("FUZZ_REPORT")
    if report:
        Path(report).write_text(ledger.markdown())


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory, fuzz_ledger: FuzzLedger) -> Iterator[DevStack]:
    """The whole stack on free loopback ports, stopped when the module is done."""
    logs = tmp_path_factory.mktemp("fuzz-stack-logs")
    fuzz_ledger.log_dir = logs
    ports = Ports(emulator=free_port(), identity=free_port(), api=free_port(), dynamodb=free_port())
    dev = DevStack(ports, log_dir=logs, stack_name="media-vault-fuzz")
    dev.start()
    yield dev
    failed = dev.failed_children()
    dev.stop()
    assert not failed, f"processes died during fuzzing: {failed} (logs in {logs})"


@pytest.fixture(scope="module")
def real_ids(fuzz_stack: DevStack) -> dict[str, dict[str, list[str]]]:
    """Per role, path values that exist: a pending and a multipart upload, a ready and a trashed photo, versions.

    Every role also gets one media id of each other role (must answer 404) and the bystanders' user ids.
    """
    own: dict[str, dict[str, list[str]]] = {}
    for role, username in ROLES.items():
        api = ApiSession(fuzz_stack.api_url, password_token(fuzz_stack.issuer, username))
        media: list[str] = []
        for declared in (
            {"filename": "pending.jpg", "content_type": "image/jpeg", "size": 1000},
            {"filename": "multipart.mp4", "content_type": "video/mp4", "size": 100 * MIB},
        ):
            response = api.call("POST", "/uploads", declared)
            assert response.status_code == 201, response.text
            media.append(response.json()["media_id"])
        ready, trashed = (api.upload(jpeg_bytes(64, 48), filename=f"{name}.jpg")[0] for name in ("ready", "trashed"))
        for media_id in (ready, trashed):
            assert api.wait_for_status(media_id, {"ready", "failed", "rejected"})["status"] == "ready"
            media.append(media_id)
        assert api.call("DELETE", f"/media/{trashed}").status_code == 204
        versions = [v["version_id"] for v in api.call("GET", f"/media/{ready}/versions").json()["versions"]]
        own[role] = {"media_id": media, "version_id": versions}
    admin = ApiSession(fuzz_stack.api_url, password_token(fuzz_stack.issuer, ROLES["admin"]))
    bystanders = [
        next(
            user["user_id"]
            for user in admin.call("GET", f"/admin/users?search={name}").json()["users"]
            if user["username"] == name
        )
        for name in BYSTANDERS
    ]
    return {
        role: {
            "media_id": ids["media_id"] + [own[other]["media_id"][0] for other in own if other != role],
            "version_id": ids["version_id"],
            "user_id": bystanders,
        }
        for role, ids in own.items()
    }


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    ledger = config.stash.get(LEDGER_KEY, None)
    if ledger is not None:
        terminalreporter.write_line(ledger.summary())
        if os.environ.get("FUZZ_REPORT"):
            terminalreporter.write_line(f"fuzz findings: {os.environ['FUZZ_REPORT']}")
