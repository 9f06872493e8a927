"""Declaring many uploads in one request: the bulk clients' POST /uploads, with the writes shared by the batch."""

from __future__ import annotations

from chalice.app import Blueprint

from functions.api.models.common import ErrorBody
from functions.api.models.uploads import RefusedUpload, UploadBatch, UploadTicket, UploadTickets
from functions.api.routing import current_user, principal, route, services
from shared.domain.errors import DomainError

bp = Blueprint(__name__)


@route(bp, "/uploads/batch", methods=("POST",), body=UploadBatch, response=UploadTickets, errors=(429,))
def create_uploads(body: UploadBatch) -> UploadTickets:
    """Declare 1 to 25 files at once: for each, in order, what POST /uploads would answer for it alone.

    A file's own problem (a type not accepted, too large, over quota, a duplicate) is its entry's error or
    duplicate ticket; the other files are declared regardless. The batch counts as one upload request per file
    against the abuse limit (429 when none of it fits; files past what fits answer too_many_attempts).
    """
    results = services().upload_service.issue_uploads(principal(bp), body.to_domain(), current_user().quota_bytes)
    return UploadTickets(
        tickets=[
            RefusedUpload(error=ErrorBody(code=r.code, message=r.message))
            if isinstance(r, DomainError)
            else UploadTicket.of(r)
            for r in results
        ]
    )
