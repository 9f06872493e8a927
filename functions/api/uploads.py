"""Upload issuing: the client declares a file and receives a pinned, signed POST."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from functions import dependencies
from functions.api.routing import created, json_body, principal, route
from shared.domain.uploads import UploadRequest

bp = Blueprint(__name__)


@route(bp, "/uploads", methods=("POST",))
def create_upload() -> Response:
    """Create a pending media item and its presigned upload."""
    ticket = dependencies.upload_service().issue_upload(principal(bp), UploadRequest.parse(json_body(bp)))
    return created(
        {
            "media_id": ticket.media_id,
            "upload": {
                "method": "POST",
                "url": ticket.upload.url,
                "fields": ticket.upload.fields,
                "expires_at": ticket.upload.expires_at,
            },
        }
    )
