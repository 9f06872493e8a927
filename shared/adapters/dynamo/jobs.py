"""The jobs table: maintenance jobs and their progress, one item per job (expiring through TTL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from shared.adapters.dynamo.conditions import bind, conditional_write
from shared.config import get_settings
from shared.domain.errors import Conflict
from shared.domain.jobs import Job, JobKind, JobStatus

# A finished job's record is kept this long for GET /admin/jobs/{job_id}.
RETENTION = timedelta(days=30)


class JobModel(Model):
    """The jobs table (keys mirror infra/template.yaml)."""

    class Meta:
        table_name = get_settings().jobs_table
        region = get_settings().region

    job_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    params = JSONAttribute()
    requested_by = UnicodeAttribute()
    status = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    step = NumberAttribute()
    cursor = UnicodeAttribute(null=True)
    counts = JSONAttribute(null=True)
    findings = JSONAttribute(null=True)
    errors = JSONAttribute(null=True)
    expires_at = NumberAttribute()


def _to_model(job: Job) -> JobModel:
    return JobModel(
        job.job_id,
        kind=job.kind.value,
        params=job.params,
        requested_by=job.requested_by,
        status=job.status.value,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        step=job.step,
        cursor=job.cursor or None,
        counts=job.counts,
        findings=job.findings,
        errors=job.errors,
        expires_at=int((datetime.now(UTC) + RETENTION).timestamp()),
    )


def _to_job(model: JobModel) -> Job:
    return Job(
        job_id=model.job_id,
        kind=JobKind(model.kind),
        params=dict(model.params or {}),
        requested_by=model.requested_by,
        status=JobStatus(model.status),
        created_at=model.created_at,
        started_at=model.started_at,
        finished_at=model.finished_at,
        step=int(model.step),
        cursor=model.cursor or "",
        counts={str(k): int(v) for k, v in (model.counts or {}).items()},
        findings=list(model.findings or []),
        errors=[str(e) for e in model.errors or []],
    )


class DynamoJobStore:
    """JobStore on the jobs table."""

    def __init__(self, table_name: str, region: str) -> None:
        bind(JobModel, table_name, region)

    def create(self, job: Job) -> None:
        """Store a new job (ids are fresh: an existing one is a bug, refused)."""
        with conditional_write(Conflict(f"job {job.job_id} exists")):
            _to_model(job).save(condition=JobModel.job_id.does_not_exist())

    def get(self, job_id: str) -> Job | None:
        """The job, or None."""
        try:
            return _to_job(JobModel.get(job_id, consistent_read=True))
        except JobModel.DoesNotExist:
            return None

    def commit(self, job: Job, expected_step: int) -> None:
        """Replace the job's record if its stored step is still expected_step."""
        with conditional_write(Conflict(f"job {job.job_id} moved past step {expected_step}")):
            _to_model(job).save(condition=JobModel.step == expected_step)
