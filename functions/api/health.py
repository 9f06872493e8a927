"""Liveness: no auth, no dependencies."""

from __future__ import annotations

from chalice.app import Blueprint

from functions.api.routing import route

bp = Blueprint(__name__)


@route(bp, "/health")
def health() -> dict[str, str]:
    """The API process is up."""
    return {"status": "ok"}
