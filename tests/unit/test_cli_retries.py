"""The CLI's retries: transient answers are tried again, and a limit's Retry-After is waited out, not hammered."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from mediavault_cli import api as cli_api


def answer(status: int, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    response.request = requests.Request("POST", "http://vault.test/uploads").prepare()
    return response


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(cli_api.time, "sleep", slept.append)
    return slept


def test_a_429_with_retry_after_waits_that_long_then_goes_through(sleeps: list[float]) -> None:
    replies = iter([answer(429, **{"Retry-After": "16"}), answer(201)])
    response = cli_api.with_retries(lambda: next(replies), "the API")
    assert response.status_code == 201
    assert sleeps == [16.0]


def test_a_wait_longer_than_a_minute_is_capped_and_a_5xx_backs_off(sleeps: list[float]) -> None:
    replies = iter([answer(429, **{"Retry-After": "3600"}), answer(502), answer(200)])
    assert cli_api.with_retries(lambda: next(replies), "the API").status_code == 200
    assert sleeps[0] == cli_api.MAX_RETRY_AFTER_SECONDS
    assert sleeps[1] == pytest.approx(cli_api.BACKOFF_SECONDS * 2)


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (429, {"Retry-After": "7"}, 7.0),
        (503, {"Retry-After": "2"}, 2.0),
        (429, {}, None),
        (429, {"Retry-After": "soon"}, None),
        (400, {"Retry-After": "7"}, None),
    ],
)
def test_retry_after_reads_seconds_of_a_429_or_503_only(status: int, headers: dict[str, str], expected: Any) -> None:
    assert cli_api.retry_after(answer(status, **headers)) == expected


def test_the_last_attempt_answers_whatever_came(sleeps: list[float]) -> None:
    response = cli_api.with_retries(lambda: answer(429, **{"Retry-After": "1"}), "the API")
    assert response.status_code == 429
    assert len(sleeps) == cli_api.ATTEMPTS - 1
