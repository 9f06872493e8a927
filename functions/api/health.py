"""Liveness: no auth, no dependencies."""

from __future__ import annotations

from chalice.app import Blueprint

from functions.api.models.common import Health
from functions.api.routing import route

bp = Blueprint(__name__)


@route(bp, "/health", response=Health)
def health() -> Health:
    """The API process is up."""
    return Health(status="ok")
