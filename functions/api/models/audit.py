"""The audit log: search filters, and entries as an admin and as an owner see them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from functions.api.models.common import Query, Reply, Timestamp, UserId, UtcInstant
from shared.domain.audit import MAX_PAGE, AuditEntry, AuditPage, AuditQuery, Outcome

ResourceName = Annotated[str, StringConstraints(pattern=r"^[a-z]{1,32}#[A-Za-z0-9._@-]{1,255}$")]
ActionName = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}(\.[a-z_]{1,32}){1,5}$")]


class MyAccessSearch(Query):
    """Filters and paging of GET /me/audit."""

    action: ActionName | None = Field(default=None, description='only this action, e.g. "media.read"')
    from_: UtcInstant | None = Field(default=None, alias="from", description="at or after (no offset: UTC)")
    to: UtcInstant | None = Field(default=None, description="at or before (no offset: UTC)")
    limit: int = Field(default=50, ge=1, le=MAX_PAGE, description="page size")
    cursor: str | None = Field(
        default=None, max_length=2048, description="next_cursor of the previous page of the same query"
    )

    def to_domain(self) -> AuditQuery:
        """The domain's query (ValidationError when from is after to)."""
        return AuditQuery(
            action=self.action or "",
            since=datetime.fromisoformat(self.from_) if self.from_ else None,
            until=datetime.fromisoformat(self.to) if self.to else None,
        )


class AuditSearch(MyAccessSearch):
    """Filters and paging of GET /admin/audit."""

    actor: UserId | None = Field(default=None, description="the acting principal's subject (user id)")
    resource: ResourceName | None = Field(default=None, description='one resource, e.g. "media#<media_id>"')

    def to_domain(self) -> AuditQuery:
        """The domain's query."""
        base = super().to_domain()
        return AuditQuery(
            actor=self.actor or "",
            resource=self.resource or "",
            action=base.action,
            since=base.since,
            until=base.until,
        )


class AccessEntry(Reply):
    """Something someone else did with the caller's media (their address and software are not shown)."""

    entry_id: str
    at: Timestamp
    actor: str = Field(description="the acting principal's subject (user id)")
    actor_name: str
    actor_role: str
    action: str = Field(examples=["media.read"])
    resource: str = Field(examples=["media#0123456789abcdef0123456789abcdef"])
    outcome: Outcome
    status: int = Field(description="the HTTP status the request was answered with")

    @classmethod
    def of(cls, entry: AuditEntry) -> AccessEntry:
        """The owner's view of an entry."""
        return cls(
            entry_id=entry.entry_id,
            at=entry.at,
            actor=entry.actor_id,
            actor_name=entry.actor_name,
            actor_role=entry.actor_role,
            action=entry.action,
            resource=entry.resource,
            outcome=entry.outcome,
            status=entry.status,
        )


class AuditRecord(AccessEntry):
    """One audit entry, in full."""

    owner: str = Field(description="the resource's owner, when known")
    source_ip: str
    user_agent: str
    request_id: str

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditRecord:
        """The admin's view of an entry."""
        return cls(
            **AccessEntry.of(entry).model_dump(),
            owner=entry.owner_id,
            source_ip=entry.source_ip,
            user_agent=entry.user_agent,
            request_id=entry.request_id,
        )


class AccessPage(Reply):
    """A page of accesses by others to the caller's media, newest first."""

    entries: list[AccessEntry]
    next_cursor: str | None = Field(description="pass back as cursor for the next page; null at the end")

    @classmethod
    def of(cls, page: AuditPage) -> AccessPage:
        """The owner's page."""
        return cls(entries=[AccessEntry.of(e) for e in page.entries], next_cursor=page.cursor)


class AuditRecordPage(Reply):
    """A page of audit entries, newest first."""

    entries: list[AuditRecord]
    next_cursor: str | None = Field(description="pass back as cursor for the next page; null at the end")

    @classmethod
    def of(cls, page: AuditPage) -> AuditRecordPage:
        """The admin's page."""
        return cls(entries=[AuditRecord.of(e) for e in page.entries], next_cursor=page.cursor)
