"""Maintenance jobs: an admin asks, the API answers at once with a job id, a worker does the work in bounded steps.

A job runs as a chain of steps. Each step is one queue message `(job_id, step)`: the worker loads the job, works
until its time budget is spent, then writes the job back on the condition that its step is still the one it read
(so a duplicate delivery of the same step changes nothing) and hands the next step to the queue. A step that was
committed but whose hand-off was lost is re-sent when SQS redelivers the step message.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from shared.domain.errors import Conflict, NotFound, ValidationError
from shared.domain.media import MediaItem, MediaStatus

# Findings and errors a job keeps to show (their counts are always complete).
MAX_SAMPLES = 50
MAX_ERRORS = 20
# A step starts no page of work with less than this left: one page (100 items, 1,000 keys) and its writes fit.
PAGE_SECONDS = 30.0

TimeLeft = Callable[[], float]


class JobKind(StrEnum):
    """What a job does."""

    REPROCESS = "reprocess"
    RECONCILE = "reconcile"
    EXPORT = "export"
    ERASE = "erase"


class JobStatus(StrEnum):
    """queued -> running -> done | failed."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass
class Job:
    """One maintenance job and its progress (counts by name; findings: samples of what reconcile found)."""

    job_id: str
    kind: JobKind
    params: dict[str, Any]
    requested_by: str
    status: JobStatus = JobStatus.QUEUED
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_at: datetime | None = None
    finished_at: datetime | None = None
    step: int = 0
    cursor: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    findings: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """True once done or failed."""
        return self.status in (JobStatus.DONE, JobStatus.FAILED)

    def count(self, name: str, by: int = 1) -> None:
        """Add to a counter."""
        self.counts[name] = self.counts.get(name, 0) + by

    def note_error(self, message: str) -> None:
        """Count an error; keep its text while there is room."""
        self.count("errors")
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message[:300])

    def note_finding(self, kind: str, subject: str, detail: str = "") -> None:
        """Count a finding; keep it as a sample while there is room."""
        self.count(kind)
        if len(self.findings) < MAX_SAMPLES:
            self.findings.append({"kind": kind, "subject": subject, "detail": detail})


class JobFailed(Exception):
    """A runner's verdict that its job cannot finish: the job fails with this message at once (no retry)."""


@dataclass(frozen=True)
class ReprocessFilter:
    """Which items a reprocess job takes: one item, or those matching every given criterion."""

    media_id: str = ""
    status: MediaStatus | None = None
    kind: str = ""
    created_from: datetime | None = None
    created_to: datetime | None = None

    def matches(self, item: MediaItem) -> bool:
        """True when item meets every criterion given."""
        return (
            (not self.media_id or item.media_id == self.media_id)
            and (self.status is None or item.status is self.status)
            and (not self.kind or item.kind.value == self.kind)
            and (self.created_from is None or item.created_at >= self.created_from)
            and (self.created_to is None or item.created_at <= self.created_to)
        )

    def to_params(self) -> dict[str, Any]:
        """The filter as stored with its job."""
        return {
            "media_id": self.media_id,
            "status": self.status.value if self.status else "",
            "kind": self.kind,
            "created_from": self.created_from.isoformat() if self.created_from else "",
            "created_to": self.created_to.isoformat() if self.created_to else "",
        }

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ReprocessFilter:
        """The filter a job was created with."""
        return cls(
            media_id=str(params.get("media_id") or ""),
            status=MediaStatus(params["status"]) if params.get("status") else None,
            kind=str(params.get("kind") or ""),
            created_from=datetime.fromisoformat(params["created_from"]) if params.get("created_from") else None,
            created_to=datetime.fromisoformat(params["created_to"]) if params.get("created_to") else None,
        )


class JobStore(Protocol):
    """Where jobs are kept."""

    def create(self, job: Job) -> None:
        """Store a new job."""

    def get(self, job_id: str) -> Job | None:
        """The job, or None."""

    def commit(self, job: Job, expected_step: int) -> None:
        """Write the job's progress if its stored step is still expected_step; Conflict otherwise."""


class JobQueue(Protocol):
    """The worker's queue."""

    def send(self, job_id: str, step: int) -> None:
        """Ask the worker to run a job's step."""


class MaintenanceItems(Protocol):
    """The media records a job goes through (a Scan: a maintenance job is not a read path of the API)."""

    def get(self, media_id: str) -> MediaItem | None:
        """The item, or None."""

    def get_many(self, media_ids: list[str]) -> dict[str, MediaItem]:
        """The items that exist among media_ids."""

    def scan(self, cursor: str, limit: int) -> tuple[list[MediaItem], str]:
        """One page of the whole table and the cursor after it ("" at the end)."""

    def reopen(self, item: MediaItem) -> bool:
        """Put an item unchanged since it was read back to pending (for the processor to claim); False if it moved."""

    def return_to(self, item: MediaItem) -> None:
        """Undo reopen when its processing request could not be sent (if the item is still pending)."""

    def mark_failed(self, item: MediaItem, reason: str) -> bool:
        """A ready item unchanged since it was read becomes failed with reason; False if it moved."""

    def owned_bytes(self, owner_id: str) -> int:
        """The sum of stored_bytes over every item of an owner."""


class ProcessingRequests(Protocol):
    """The processor's queue."""

    def reprocess(self, item: MediaItem, job_id: str) -> None:
        """Ask the processor to process the item's original again."""


