"""Sharing: grant requests, edits, and how grants and shared items are shown."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from functions.api.models.albums import Album
from functions.api.models.common import Body, Query, Reply, Timestamp, UtcInstant
from functions.api.models.media import LibraryFilters, Media
from shared.domain.grants import LINK_PERMISSIONS, Grant, GranteeType, IssuedLink, Permission, ResourceType
from shared.domain.sharing import MAX_PAGE, GranteeRequest, GrantPage, SharedAlbum, SharedPage

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
OrgName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,100}$")]


class UserGrantee(Body):
    """A vault user, named by username or by email address (exactly one)."""

    type: Literal["user"]
    username: Name | None = None
    email: Name | None = None

    @model_validator(mode="after")
    def _one_name(self) -> UserGrantee:
        if (self.username is None) == (self.email is None):
            raise ValueError("give exactly one of username and email")
        return self


class OrgGrantee(Body):
    """A partner organisation: every partner of it."""

    type: Literal["org"]
    org: OrgName


class LinkGrantee(Body):
    """Whoever holds the link's token (shown once, in the reply): view and download only."""

    type: Literal["link"]


Grantee = Annotated[UserGrantee | OrgGrantee | LinkGrantee, Field(discriminator="type")]
MAX_LINK_USES = 1_000_000


