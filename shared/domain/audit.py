"""The audit log: who did what to which resource, with what outcome, when and from where; append-only.

Entries are written for every write, every admin action and every access to someone else's item (an admin's or a
grantee's). Admins search the whole log; an owner sees what others did with their media. Each listing is served
by a key lookup of the log (by actor, by resource, by the owner of what was accessed, or by time), never a scan.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from shared.domain.errors import Forbidden, ValidationError
from shared.domain.media import MediaItem
from shared.domain.principal import Principal

MAX_PAGE = 100


class Outcome(StrEnum):
    """What became of a recorded request (its HTTP status is kept beside it)."""

    ALLOWED = "allowed"  # 1xx-3xx
    DENIED = "denied"  # 401, 403, 404: refused, or someone else's item that reads as missing
    REJECTED = "rejected"  # any other 4xx: invalid input, a conflict, a limit
    ERROR = "error"  # 5xx: the vault failed

    @classmethod
    def of(cls, status: int) -> Outcome:
        """The outcome an HTTP status stands for."""
        if status < 400:
            return cls.ALLOWED
        if status in (401, 403, 404):
            return cls.DENIED
        return cls.REJECTED if status < 500 else cls.ERROR


@dataclass(frozen=True)
class AuditEntry:
    """One recorded action."""

    entry_id: str
    at: datetime
    actor_id: str
    actor_name: str
    actor_role: str  # "user", "partner", "admin", or "link" for the anonymous holder of a share link
    action: str  # "media.read", "media.update", "share.create", "admin.settings.update", ...
    resource_type: str  # "media", "share", "user", "settings", ...
    resource_id: str  # "" when the action names no single resource (a listing, the settings)
    owner_id: str  # the resource's owner when known, else ""
    status: int
    source_ip: str = ""
    user_agent: str = ""
    request_id: str = ""

    @property
    def outcome(self) -> Outcome:
        """What became of the request."""
        return Outcome.of(self.status)

    @property
    def resource(self) -> str:
        """The resource as filters name it: "media#<id>" (or just its type when it has no id)."""
        return f"{self.resource_type}#{self.resource_id}" if self.resource_id else self.resource_type

    @property
    def by_someone_else(self) -> bool:
        """True when the actor acted on a resource someone else owns (what its owner gets to see)."""
        return bool(self.owner_id) and self.owner_id != self.actor_id


def new_entry_id() -> str:
    """A fresh, unique entry id."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class AuditQuery:
    """Filters of a search; since/until are as given (None: open), and bound the entry's time inclusively."""

    actor: str = ""
    resource: str = ""
    action: str = ""
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValidationError("from must not be after to", field="from")


@dataclass(frozen=True)
class AuditPage:
    """One page of entries, newest first, and the opaque cursor of the next one (None at the end)."""

    entries: list[AuditEntry]
    cursor: str | None


class AuditAppender(Protocol):
    """Where new entries go: the log itself, or a deferred delivery that the recorder writes to it."""

    def append(self, entry: AuditEntry) -> None:
        """Store a new entry; Conflict if its id is taken."""


class AuditLog(AuditAppender, Protocol):
    """Append-only storage of entries: no way to change or remove one (retention expires them)."""

    def by_actor(self, actor_id: str, query: AuditQuery, limit: int, cursor: str | None) -> AuditPage:
        """What one principal did, newest first."""

    def by_resource(self, resource: str, query: AuditQuery, limit: int, cursor: str | None) -> AuditPage:
        """What was done to one resource ("media#<id>"), newest first."""

    def by_owner(self, owner_id: str, query: AuditQuery, limit: int, cursor: str | None) -> AuditPage:
        """What others did to one owner's resources, newest first."""

    def in_window(self, query: AuditQuery, limit: int, cursor: str | None) -> AuditPage:
        """Every entry in the query's time window, newest first."""


class AccessObserver(Protocol):
    """Told of every item access the policy allowed, so the caller's relation to the item can be recorded."""

    def item_accessed(self, principal: Principal, action: str, item: MediaItem) -> None:
        """The principal was allowed the action on the item."""


class AuditTrail:
    """Recording into the log and searching it."""

    def __init__(
        self,
        log: AuditLog,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        writer: AuditAppender | None = None,
    ) -> None:
        self._log = log
        self._clock = clock
        # New entries go here (the log itself unless they are deferred to the recorder).
        self._writer = writer or log

    def record(
        self,
        principal: Principal,
        action: str,
        resource: tuple[str, str, str],
        status: int,
        origin: tuple[str, str, str] = ("", "", ""),
    ) -> AuditEntry:
        """Append what the principal did: resource is (type, id, owner), origin is (source ip, user agent, request
        id)."""
        resource_type, resource_id, owner_id = resource
        source_ip, user_agent, request_id = origin
        entry = AuditEntry(
            entry_id=new_entry_id(),
            at=self._clock(),
            actor_id=principal.sub,
            actor_name=principal.username,
            actor_role="link" if principal.link_id else principal.role.value,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            owner_id=owner_id,
            status=status,
            source_ip=source_ip,
            user_agent=user_agent,
            request_id=request_id,
        )
        self._writer.append(entry)
        return entry

    def search(self, principal: Principal, query: AuditQuery, limit: int, cursor: str | None) -> AuditPage:
        """Admins' search: by resource, else by actor, else by time (the other filters narrow what that finds)."""
        if not principal.is_admin:
            raise Forbidden("only administrators read the audit log")
        limit = _page_size(limit)
        if query.resource:
            return self._log.by_resource(query.resource, query, limit, cursor)
        if query.actor:
            return self._log.by_actor(query.actor, query, limit, cursor)
        return self._log.in_window(query, limit, cursor)

    def accesses_to_mine(self, principal: Principal, query: AuditQuery, limit: int, cursor: str | None) -> AuditPage:
        """What others (admins, grantees) did with the principal's media, newest first."""
        return self._log.by_owner(principal.sub, query, _page_size(limit), cursor)


def _page_size(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))