class Reprocessing:
    """Sends items back through processing: reopened, then announced to the processor (which claims them once)."""

    def __init__(self, items: MaintenanceItems, requests: ProcessingRequests) -> None:
        self._items = items
        self._requests = requests

    def request(self, item: MediaItem, job_id: str) -> bool:
        """Reprocess one item; False when it is in flight, in the trash, or changed meanwhile."""
        if item.trashed or item.status in (MediaStatus.PENDING, MediaStatus.PROCESSING):
            return False
        # Pending without a pending_shard: the janitor's index never sees it, so upkeep cannot expire it.
        if not self._items.reopen(item):
            return False
        try:
            self._requests.reprocess(item, job_id)
        except Exception:
            self._items.return_to(item)
            raise
        return True


class StepRunner(Protocol):
    """One kind of job's work: advance job (counts, cursor) while time lasts; True when the job is complete."""

    def __call__(self, job: Job, time_left: TimeLeft) -> bool: ...


class MaintenanceJobs:
    """Submits jobs and runs their steps."""

    def __init__(
        self,
        store: JobStore,
        queue: JobQueue,
        items: MaintenanceItems,
        reprocessing: Reprocessing,
        *,
        new_id: Callable[[], str],
        runners: dict[JobKind, StepRunner] | None = None,
    ) -> None:
        self._store = store
        self._queue = queue
        self._items = items
        self._reprocessing = reprocessing
        self._new_id = new_id
        self._runners: dict[JobKind, StepRunner] = {JobKind.REPROCESS: self._reprocess_step, **(runners or {})}

    def submit(self, kind: JobKind, params: dict[str, Any], requested_by: str, *, job_id: str = "") -> Job:
        """Store a queued job and hand its first step to the worker (job_id: one the caller already reserved)."""
        if kind is JobKind.REPROCESS:
            media_id = ReprocessFilter.from_params(params).media_id
            if media_id and self._items.get(media_id) is None:
                raise NotFound("media not found")
        job = Job(job_id=job_id or self._new_id(), kind=kind, params=params, requested_by=requested_by)
        self._store.create(job)
        self._queue.send(job.job_id, job.step)
        return job

    def get(self, job_id: str) -> Job:
        """A job; NotFound when there is none."""
        job = self._store.get(job_id)
        if job is None:
            raise NotFound("job not found")
        return job

    def run_step(self, job_id: str, step: int, *, redelivered: bool, time_left: TimeLeft) -> None:
        """Run one step of a job (a duplicate or late step changes nothing)."""
        job = self._store.get(job_id)
        if job is None or job.finished:
            return
        if job.step != step:
            if redelivered and job.step == step + 1:
                # This step was committed but its hand-off may have been lost: a first delivery of the next step
                # that this duplicates finds the job moved on and stops there.
                self._queue.send(job_id, job.step)
            return
        if job.status is JobStatus.QUEUED:
            job.status = JobStatus.RUNNING
            job.started_at = datetime.now(UTC)
        try:
            complete = self._runners[job.kind](job, time_left)
        except JobFailed as failure:
            job.note_error(str(failure))
            job.status = JobStatus.FAILED
            complete = True
        job.step += 1
        if complete:
            job.status = JobStatus.FAILED if job.status is JobStatus.FAILED else JobStatus.DONE
            job.finished_at = datetime.now(UTC)
        try:
            self._store.commit(job, expected_step=step)
        except Conflict:
            return  # another delivery of this step committed first
        if not complete:
            self._queue.send(job_id, job.step)

    def fail(self, job_id: str, reason: str) -> None:
        """Mark a job failed (its step failed on every delivery)."""
        job = self._store.get(job_id)
        if job is None or job.finished:
            return
        job.note_error(reason)
        job.status = JobStatus.FAILED
        job.finished_at = datetime.now(UTC)
        with contextlib.suppress(Conflict):  # it moved on meanwhile: that delivery decides
            self._store.commit(job, expected_step=job.step)

    def _reprocess_step(self, job: Job, time_left: TimeLeft) -> bool:
        wanted = ReprocessFilter.from_params(job.params)
        if wanted.media_id:
            item = self._items.get(wanted.media_id)
            job.counts["total"] = 1
            self._reprocess(job, item) if item is not None else job.note_error("media not found")
            return True
        cursor = job.cursor
        while time_left() > PAGE_SECONDS:
            page, cursor = self._items.scan(cursor, 100)
            for item in page:
                if wanted.matches(item):
                    job.count("total")
                    self._reprocess(job, item)
            job.cursor = cursor
            if not cursor:
                return True
        return False

    def _reprocess(self, job: Job, item: MediaItem) -> None:
        try:
            requested = self._reprocessing.request(item, job.job_id)
        except Exception as exc:  # noqa: BLE001 - one item's failure must not stop the job: the job reports it
            job.note_error(f"{item.media_id}: {type(exc).__name__}")
            return
        job.count("processed" if requested else "skipped")


def encode_cursor(value: dict[str, str]) -> str:
    """A step's position as the job stores it."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def decode_cursor(text: str) -> dict[str, str]:
    """The position a job stored ({} at the start)."""
    if not text:
        return {}
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValidationError("malformed job cursor")
    return {str(k): str(v) for k, v in value.items()}
