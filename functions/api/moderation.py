"""Moderation review: the admins' queue and decisions, and the owner's request for a second look."""

from __future__ import annotations

from chalice.app import Blueprint

from functions.api.models.moderation import ModerationDecision, ModerationQueue, ModerationQueueQuery, ReviewOutcome
from functions.api.routing import principal, route, services

bp = Blueprint(__name__)


@route(bp, "/admin/moderation", query=ModerationQueueQuery, response=ModerationQueue)
def list_moderation_queue(query: ModerationQueueQuery) -> ModerationQueue:
    """Flagged items awaiting review, newest flag first, with their previews (admins only).

    A cursor is valid only with the filters of the listing that returned it.
    """
    review = services().moderation_review
    page = review.queue(principal(bp), query.to_domain(), query.limit, query.cursor or None)
    return ModerationQueue.of(page)


@route(
    bp,
    "/admin/moderation/{media_id}",
    methods=("POST",),
    body=ModerationDecision,
    response=ReviewOutcome,
    errors=(404, 409),
)
def decide_moderation(media_id: str, body: ModerationDecision) -> ReviewOutcome:
    """Approve (unflag) or reject (status rejected, renditions removed) a queued item; the owner is notified.

    409 when the item is not awaiting review.
    """
    item = services().moderation_review.decide(principal(bp), media_id, body.decision, body.reason.strip())
    return ReviewOutcome.of(item, for_admin=True)


@route(bp, "/media/{media_id}/review", methods=("POST",), response=ReviewOutcome, errors=(404, 409))
def request_second_look(media_id: str) -> ReviewOutcome:
    """The owner asks for a second look at a flagged or rejected item, once (409 after that, or if not flagged)."""
    item = services().moderation_review.request_second_look(principal(bp), media_id)
    return ReviewOutcome.of(item, for_admin=False)
