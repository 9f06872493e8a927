"""Maintenance: reprocess and reconcile jobs, their progress, and the dead-letter queues."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import Field, model_validator

from functions.api.models.common import Body, MediaId, Query, Reply, Timestamp, UtcInstant
from shared.adapters.dead_letters import DeadLetterView
from shared.domain.jobs import Job, JobKind, JobStatus, ReprocessFilter
from shared.domain.media import MediaKind, MediaStatus

DeadLetterQueueName = Literal["processing", "analysis", "notifications"]


class ReprocessRequest(Body):
    """One item, or every item matching the filters given (at least one of them)."""

    media_id: MediaId | None = Field(default=None, description="reprocess this item only")
    status: MediaStatus | None = Field(default=None, description="items in this state")
    type: MediaKind | None = Field(default=None, description="photos (image) or videos (video)")
    created_from: UtcInstant | None = Field(default=None, description="uploaded at or after (no offset: UTC)")
    created_to: UtcInstant | None = Field(default=None, description="uploaded at or before (no offset: UTC)")

    @model_validator(mode="after")
    def _one_item_or_a_filter(self) -> Self:
        filters = (self.status, self.type, self.created_from, self.created_to)
        if self.media_id is None and all(value is None for value in filters):
            raise ValueError("give media_id, or at least one of status, type, created_from, created_to")
        if self.media_id is not None and any(value is not None for value in filters):
            raise ValueError("give media_id alone, or filters without it")
        if self.created_from and self.created_to and self.created_from > self.created_to:
            raise ValueError("created_from is after created_to")
        return self

    def to_domain(self) -> ReprocessFilter:
        """The job's filter."""
        return ReprocessFilter(
            media_id=self.media_id or "",
            status=self.status,
            kind=self.type.value if self.type else "",
            created_from=datetime.fromisoformat(self.created_from) if self.created_from else None,
            created_to=datetime.fromisoformat(self.created_to) if self.created_to else None,
        )


class ReconcileRequest(Body):
    """Report only, or repair too."""

    fix: bool = Field(description="false: report what disagrees; true: repair it as well")


class JobAccepted(Reply):
    """A job was queued: follow it at GET /admin/jobs/{job_id}."""

    job_id: str
    kind: JobKind
    status: JobStatus

    @classmethod
    def of(cls, job: Job) -> JobAccepted:
        """The acknowledgement of a new job."""
        return cls(job_id=job.job_id, kind=job.kind, status=job.status)


class Finding(Reply):
    """Something reconcile found."""

    kind: str = Field(examples=["object_without_item", "item_without_object", "missing_rendition", "quota_mismatch"])
    subject: str = Field(description="the object key, media id or user id")
    detail: str


class JobView(Reply):
    """A job and its progress."""

    job_id: str
    kind: JobKind
    params: dict[str, str | bool]
    status: JobStatus
    requested_by: str
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    processed: int = Field(description="items sent back to processing, or findings repaired")
    total: int | None = Field(description="items the job matched (final once done); null for reconcile")
    counts: dict[str, int] = Field(description="every counter: findings by kind, checked, skipped, fixed, errors")
    findings: list[Finding] = Field(description="the first findings (their counts are complete)")
    errors: list[str] = Field(description="the first errors")

    @classmethod
    def of(cls, job: Job) -> JobView:
        """The admin's view of a job."""
        return cls(
            job_id=job.job_id,
            kind=job.kind,
            params={k: v for k, v in job.params.items() if isinstance(v, str | bool) and v != ""},
            status=job.status,
            requested_by=job.requested_by,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            processed=job.counts.get("fixed" if job.kind is JobKind.RECONCILE else "processed", 0),
            total=job.counts.get("total", 0) if job.kind is JobKind.REPROCESS else None,
            counts=job.counts,
            findings=[Finding(**finding) for finding in job.findings],
            errors=job.errors,
        )


class DeadLetterSearch(Query):
    """How many messages to show per queue."""

    limit: int = Field(default=5, ge=1, le=10, description="messages shown per queue")


class DeadLetterMessage(Reply):
    """A message in a dead-letter queue (left there)."""

    message_id: str
    receive_count: int
    sent_at: int = Field(description="when it was first sent (epoch milliseconds)")
    summary: str


class DeadLetterQueue(Reply):
    """One dead-letter queue."""

    queue: DeadLetterQueueName
    approximate_messages: int
    messages: list[DeadLetterMessage]

    @classmethod
    def of(cls, view: DeadLetterView) -> DeadLetterQueue:
        """The admin's view of a queue."""
        return cls.model_validate(
            {
                "queue": view.queue,
                "approximate_messages": view.approximate_messages,
                "messages": [DeadLetterMessage(**vars(m)) for m in view.messages],
            }
        )


class DeadLetterReport(Reply):
    """Every dead-letter queue."""

    queues: list[DeadLetterQueue]


class RedriveRequest(Body):
    """Which queue's dead letters go back, and how many at most."""

    queue: DeadLetterQueueName
    max_messages: int = Field(default=100, ge=1, le=1000)


class RedriveResult(Reply):
    """What a redrive moved."""

    queue: DeadLetterQueueName
    moved: int
