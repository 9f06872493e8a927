"""Uploads: declare a file (or a new version of one), then send its bytes straight to S3."""

from __future__ import annotations

from chalice.app import Blueprint

from functions.api.models.media import Media
from functions.api.models.uploads import (
    Completion,
    OriginalVersion,
    PartNumbers,
    SignedPart,
    SignedParts,
    StoredPart,
    UploadDeclaration,
    UploadProgress,
    UploadTicket,
    VersionDeclaration,
    Versions,
)
from functions.api.routing import current_user, principal, route, services

bp = Blueprint(__name__)


@route(
    bp,
    "/uploads",
    methods=("POST",),
    body=UploadDeclaration,
    response=UploadTicket,
    status=201,
    other_statuses=(200,),
    errors=(413, 415),
)
def create_upload(body: UploadDeclaration) -> tuple[UploadTicket, int]:
    """A pending item with a presigned POST (small files) or a multipart plan (large ones); 200 for a duplicate.

    With a sha256 matching one of the caller's ready items, nothing is uploaded: the answer is 200 with
    duplicate true and that item's id. Quota (declared bytes of the caller's items) is checked here.
    """
    ticket = services().upload_service.issue_upload(principal(bp), body.to_domain(), current_user().quota_bytes)
    return UploadTicket.of(ticket), 200 if ticket.duplicate else 201


@route(bp, "/uploads/{media_id}/parts", methods=("POST",), body=PartNumbers, response=SignedParts, errors=(404, 409))
def sign_parts(media_id: str, body: PartNumbers) -> SignedParts:
    """PUT URLs for the parts the client is about to send (at most 100 per call)."""
    signed = services().upload_service.presign_parts(principal(bp), media_id, body.part_numbers)
    return SignedParts(
        parts=[SignedPart(part_number=p.part_number, size=p.size, url=p.url) for p in signed.parts],
        expires_at=signed.expires_at,
    )


@route(bp, "/uploads/{media_id}/parts", response=UploadProgress, errors=(404, 409))
def list_parts(media_id: str) -> UploadProgress:
    """Parts S3 already holds: a client resuming after a failure sends only the rest."""
    progress = services().upload_service.uploaded_parts(principal(bp), media_id)
    return UploadProgress(
        part_size=progress.part_size,
        part_count=progress.part_count,
        parts=[StoredPart(part_number=p.part_number, etag=p.etag, size=p.size) for p in progress.parts],
    )


@route(bp, "/uploads/{media_id}/complete", methods=("POST",), body=Completion, response=Media, errors=(404, 409))
def complete_upload(media_id: str, body: Completion) -> Media:
    """Assemble the parts; processing starts when S3 announces the object."""
    item = services().upload_service.complete(principal(bp), media_id, body.to_domain())
    return Media.of(services().media_library.view(item))


@route(bp, "/uploads/{media_id}", methods=("DELETE",), status=204, errors=(404, 409))
def abort_upload(media_id: str) -> None:
    """Abandon an unfinished multipart upload (its quota is given back)."""
    services().upload_service.abort(principal(bp), media_id)


@route(
    bp,
    "/media/{media_id}/versions",
    methods=("POST",),
    body=VersionDeclaration,
    response=UploadTicket,
    status=201,
    errors=(404, 409, 413, 415),
)
def create_version(media_id: str, body: VersionDeclaration) -> UploadTicket:
    """Upload a replacement original; the previous one stays as an older version."""
    service = services().upload_service
    ticket = service.issue_version(principal(bp), media_id, body.to_domain(), current_user().quota_bytes)
    return UploadTicket.of(ticket)


@route(bp, "/media/{media_id}/versions", response=Versions, errors=(404,))
def list_versions(media_id: str) -> Versions:
    """Every stored version of the original, newest first."""
    versions = services().upload_service.versions(principal(bp), media_id)
    return Versions(
        versions=[
            OriginalVersion(
                version_id=v.version_id, size=v.size, last_modified=v.last_modified, is_current=v.is_current
            )
            for v in versions
        ]
    )


@route(
    bp,
    "/media/{media_id}/versions/{version_id}/restore",
    methods=("POST",),
    response=Media,
    errors=(400, 404, 409, 413),
)
def restore_version(media_id: str, version_id: str) -> Media:
    """Make an older original current again; it is processed like a new upload."""
    item = services().upload_service.restore_version(principal(bp), media_id, version_id, current_user().quota_bytes)
    return Media.of(services().media_library.view(item))
