"""Grants: what an owner (or a resharer) lets a user or a partner organisation do with one resource."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from shared.domain.principal import Principal, Role


class Permission(StrEnum):
    """What a grant allows; the policy maps each to an action."""

    VIEW = "view"
    DOWNLOAD = "download"
    EDIT = "edit"
    RESHARE = "reshare"


class GranteeType(StrEnum):
    """Who a grant is for: a vault user, every partner of an organisation, or whoever holds a link's token."""

    USER = "user"
    ORG = "org"
    LINK = "link"


class ResourceType(StrEnum):
    """What a grant is on: one item, or an album (and so every item in it, including ones added later)."""

    MEDIA = "media"
    ALBUM = "album"


@dataclass(frozen=True)
class ResourceRef:
    """One shareable resource."""

    type: ResourceType
    id: str

    @property
    def key(self) -> str:
        """The resource's stable identity, one per type and id."""
        return f"{self.type.value}#{self.id}"


@dataclass(frozen=True)
class Grantee:
    """The receiving side of a grant: a user (by id) or a partner organisation (by name)."""

    type: GranteeType
    id: str
    # What the grantor typed (username or email) or the org: shown in listings, never used to decide access.
    display: str = ""

    @property
    def key(self) -> str:
        """The grantee's stable identity, one per type and id."""
        return f"{self.type.value}#{self.id}"


# What a link may allow: editing or passing on an item makes no sense for an anonymous token holder.
LINK_PERMISSIONS = frozenset({Permission.VIEW, Permission.DOWNLOAD})


@dataclass(frozen=True)
class LinkTerms:
    """What a link grant holds beyond a grant: its token's hash, password hash, use limit, counters and the
    password failures of the current throttle window."""

    token_hash: str
    password_hash: str = ""
    max_uses: int | None = None
    uses: int = 0
    views: int = 0
    downloads: int = 0
    failed_attempts: int = 0
    failed_since: datetime | None = None

    @property
    def protected(self) -> bool:
        """True when opening the link needs a password."""
        return bool(self.password_hash)

    def used_up(self) -> bool:
        """True once every allowed use was spent."""
        return self.max_uses is not None and self.uses >= self.max_uses


@dataclass(frozen=True)
class Grant:
    """One grant on one resource; `parent_share_id` names the grant a reshare came from ("" for the owner's)."""

    share_id: str
    resource_type: ResourceType
    resource_id: str
    owner_id: str
    grantee: Grantee
    permissions: frozenset[Permission]
    granted_by: str
    created_at: datetime
    expires_at: datetime | None = None
    parent_share_id: str = ""
    link: LinkTerms | None = None

    @property
    def resource(self) -> ResourceRef:
        """What the grant is on."""
        return ResourceRef(self.resource_type, self.resource_id)

    def active(self, now: datetime | None = None) -> bool:
        """True until it expires (a revoked grant no longer exists)."""
        return self.expires_at is None or (now or datetime.now(UTC)) < self.expires_at


@dataclass(frozen=True)
class IssuedLink(Grant):
    """A link grant just made, with its token and URL: shown this once, never stored."""

    token: str = ""
    url: str = ""


@dataclass(frozen=True)
class SharedAccess:
    """What a caller who may share a resource holds on it: its owner, and each of their grants with the
    permissions it gives them on the resource right now (empty for its owner)."""

    resource: ResourceRef
    owner_id: str
    held: tuple[tuple[Grant, frozenset[Permission]], ...] = ()


class ShareTarget(Protocol):
    """One kind of shareable resource (items, albums): who owns it and what the caller holds on it."""

    def shareable(self, principal: Principal, resource_id: str) -> SharedAccess:
        """The resource if the principal may share it; NotFound (as for a missing one) otherwise."""


# DynamoDB's BatchGetItem reads at most 100 keys: an item's own key and its albums', for each of a caller's grantees.
MAX_GRANT_KEYS = 100


def grantees_of(principal: Principal) -> list[Grantee]:
    """Every grantee a caller acts as: themselves and, for a partner, their organisation (a link's holder: the link)."""
    if principal.link_id:
        return [Grantee(GranteeType.LINK, principal.link_id)]
    grantees = [Grantee(GranteeType.USER, principal.sub)]
    if principal.role is Role.PARTNER and principal.partner_org:
        grantees.append(Grantee(GranteeType.ORG, principal.partner_org))
    return grantees


class GrantRepository(Protocol):
    """Persistence of grants: keyed by resource and grantee, so the policy's lookup is one batched read."""

    def grants_for(self, resources: list[ResourceRef], grantees: list[Grantee]) -> list[Grant]:
        """The grants these grantees hold on any of the resources (one strongly consistent batched read, so at
        most MAX_GRANT_KEYS resource x grantee pairs)."""

    def on_resource(self, resource_type: ResourceType, resource_id: str) -> list[Grant]:
        """Every grant on the resource (strongly consistent)."""

    def get(self, share_id: str) -> Grant | None:
        """The grant, or None."""

    def create(self, grant: Grant) -> None:
        """Store a new grant; Conflict if the grantee already holds one on the resource, or if the grant it was
        reshared from is gone."""

    def update(self, grant: Grant) -> None:
        """Replace a grant's permissions and expiry; NotFound if it was revoked meanwhile."""

    def delete(self, grants: list[Grant]) -> None:
        """Remove grants (already gone is fine)."""

    def received(
        self, grantees: list[Grantee], cursor: str | None, scope: str, page_size: int = 100
    ) -> Iterator[tuple[Grant, str]]:
        """Grants the grantees hold, newest first per grantee, each with a cursor resuming after it (signed for
        scope); ValidationError for a cursor it did not issue for this scope."""

    def made_by(
        self, granted_by: str, cursor: str | None, scope: str, page_size: int = 100
    ) -> Iterator[tuple[Grant, str]]:
        """Grants one principal made, newest first, each with a cursor resuming after it."""

    def by_token(self, token_hash: str) -> Grant | None:
        """The link grant whose token has this hash (strongly consistent), or None."""

    def count_link_use(self, grant: Grant, *, download: bool) -> None:
        """Spend one use of a link (a view or a download) if it has uses left; NotFound if not, or if revoked."""

    def record_link_failure(self, grant: Grant, now: datetime, window_seconds: int) -> None:
        """Count one wrong password: in the current window, or as the first of a new one if it is over."""


def grant_document(grant: Grant) -> dict[str, Any]:
    """A grant as JSON-ready data, without its link's secrets (token and password hashes never leave the table):
    what share events carry to the notifier and what an export archives."""
    return {
        "share_id": grant.share_id,
        "resource_type": grant.resource_type.value,
        "resource_id": grant.resource_id,
        "owner_id": grant.owner_id,
        "grantee": {"type": grant.grantee.type.value, "id": grant.grantee.id, "display": grant.grantee.display},
        "permissions": sorted(p.value for p in grant.permissions),
        "granted_by": grant.granted_by,
        "created_at": grant.created_at.isoformat(),
        "expires_at": grant.expires_at.isoformat() if grant.expires_at else None,
        "parent_share_id": grant.parent_share_id,
    }
