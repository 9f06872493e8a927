"""Settings derived from the environment."""

from __future__ import annotations

import pytest

from shared import config
from shared.config import Settings


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"MEDIA_IMAGE_THREADS": "3"}, 3),
        ({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1536"}, 1),  # under one vCPU's worth
        ({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "3538"}, 2),
        ({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "10240", "MEDIA_IMAGE_THREADS": "1"}, 1),
        ({}, 4),  # six CPUs, at most four threads
    ],
)
def test_image_threads_follow_the_cpu_a_lambda_gets(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: int
) -> None:
    monkeypatch.setattr(config.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5})
    assert Settings.from_env(environment).image_threads == expected