def _future(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


class ShareCreate(Body):
    """Grant permissions on an item; `view` is always included."""

    grantee: Grantee
    permissions: list[Permission] = Field(min_length=1, max_length=len(Permission))
    expires_at: UtcInstant | None = Field(default=None, description="the grant stops working then (no offset: UTC)")
    password: str | None = Field(
        default=None, min_length=8, max_length=128, description="links only: asked for in X-Link-Password"
    )
    max_uses: int | None = Field(default=None, ge=1, le=MAX_LINK_USES, description="links only: opens + downloads")

    @model_validator(mode="after")
    def _link_terms_for_links(self) -> ShareCreate:
        if not isinstance(self.grantee, LinkGrantee):
            if self.password is not None or self.max_uses is not None:
                raise ValueError("password and max_uses are for link grants only")
        elif not set(self.permissions) <= LINK_PERMISSIONS:
            raise ValueError("a link allows only view and download")
        return self

    def grantee_request(self) -> GranteeRequest:
        """The domain's grantee request."""
        if isinstance(self.grantee, LinkGrantee):
            return GranteeRequest(GranteeType.LINK, password=self.password or "", max_uses=self.max_uses)
        if isinstance(self.grantee, OrgGrantee):
            return GranteeRequest(GranteeType.ORG, org=self.grantee.org)
        return GranteeRequest(GranteeType.USER, username=self.grantee.username or "", email=self.grantee.email or "")

    def expiry(self) -> datetime | None:
        """The expiry as an instant."""
        return _future(self.expires_at)


class ShareEdit(Body):
    """Change permissions or expiry (null: never expires); reshares from the grant are trimmed to fit."""

    permissions: list[Permission] | None = Field(default=None, min_length=1, max_length=len(Permission))
    expires_at: UtcInstant | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> ShareEdit:
        if not self.model_fields_set or (self.permissions is None and "expires_at" not in self.model_fields_set):
            raise ValueError("nothing to change; editable fields: expires_at, permissions")
        return self

    def expiry(self) -> datetime | None:
        """The new expiry as an instant."""
        return _future(self.expires_at)


class GranteeView(Reply):
    """Who holds a grant."""

    type: GranteeType
    id: str = Field(description="the user's id, or the organisation")
    name: str = Field(description="the username (or organisation) it was granted to")


class LinkStats(Reply):
    """A link grant's terms and counters (never its token or password)."""

    password_protected: bool
    max_uses: int | None
    uses: int = Field(description="successful opens and downloads")
    views: int
    downloads: int


class Share(Reply):
    """One grant; a link's `token` and `url` are shown in the reply that creates it, and never again."""

    share_id: str
    resource_type: ResourceType
    resource_id: str = Field(description="the item's or the album's id")
    media_id: str | None = Field(description="the item, for a grant on an item")
    album_id: str | None = Field(default=None, description="the album, for a grant on an album")
    owner_id: str
    owner_name: str | None = Field(
        default=None, description="the owner's username, in listings of what is shared with the caller"
    )
    grantee: GranteeView
    permissions: list[Permission]
    granted_by: str
    parent_share_id: str | None = Field(description="the grant this one was reshared from")
    created_at: Timestamp
    expires_at: Timestamp | None
    status: Literal["active", "expired"]
    link: LinkStats | None = None
    token: str | None = None
    url: str | None = None

    @classmethod
    def of(cls, grant: Grant, owner_name: str | None = None) -> Share:
        """The response for a grant."""
        return cls(
            share_id=grant.share_id,
            resource_type=grant.resource_type,
            resource_id=grant.resource_id,
            media_id=grant.resource_id if grant.resource_type is ResourceType.MEDIA else None,
            album_id=grant.resource_id if grant.resource_type is ResourceType.ALBUM else None,
            owner_id=grant.owner_id,
            owner_name=owner_name,
            grantee=GranteeView(type=grant.grantee.type, id=grant.grantee.id, name=grant.grantee.display),
            permissions=sorted(grant.permissions),
            granted_by=grant.granted_by,
            parent_share_id=grant.parent_share_id or None,
            created_at=grant.created_at,
            expires_at=grant.expires_at,
            status="active" if grant.active(datetime.now(UTC)) else "expired",
            link=LinkStats(
                password_protected=grant.link.protected,
                max_uses=grant.link.max_uses,
                uses=grant.link.uses,
                views=grant.link.views,
                downloads=grant.link.downloads,
            )
            if grant.link is not None
            else None,
            token=grant.token if isinstance(grant, IssuedLink) else None,
            url=(grant.url or None) if isinstance(grant, IssuedLink) else None,
        )


class ShareList(Reply):
    """An item's grants (those the caller may manage)."""

    items: list[Share]


class SharePage(Reply):
    """One page of grants."""

    items: list[Share]
    next_cursor: str | None = Field(description="pass as cursor for the next page")

    @classmethod
    def of(cls, page: GrantPage) -> SharePage:
        """The response for a page of grants."""
        return cls(items=[Share.of(g) for g in page.items], next_cursor=page.cursor)


class SharedMedia(Reply):
    """An item (`media`) or an album (`album`) shared with the caller, and the grant it came through."""

    share: Share
    media: Media | None = None
    album: Album | None = None


class SharedMediaPage(Reply):
    """One page of items shared with the caller."""

    items: list[SharedMedia]
    next_cursor: str | None = Field(description="pass as cursor, with the same filters, for the next page")

    @classmethod
    def of(cls, page: SharedPage) -> SharedMediaPage:
        """The response for a page of shared items."""
        names = page.owner_names
        return cls(
            items=[
                SharedMedia(share=Share.of(s.grant, names.get(s.grant.owner_id)), album=Album.of(s.view))
                if isinstance(s, SharedAlbum)
                else SharedMedia(share=Share.of(s.grant, names.get(s.grant.owner_id)), media=Media.of(s.view))
                for s in page.items
            ],
            next_cursor=page.cursor,
        )


class SharedListing(LibraryFilters):
    """Filters and paging of items shared with the caller (the filters of GET /media; newest grant first; a
    filtered listing shows items only: albums have none of these fields)."""

    limit: int = Field(default=50, ge=1, le=MAX_PAGE, description="page size")
    cursor: str | None = Field(default=None, max_length=2048, description="next_cursor of the previous page")


class GrantListing(Query):
    """Paging of the caller's grants."""

    limit: int = Field(default=50, ge=1, le=MAX_PAGE, description="page size")
    cursor: str | None = Field(default=None, max_length=2048, description="next_cursor of the previous page")
