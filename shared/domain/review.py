"""Moderation review: admins work through the queue of flagged items; owners see the outcome and may appeal once.

An item enters the queue when the analyzer flags it (or when its owner asks for a second look) and leaves it when
an admin decides. Approve unflags it (grants and links serve it again); reject makes it `rejected` and removes its
renditions. The decision (reviewer, reason, time) is kept on the item, and the owner is notified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from shared.domain.errors import Conflict, Forbidden, NotFound
from shared.domain.media import MediaItem, MediaStatus, rendition_prefix
from shared.domain.notifications import (
    Notification,
    NotificationKind,
    NotificationRepository,
    SharePayload,
    notification_id,
)
from shared.domain.policy import Action, authorize
from shared.domain.ports import ObjectStorage, Page
from shared.domain.principal import Principal

MAX_PAGE = 100
MAX_REASON = 1000


class Decision(StrEnum):
    """What a moderator decides about a flagged item."""

    APPROVE = "approve"
    REJECT = "reject"


class ReviewState(StrEnum):
    """Where an item stands with moderation, as its owner sees it."""

    AWAITING_REVIEW = "awaiting_review"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class QueueFilter:
    """Which queued items to list: at least this moderation score, flagged at or before this instant."""

    min_score: float | None = None
    older_than: datetime | None = None


@dataclass(frozen=True)
class QueuedItem:
    """A queued item and short-lived URLs of its renditions (for the admin's eyes only)."""

    item: MediaItem
    rendition_urls: dict[str, str]

    @property
    def score(self) -> float | None:
        """The moderation score that flagged it (None when moderation recorded none)."""
        score = self.item.moderation.get("score")
        return float(score) if isinstance(score, int | float) else None

    @property
    def second_look(self) -> bool:
        """True when its owner asked for a second look."""
        return bool(self.item.review.get("second_look"))


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue, newest first, and the cursor of the next one (None at the end)."""

    items: list[QueuedItem]
    cursor: str | None


class ReviewRepository(Protocol):
    """The parts of the media repository review reads and writes."""

    def get(self, media_id: str) -> MediaItem | None:
        """The item, or None."""

    def review_queue(self, queue_filter: QueueFilter, limit: int, cursor: str | None) -> Page:
        """Items awaiting review, newest flag first; ValidationError for a cursor of another listing."""

    def record_decision(self, item: MediaItem, decision: Decision, review: dict[str, Any]) -> MediaItem:
        """Take the item out of the queue with the decision; Conflict if it no longer awaits review."""

    def requeue_for_second_look(self, item: MediaItem, review: dict[str, Any], at: datetime) -> MediaItem:
        """Put the item back in the queue; Conflict if it changed since it was read."""


def review_status(item: MediaItem) -> dict[str, Any] | None:
    """The owner's view of moderation (None when the item never needed a review); the reviewer is not named."""
    review = item.review
    second_look = bool(review.get("second_look"))
    if item.awaiting_review:
        return {"state": ReviewState.AWAITING_REVIEW.value, "second_look": second_look}
    decision = review.get("decision")
    if decision not in (Decision.APPROVE.value, Decision.REJECT.value):
        return None
    return {
        "state": (ReviewState.APPROVED if decision == Decision.APPROVE.value else ReviewState.REJECTED).value,
        "reason": str(review.get("reason", "")),
        "decided_at": review.get("decided_at"),
        "second_look": second_look,
    }


class Reprocess(Protocol):
    """Sends an item back through processing (maintenance's Reprocessing)."""

    def request(self, item: MediaItem, job_id: str) -> bool:
        """Reopen the item and announce it to the processor; False when it changed meanwhile."""


def reviewed_version(item: MediaItem) -> str:
    """The version of an item's bytes a decision is about: a new version is moderated afresh."""
    return item.version_id or item.sequencer


def approved_as_is(item: MediaItem) -> bool:
    """True when a reviewer approved this very version: moderation scores it again but does not re-flag it."""
    return item.review.get("decision") == Decision.APPROVE.value and item.review.get("version") == reviewed_version(
        item
    )


class ModerationReview:
    """The moderation queue and its decisions (admins), and the owner's one request for a second look."""

    def __init__(
        self,
        repository: ReviewRepository,
        storage: ObjectStorage,
        notifications: NotificationRepository,
        *,
        url_ttl_seconds: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        reprocess: Reprocess | None = None,
    ) -> None:
        self._repository = repository
        self._storage = storage
        self._notifications = notifications
        self._ttl = url_ttl_seconds
        self._clock = clock
        # Renditions of an item approved after a rejection are made again by the processor.
        self._reprocess = reprocess

    def queue(self, principal: Principal, queue_filter: QueueFilter, limit: int, cursor: str | None) -> QueuePage:
        """One page of items awaiting review, newest flag first, with their previews."""
        _require_admin(principal)
        page = self._repository.review_queue(queue_filter, min(limit, MAX_PAGE), cursor)
        return QueuePage([self._queued(item) for item in page.items], page.cursor)

    def decide(self, principal: Principal, media_id: str, decision: Decision, reason: str) -> MediaItem:
        """Approve (unflag) or reject (status rejected, renditions removed) a queued item; the owner is told."""
        _require_admin(principal)
        item = self._repository.get(media_id)
        if item is None:
            raise NotFound("media not found")
        if not item.awaiting_review:
            raise Conflict("the item is not awaiting review")
        now = self._clock()
        review = {
            **item.review,
            "decision": decision.value,
            "reviewer_id": principal.sub,
            "reason": reason,
            "decided_at": now.isoformat(),
            "version": reviewed_version(item),
        }
        decided = self._repository.record_decision(item, decision, review)
        if decision is Decision.REJECT:
            # The record no longer names them, so nothing serves them even if this delete is retried later.
            self._storage.purge(exact_keys=[], prefixes=[rendition_prefix(item.owner_id, item.media_id)])
        elif (
            item.status is MediaStatus.REJECTED
            and self._reprocess is not None
            and self._reprocess.request(decided, f"review-{item.media_id}")
        ):
            # Approved on a second look: its renditions went with the rejection, so the processor makes them
            # again (the item is pending until then; moderation will not flag the approved version again).
            decided = replace(decided, status=MediaStatus.PENDING)
        self._notify_owner(decided, principal, decision, now)
        return decided

    def request_second_look(self, principal: Principal, media_id: str) -> MediaItem:
        """The owner asks a moderator to look again, once: the item goes back to the top of the queue."""
        item = authorize(principal, Action.APPEAL, self._repository.get(media_id))
        if not (item.flagged or item.status is MediaStatus.REJECTED):
            raise Conflict("only a flagged or rejected item can be reviewed again")
        if item.review.get("second_look"):
            raise Conflict("a second look was already asked for")
        now = self._clock()
        review = {**item.review, "second_look": True, "second_look_at": now.isoformat()}
        return self._repository.requeue_for_second_look(item, review, now)

    def _queued(self, item: MediaItem) -> QueuedItem:
        urls = {name: self._storage.presign_get(r.key, self._ttl) for name, r in item.renditions.items()}
        return QueuedItem(item, urls)

    def _notify_owner(self, item: MediaItem, reviewer: Principal, decision: Decision, at: datetime) -> None:
        kind = (
            NotificationKind.MODERATION_APPROVED
            if decision is Decision.APPROVE
            else NotificationKind.MODERATION_REJECTED
        )
        payload = SharePayload(
            actor_id=reviewer.sub,
            actor_name="",
            resource_type="media",
            resource_id=item.media_id,
            resource_title=item.title or item.filename,
            permissions=(),
            share_id="",
        )
        self._notifications.add(
            Notification(
                notification_id=notification_id(at, item.media_id, kind),
                recipient_id=item.owner_id,
                kind=kind,
                created_at=at,
                payload=payload,
            )
        )


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only admins review flagged media")
