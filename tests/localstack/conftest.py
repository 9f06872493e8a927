"""LocalStack tier: the whole system on loopback with LocalStack's S3 and SQS (DynamoDB from moto).

One LocalStack (host mode, S3_SKIP_SIGNATURE_VALIDATION=0) and one DevStack per session, both on
free loopback ports, logs in the session's temporary directory. The tier is skipped only when
`.venv-localstack` is missing (`make test` / `make test-localstack` install it).
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.local.localstack import HOST_PYTHON, LocalStackProcess, aws_session, start_localstack, wait_healthy
from infra.local.stack import DevStack, Ports
from tests.conftest import free_port
from tests.support.http import password_token

HTTP_TIMEOUT = 10


# Log directories of this session's processes, tailed into the report of any failing test.
_LOG_DIRS: list[Path] = []
_LOG_TAIL_CHARS = 3000


@pytest.fixture(scope="session")
def localstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    """LocalStack in host mode on a free loopback port, stopped (process group) at the end."""
    if not HOST_PYTHON.exists():
        pytest.skip(f"LocalStack tier: {HOST_PYTHON} is missing (run `make test-localstack` to install it)")
    log_dir = tmp_path_factory.mktemp("localstack")
    _LOG_DIRS.append(log_dir)
    process = start_localstack(free_port(), log_path=log_dir / "localstack.log", docker=False)
    try:
        wait_healthy(process.url, timeout=120, process=process)
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def stack(localstack: LocalStackProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    """Identity server, API and worker against that LocalStack, with DynamoDB served by moto."""
    log_dir = tmp_path_factory.mktemp("stack")
    _LOG_DIRS.append(log_dir)
    ports = Ports(emulator=localstack.port, identity=free_port(), api=free_port(), dynamodb=free_port())
    # Multipart from 5 MiB (S3's smallest part) keeps part PUTs small.
    five_mib = str(5 * 1024 * 1024)
    extra = {"MULTIPART_THRESHOLD_BYTES": five_mib, "MULTIPART_PART_BYTES": five_mib}
    dev = DevStack(ports, emulator="localstack", log_dir=log_dir, stack_name="media-vault-ls", extra_env=extra)
    dev.start()  # a failed provisioning raises with its stderr
    try:
        yield dev
    finally:
        dev.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On failure, attach the tail of every process log of this tier to the test's report."""
    report = yield
    if report.failed:
        for log_dir in _LOG_DIRS:
            for log in sorted(log_dir.glob("*.log")):
                report.sections.append((f"{log.name} (tail)", log.read_text(errors="replace")[-_LOG_TAIL_CHARS:]))
    return report


# --- helpers (small, named for what they do; shared ones may move to tests/conftest.py) ----------
def post_form_upload(
    url: str, fields: dict[str, str], data: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg"
) -> requests.Response:
    """multipart/form-data POST of the signed fields, then the file (S3 requires it last)."""
    return requests.post(url, data=fields, files={"file": (filename, data, content_type)}, timeout=HTTP_TIMEOUT)


@dataclass(frozen=True)
class S3Error:
    """The code and message of an S3 XML error body."""

    code: str
    message: str


def s3_error(response: requests.Response) -> S3Error:
    """Parse S3's `<Error><Code>..</Code><Message>..</Message></Error>` body."""
    root = ET.fromstring(response.content)
    return S3Error(code=root.findtext("Code", default=""), message=root.findtext("Message", default=""))


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.25) -> Any:
    """Poll until predicate returns a truthy value; return it, or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout:.0f} s")
        time.sleep(interval)


@dataclass
class ApiClient:
    """The API, called over real HTTP as one user."""

    base_url: str
    token: str

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def create_upload(self, filename: str, content_type: str, size: int, **extra: Any) -> requests.Response:
        """POST /uploads (extra: other declaration fields, such as sha256 and method)."""
        return requests.post(
            f"{self.base_url}/uploads",
            json={"filename": filename, "content_type": content_type, "size": size, **extra},
            headers=self._headers(),
            timeout=HTTP_TIMEOUT,
        )

    def get_media(self, media_id: str) -> requests.Response:
        """GET /media/{id}."""
        return requests.get(f"{self.base_url}/media/{media_id}", headers=self._headers(), timeout=HTTP_TIMEOUT)


@pytest.fixture(scope="session")
def alice(stack: DevStack) -> ApiClient:
    """The API as alice (role user)."""
    return ApiClient(stack.api_url, password_token(stack.issuer, "alice"))


@pytest.fixture(scope="session")
def s3_client(stack: DevStack) -> Any:
    """A boto3 S3 client on the stack's LocalStack (to inspect the bucket, never to upload)."""
    return aws_session(f"{stack.host}:{stack.ports.emulator}").client("s3")
