"""The caller's media library: list, read, edit, trash, restore, purge, download."""

from __future__ import annotations

import dataclasses
from typing import Any

from chalice.app import Blueprint, Response

from functions import dependencies
from functions.api.routing import json_body, principal, query_params, route
from shared.domain.library import DetailPatch, parse_query

bp = Blueprint(__name__)


def no_content() -> Response:
    """204."""
    return Response(body="", status_code=204)


@route(bp, "/media")
def list_media() -> dict[str, Any]:
    """A page of the caller's media: filters, sort and a cursor."""
    query, limit, cursor = parse_query(query_params(bp))
    return dependencies.media_library().list(principal(bp), query, limit, cursor)


@route(bp, "/trash")
def list_trash() -> dict[str, Any]:
    """A page of the caller's trashed media."""
    query, limit, cursor = parse_query(query_params(bp))
    return dependencies.media_library().list(principal(bp), dataclasses.replace(query, trashed=True), limit, cursor)


@route(bp, "/media/{media_id}")
def get_media(media_id: str) -> dict[str, Any]:
    """One item with short-lived rendition URLs; 404 when missing or not the caller's."""
    return dependencies.media_library().describe(principal(bp), media_id)


@route(bp, "/media/{media_id}", methods=("PATCH",))
def update_media(media_id: str) -> dict[str, Any]:
    """Edit title, description, tags, taken-at override, location visibility (needs the current version)."""
    return dependencies.media_library().update(principal(bp), media_id, DetailPatch.parse(json_body(bp)))


@route(bp, "/media/{media_id}", methods=("DELETE",))
def trash_media(media_id: str) -> Response:
    """Move an item to the trash."""
    dependencies.media_library().trash(principal(bp), media_id)
    return no_content()


@route(bp, "/media/{media_id}/restore", methods=("POST",))
def restore_media(media_id: str) -> dict[str, Any]:
    """Bring an item back from the trash."""
    return dependencies.media_library().restore(principal(bp), media_id)


@route(bp, "/trash/{media_id}", methods=("DELETE",))
def purge_media(media_id: str) -> Response:
    """Delete a trashed item for good: original (every version), derivatives, record."""
    dependencies.media_library().purge(principal(bp), media_id)
    return no_content()


@route(bp, "/media/{media_id}/download")
def download_media(media_id: str) -> dict[str, Any]:
    """A short-lived URL that downloads the original with a safe Content-Disposition."""
    return dependencies.media_library().download(principal(bp), media_id)


@route(bp, "/media/{media_id}/describe", methods=("POST",))
def describe_media(media_id: str) -> Response:
    """Ask for an AI description; it arrives asynchronously (watch ai_description.status)."""
    return Response(body=dependencies.description_requests().request(principal(bp), media_id), status_code=202)
