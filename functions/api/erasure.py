"""Erasure of a person's data over HTTP: the account stops at once (202), a job erases the rest."""

from __future__ import annotations

from chalice.app import Blueprint

from functions.api import recording
from functions.api.models.maintenance import JobAccepted
from functions.api.routing import principal, route, services

bp = Blueprint(__name__)


@route(bp, "/me", methods=("DELETE",), response=JobAccepted, status=202)
def erase_me() -> JobAccepted:
    """Erase the caller's data: originals with every version, renditions, items, grants both ways, links, albums,
    notifications, counters and the account.

    From this answer on, the caller's tokens are refused. The erasure itself is a job; audit entries stay, with a
    pseudonym in place of the caller's id and name.
    """
    erasure, caller = services().erasure_requests, principal(bp)
    job = erasure.erase_self(caller)
    recording.stand_in(caller.sub, erasure.alias(caller.sub))
    return JobAccepted.of(job)


@route(bp, "/admin/users/{user_id}/data", methods=("DELETE",), response=JobAccepted, status=202, errors=(404,))
def erase_user(user_id: str) -> JobAccepted:
    """Erase a user's data as DELETE /me does, and their realm user (admins only; follow it at /admin/jobs/{job_id}).

    Asking again after the job finished queues a job that finds nothing left.
    """
    erasure = services().erasure_requests
    job = erasure.erase_user(principal(bp), user_id)
    recording.stand_in(user_id, erasure.alias(user_id))
    return JobAccepted.of(job)
