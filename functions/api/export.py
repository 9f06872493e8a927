"""The caller's export of their own data: started here, built by the maintainer, downloaded through a short link."""

from __future__ import annotations

from chalice.app import Blueprint

from functions.api.models.export import ExportAccepted, ExportProgress
from functions.api.routing import principal, route, services

bp = Blueprint(__name__)


@route(bp, "/me/export", methods=("POST",), response=ExportAccepted, status=202, errors=(409,))
def start_export() -> ExportAccepted:
    """Export everything the caller stores and did (a job: follow it at /me/export/{job_id}); one at a time.

    The archive holds every version of each original, its renditions and metadata, the grants the caller gave and
    received, their albums, notifications and own audit entries. A large library comes as several zip volumes, each
    complete on its own (the last holds the records). A notification says when it is ready.
    """
    return ExportAccepted.of(services().data_exports.start(principal(bp)))


@route(bp, "/me/export/{job_id}", response=ExportProgress, errors=(404,))
def export_progress(job_id: str) -> ExportProgress:
    """The caller's export: items written so far and, once done, a link to each zip volume valid for a few minutes
    (download_url: the first volume's)."""
    return ExportProgress.of(services().data_exports.view(principal(bp), job_id))
