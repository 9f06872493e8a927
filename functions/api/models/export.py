"""A person's data export: its acknowledgement and its progress."""

from __future__ import annotations

from pydantic import Field

from functions.api.models.common import Reply, Timestamp
from shared.domain.export import ExportView
from shared.domain.jobs import Job, JobStatus


class ExportAccepted(Reply):
    """An export was queued: follow it at GET /me/export/{job_id}."""

    job_id: str
    status: JobStatus

    @classmethod
    def of(cls, job: Job) -> ExportAccepted:
        """The acknowledgement of a new export."""
        return cls(job_id=job.job_id, status=job.status)


class ExportVolume(Reply):
    """One zip volume of a finished export."""

    url: str = Field(description="the volume, for url_expires_in seconds (ask again later for a fresh link)")
    name: str = Field(description="the file name it downloads as, numbered from 001 in order")
    size: int | None = Field(description="its size in bytes (null when not known)")


class ExportProgress(Reply):
    """An export's progress; once done, short-lived links to its zip volumes.

    A large export comes as several volumes (each a complete zip of its own, each item whole in one of them); the
    last one also holds grants.json, albums.json, notifications.json, audit.json and export.json.
    """

    job_id: str
    status: JobStatus
    items_done: int = Field(description="media items written to the archive's volumes so far")
    items_total: int = Field(description="media items the archive will hold (0 until the export starts)")
    created_at: Timestamp
    finished_at: Timestamp | None
    download_url: str | None = Field(
        description="once done: the first volume (the whole archive when there is one), for url_expires_in seconds"
    )
    url_expires_in: int | None = Field(description="seconds the download_url and every volume's url are valid")
    volumes: list[ExportVolume] = Field(description="once done: every volume, in order (empty before)")
    error: str | None = Field(description="why a failed export stopped")

    @classmethod
    def of(cls, view: ExportView) -> ExportProgress:
        """The owner's view of their export."""
        return cls(
            job_id=view.job_id,
            status=view.status,
            items_done=view.done,
            items_total=view.total,
            created_at=view.created_at,
            finished_at=view.finished_at,
            download_url=view.download_url or None,
            url_expires_in=view.url_expires_in or None,
            volumes=[ExportVolume(url=v.url, name=v.name, size=v.size or None) for v in view.volumes],
            error=view.error or None,
        )
