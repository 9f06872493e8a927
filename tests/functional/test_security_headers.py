"""Every answer of the API carries the security headers, successes and errors alike (issue 14)."""

from __future__ import annotations

from typing import Any

import pytest

from functions.api.middleware import SECURITY_HEADERS
from tests.functional.conftest import ApiClient
from tests.support.tokens import TokenFactory


def _assert_secured(response: Any) -> None:
    headers = {name.lower(): value for name, value in response.headers.items()}
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name.lower()) == value, (name, response.status_code)


@pytest.mark.parametrize(
    ("method", "path", "who", "status"),
    [
        ("GET", "/health", None, 200),
        ("GET", "/openapi.json", None, 200),
        ("GET", "/me", "alice", 200),
        ("GET", "/media", "alice", 200),
        ("GET", "/media", None, 401),
        ("GET", "/media/ffffffffffffffffffffffffffffffff", "alice", 404),
        ("GET", "/admin/users", "alice", 403),
        ("GET", "/media?limit=0", "alice", 400),
        ("GET", "/links/not-a-real-token-at-all-but-long-enough-000000", None, 404),
        ("GET", "/no-such-route", None, 403),  # the gateway's own answers carry them too (GatewayResponses)
        ("GET", "/media", "forged", 401),
    ],
)
def test_every_answer_carries_the_security_headers(
    api: ApiClient, tokens: TokenFactory, method: str, path: str, who: str | None, status: int
) -> None:
    token = "not.a.token" if who == "forged" else tokens.token(who) if who else None
    response = api.call(method, path, token)
    assert response.status_code == status, response.body
    _assert_secured(response)


def test_a_presigned_download_url_is_never_cached(api: ApiClient, tokens: TokenFactory, aws: dict[str, str]) -> None:
    # An upload ticket carries presigned URLs: its answer must not be stored by any cache on the way.
    body = {"filename": "cat.jpg", "content_type": "image/jpeg", "size": 1234}
    response = api.call("POST", "/uploads", tokens.token("alice"), body)
    assert response.status_code == 201, response.body
    _assert_secured(response)
