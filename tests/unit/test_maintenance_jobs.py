"""Maintenance job steps: each step counts once, however often its message is delivered, and a lost hand-off heals."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.domain.errors import Conflict
from shared.domain.jobs import Job, JobKind, JobStatus, MaintenanceJobs, Reprocessing
from shared.domain.media import MediaItem, MediaStatus


class Store:
    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}

    def create(self, job: Job) -> None:
        self.jobs[job.job_id] = replace(job, counts=dict(job.counts))

    def get(self, job_id: str) -> Job | None:
        job = self.jobs.get(job_id)
        return None if job is None else replace(job, counts=dict(job.counts), errors=list(job.errors))

    def commit(self, job: Job, expected_step: int) -> None:
        if self.jobs[job.job_id].step != expected_step:
            raise Conflict("moved on")
        self.create(job)


class Queue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    def send(self, job_id: str, step: int) -> None:
        self.sent.append((job_id, step))


class Items:
    def __init__(self, items: list[MediaItem]) -> None:
        self.items = {item.media_id: item for item in items}

    def get(self, media_id: str) -> MediaItem | None:
        return self.items.get(media_id)

    def get_many(self, media_ids: list[str]) -> dict[str, MediaItem]:
        return {m: self.items[m] for m in media_ids if m in self.items}

    def scan(self, cursor: str, limit: int) -> tuple[list[MediaItem], str]:
        ordered = sorted(self.items.values(), key=lambda item: item.media_id)
        start = int(cursor or 0)
        end = start + limit
        return ordered[start:end], str(end) if end < len(ordered) else ""

    def reopen(self, item: MediaItem) -> bool:
        if self.items[item.media_id].status is not item.status:
            return False
        self.items[item.media_id] = replace(item, status=MediaStatus.PENDING)
        return True

    def return_to(self, item: MediaItem) -> None:
        self.items[item.media_id] = item

    def mark_failed(self, item: MediaItem, reason: str) -> bool:
        return False

    def owned_bytes(self, owner_id: str) -> int:
        return 0


class Requests:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def reprocess(self, item: MediaItem, job_id: str) -> None:
        self.sent.append(item.media_id)


def _item(n: int, status: MediaStatus = MediaStatus.READY) -> MediaItem:
    return MediaItem(f"{n:032x}", "user-a", "f.jpg", "image/jpeg", 10, f"originals/user-a/{n:032x}", status=status)


@pytest.fixture
def world() -> tuple[MaintenanceJobs, Store, Queue, Requests]:
    store, queue, requests = Store(), Queue(), Requests()
    items = Items([_item(n) for n in range(250)] + [_item(999, MediaStatus.PROCESSING)])
    jobs = MaintenanceJobs(store, queue, items, Reprocessing(items, requests), new_id=lambda: "j" * 32)
    return jobs, store, queue, requests


def test_a_job_runs_in_steps_while_time_is_short_and_counts_each_item_once(
    world: tuple[MaintenanceJobs, Store, Queue, Requests],
) -> None:
    jobs, store, queue, requests = world
    job = jobs.submit(JobKind.REPROCESS, {"status": "ready"}, "user-admin")
    budget = iter([100.0, 10.0] * 10)  # one page of work, then too little time left for another

    while queue.sent:
        job_id, step = queue.sent.pop(0)
        jobs.run_step(job_id, step, redelivered=False, time_left=lambda: next(budget))
        # A duplicate delivery of the same step changes nothing and sends nothing.
        jobs.run_step(job_id, step, redelivered=False, time_left=lambda: 100.0)

    done = store.jobs[job.job_id]
    assert done.status is JobStatus.DONE and done.step == 3
    assert (done.counts["processed"], done.counts["total"]) == (250, 250)
    assert len(requests.sent) == len(set(requests.sent)) == 250


def test_a_redelivered_step_whose_next_step_was_never_sent_sends_it(
    world: tuple[MaintenanceJobs, Store, Queue, Requests],
) -> None:
    jobs, store, queue, _ = world
    job = jobs.submit(JobKind.REPROCESS, {"status": "ready"}, "user-admin")
    budget = iter([100.0, 10.0])
    jobs.run_step(job.job_id, 0, redelivered=False, time_left=lambda: next(budget))
    queue.sent.clear()  # the hand-off to step 1 was lost

    jobs.run_step(job.job_id, 0, redelivered=True, time_left=lambda: 100.0)

    assert queue.sent == [(job.job_id, 1)]
    assert store.jobs[job.job_id].counts["processed"] == 100


def test_a_step_that_fails_for_good_fails_its_job(world: tuple[MaintenanceJobs, Store, Queue, Requests]) -> None:
    jobs, store, _, _ = world
    job = jobs.submit(JobKind.RECONCILE, {"fix": False}, "user-admin")

    jobs.fail(job.job_id, "step 0 failed after 3 attempts: ClientError")

    failed = store.jobs[job.job_id]
    assert failed.status is JobStatus.FAILED and failed.errors == ["step 0 failed after 3 attempts: ClientError"]
