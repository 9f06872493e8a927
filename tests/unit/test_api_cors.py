"""The API's own answers name a configured console origin (API Gateway answers only preflights and its errors)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from chalice.app import Response

from functions.api.middleware import _shared_with

CONSOLE = "https://console.example.test"
ALLOWED = frozenset({CONSOLE, "http://127.0.0.1:8090"})


def _answer(origin: str | None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    event: Any = SimpleNamespace(headers={"origin": origin} if origin else {})
    return _shared_with(event, Response(body={}, status_code=200, headers=dict(headers or {})), ALLOWED).headers


def test_a_configured_origin_is_named_and_caches_are_told_the_answer_varies_by_origin() -> None:
    assert _answer(CONSOLE) == {"Access-Control-Allow-Origin": CONSOLE, "Vary": "Origin"}
    assert _answer(CONSOLE, {"Vary": "Accept"})["Vary"] == "Accept, Origin"


def test_any_other_origin_or_none_gets_no_cors_header() -> None:
    for origin in ("https://evil.example.test", "null", f"{CONSOLE}.evil.test", None):
        assert "Access-Control-Allow-Origin" not in _answer(origin)
