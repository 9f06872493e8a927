"""Uploads: declare a file (or a new version of one), then send its bytes straight to S3."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from functions import dependencies
from functions.api.routing import current_user, json_body, principal, route
from shared.domain.uploads import UploadRequest

bp = Blueprint(__name__)


@route(bp, "/uploads", methods=("POST",))
def create_upload() -> Response:
    """A pending item with a presigned POST (small files) or a multipart plan (large ones); 200 for a duplicate."""
    ticket = dependencies.upload_service().issue_upload(
        principal(bp), UploadRequest.parse(json_body(bp)), current_user().quota_bytes
    )
    return Response(body=ticket, status_code=200 if ticket["duplicate"] else 201)


@route(bp, "/uploads/{media_id}/parts", methods=("POST",))
def sign_parts(media_id: str) -> dict[str, Any]:
    """PUT URLs for the parts the client is about to send."""
    body = json_body(bp)
    numbers = body.get("part_numbers") if isinstance(body, dict) else None
    return dependencies.upload_service().presign_parts(principal(bp), media_id, numbers)


@route(bp, "/uploads/{media_id}/parts")
def list_parts(media_id: str) -> dict[str, Any]:
    """Parts S3 already holds: a client resuming after a failure sends only the rest."""
    return dependencies.upload_service().uploaded_parts(principal(bp), media_id)


@route(bp, "/uploads/{media_id}/complete", methods=("POST",))
def complete_upload(media_id: str) -> dict[str, Any]:
    """Assemble the parts; processing starts when S3 announces the object."""
    item = dependencies.upload_service().complete(principal(bp), media_id, json_body(bp))
    return dependencies.media_library().view(item)


@route(bp, "/uploads/{media_id}", methods=("DELETE",))
def abort_upload(media_id: str) -> Response:
    """Abandon an unfinished multipart upload."""
    dependencies.upload_service().abort(principal(bp), media_id)
    return Response(body="", status_code=204)


@route(bp, "/media/{media_id}/versions", methods=("POST",))
def create_version(media_id: str) -> Response:
    """Upload a replacement original; the previous one stays as an older version."""
    request = UploadRequest.parse(json_body(bp), filename_required=False)
    ticket = dependencies.upload_service().issue_version(principal(bp), media_id, request, current_user().quota_bytes)
    return Response(body=ticket, status_code=201)


@route(bp, "/media/{media_id}/versions")
def list_versions(media_id: str) -> dict[str, Any]:
    """Every stored version of the original, newest first."""
    versions = dependencies.upload_service().versions(principal(bp), media_id)
    return {
        "versions": [
            {"version_id": v.version_id, "size": v.size, "last_modified": v.last_modified, "is_current": v.is_current}
            for v in versions
        ]
    }


@route(bp, "/media/{media_id}/versions/{version_id}/restore", methods=("POST",))
def restore_version(media_id: str, version_id: str) -> dict[str, Any]:
    """Make an older original current again; it is processed like a new upload."""
    item = dependencies.upload_service().restore_version(
        principal(bp), media_id, version_id, current_user().quota_bytes
    )
    return dependencies.media_library().view(item)
