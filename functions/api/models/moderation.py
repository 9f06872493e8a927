"""Moderation review: the queue's query, a moderator's decision, and how queued and decided items are shown."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, model_validator

from functions.api.models.common import Body, Query, Reply, Timestamp, UtcInstant
from functions.api.models.media import RenditionLink
from shared.domain.media import MediaItem, MediaKind, MediaStatus
from shared.domain.review import MAX_PAGE, MAX_REASON, Decision, QueueFilter, QueuePage, review_status


class ModerationQueueQuery(Query):
    """Filters and paging of GET /admin/moderation."""

    min_score: float | None = Field(default=None, ge=0, le=1, description="only items scored at least this")
    older_than: UtcInstant | None = Field(default=None, description="only items flagged at or before this instant")
    limit: int = Field(default=20, ge=1, le=MAX_PAGE, description="page size")
    cursor: str | None = Field(
        default=None, max_length=2048, description="next_cursor of the previous page of the same query"
    )

    def to_domain(self) -> QueueFilter:
        """The domain's filter."""
        older_than = datetime.fromisoformat(self.older_than) if self.older_than else None
        return QueueFilter(min_score=self.min_score, older_than=older_than)


class ModerationDecision(Body):
    """Approve (unflag) or reject (remove renditions) a queued item; a rejection needs a reason."""

    decision: Decision
    reason: str = Field(default="", max_length=MAX_REASON, description="shown to the owner")

    @model_validator(mode="after")
    def _rejection_has_reason(self) -> ModerationDecision:
        if self.decision is Decision.REJECT and not self.reason.strip():
            raise ValueError("reason: a rejection needs a reason")
        return self


class QueuedMedia(Reply):
    """A flagged item as a moderator sees it, with short-lived URLs of its renditions."""

    media_id: str
    owner_id: str
    status: MediaStatus
    kind: MediaKind
    filename: str
    title: str
    score: float | None = Field(description="the moderation score that flagged it")
    moderation: dict[str, Any] | None
    flagged_at: Timestamp | None
    second_look: bool = Field(description="the owner asked for a second look")
    renditions: dict[str, RenditionLink]


class ModerationQueue(Reply):
    """One page of the queue, newest flag first."""

    items: list[QueuedMedia]
    next_cursor: str | None = Field(description="pass as cursor, with the same filters, for the next page")

    @classmethod
    def of(cls, page: QueuePage) -> ModerationQueue:
        """The response for a page."""
        items = []
        for queued in page.items:
            item = queued.item
            items.append(
                QueuedMedia(
                    media_id=item.media_id,
                    owner_id=item.owner_id,
                    status=item.status,
                    kind=item.kind,
                    filename=item.filename,
                    title=item.title,
                    score=queued.score,
                    moderation=item.moderation or None,
                    flagged_at=item.flagged_at,
                    second_look=queued.second_look,
                    renditions={
                        name: RenditionLink(
                            url=queued.rendition_urls[name],
                            width=r.width,
                            height=r.height,
                            content_type=r.content_type,
                        )
                        for name, r in item.renditions.items()
                    },
                )
            )
        return cls(items=items, next_cursor=page.cursor)


class ReviewOutcome(Reply):
    """An item's moderation state after a decision or a request for a second look."""

    media_id: str
    status: MediaStatus
    flagged: bool
    review: dict[str, Any] | None = Field(description="state (awaiting_review, approved, rejected), reason, ...")
    reviewer_id: str | None = Field(default=None, description="who decided (admins only)")

    @classmethod
    def of(cls, item: MediaItem, *, for_admin: bool) -> ReviewOutcome:
        """The response for an item."""
        reviewer = item.review.get("reviewer_id") if for_admin else None
        return cls(
            media_id=item.media_id,
            status=item.status,
            flagged=item.flagged,
            review=review_status(item),
            reviewer_id=str(reviewer) if reviewer else None,
        )
