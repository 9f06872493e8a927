"""Integration tier: emulator, identity server, API and worker as real processes on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.local.stack import DevStack, Ports
from tests.conftest import free_port
from tests.support.stacks import watched_stack

MIB = 1024 * 1024


UPLOAD_LIMIT = 120


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    logs = tmp_path_factory.mktemp("stack-logs")
    ports = Ports(emulator=free_port(), identity=free_port(), api=free_port(), dynamodb=free_port())
    # A short JWKS cool-down lets the key-rotation tests run in seconds rather than waiting 10 s.
    # Multipart from 5 MiB (S3's smallest part) so the resumable path runs on files of a few megabytes.
    extra = {
        "OIDC_JWKS_REFETCH_SECONDS": "1",
        "MULTIPART_THRESHOLD_BYTES": str(MIB * 5),
        "MULTIPART_PART_BYTES": str(MIB * 5),
        # The abuse-limit burst sends twice the upload limit: a low limit keeps it within one window.
        "RATE_LIMIT_UPLOADS": str(UPLOAD_LIMIT),
    }
    yield from watched_stack(ports, logs, "media-vault-it", extra_env=extra)
