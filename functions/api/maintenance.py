"""Maintenance over HTTP (admins only): reprocess and reconcile jobs, answered at once with a job id; dead letters."""

from __future__ import annotations

from chalice.app import Blueprint

from functions.api.models.maintenance import (
    DeadLetterQueue,
    DeadLetterReport,
    DeadLetterSearch,
    JobAccepted,
    JobView,
    ReconcileRequest,
    RedriveRequest,
    RedriveResult,
    ReprocessRequest,
)
from functions.api.routing import principal, route, services
from shared.domain.jobs import JobKind

bp = Blueprint(__name__)

# API Gateway answers 504 after 29 s: a redrive stops moving messages well before, and says how many it moved.
REDRIVE_BUDGET_SECONDS = 15.0


@route(
    bp, "/admin/reprocess", methods=("POST",), body=ReprocessRequest, response=JobAccepted, status=202, errors=(404,)
)
def reprocess(body: ReprocessRequest) -> JobAccepted:
    """Process one item, or the items matching a filter, again (a job: follow it at /admin/jobs/{job_id})."""
    job = services().maintenance_jobs.submit(JobKind.REPROCESS, body.to_domain().to_params(), principal(bp).sub)
    return JobAccepted.of(job)


@route(bp, "/admin/reconcile", methods=("POST",), body=ReconcileRequest, response=JobAccepted, status=202)
def reconcile(body: ReconcileRequest) -> JobAccepted:
    """Compare the bucket, the media table and the quota counters; with fix, repair what disagrees (a job).

    Finds objects no item owns, ready items whose original is gone, ready items missing a rendition, and quota
    counters that differ from the bytes their owner stores. Running it twice finds nothing the second time.
    """
    job = services().maintenance_jobs.submit(JobKind.RECONCILE, {"fix": body.fix}, principal(bp).sub)
    return JobAccepted.of(job)


@route(bp, "/admin/jobs/{job_id}", response=JobView, errors=(404,))
def job_progress(job_id: str) -> JobView:
    """A maintenance job's status, counts, findings and errors."""
    return JobView.of(services().maintenance_jobs.get(job_id))


@route(bp, "/admin/dlq", query=DeadLetterSearch, response=DeadLetterReport)
def dead_letters(query: DeadLetterSearch) -> DeadLetterReport:
    """Each dead-letter queue's approximate size and its first messages (they stay in the queue)."""
    queues = services().dead_letters
    return DeadLetterReport(queues=[DeadLetterQueue.of(queues.peek(name, query.limit)) for name in queues.names])


@route(bp, "/admin/dlq/redrive", methods=("POST",), body=RedriveRequest, response=RedriveResult)
def redrive(body: RedriveRequest) -> RedriveResult:
    """Move a dead-letter queue's messages back to the queue they came from (up to max_messages)."""
    moved = services().dead_letters.redrive(body.queue, body.max_messages, REDRIVE_BUDGET_SECONDS)
    return RedriveResult(queue=body.queue, moved=moved)
