"""Reading media items."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from functions import dependencies
from functions.api.routing import principal, route

bp = Blueprint(__name__)


@route(bp, "/media/{media_id}")
def get_media(media_id: str) -> dict[str, Any]:
    """One item with short-lived rendition URLs; 404 when missing or not the caller's."""
    return dependencies.media_library().describe(principal(bp), media_id)
