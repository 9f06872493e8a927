"""The one authorization policy: may this principal do this action on this resource?

Every use case asks `authorize(principal, action, item)` before touching an item; routes never decide
ownership or role by themselves. The rules are one table per relation (owner, admin, grantee): a grant's
permissions map to actions here, so a grantee reads, downloads or edits at the ordinary routes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from shared.domain.errors import NotFound
from shared.domain.grants import MAX_GRANT_KEYS, Grant, Permission, ResourceRef, ResourceType, grantees_of
from shared.domain.media import MediaItem, MediaStatus
from shared.domain.principal import Principal

if TYPE_CHECKING:
    from shared.domain.albums import Album


class Action(StrEnum):
    """What a caller wants to do with an item."""

    READ = "read"  # see the item, its metadata and renditions
    DOWNLOAD = "download"  # fetch the original bytes
    UPDATE = "update"  # edit owner metadata
    DELETE = "delete"  # trash and restore
    PURGE = "purge"  # delete for good
    UPLOAD = "upload"  # send the bytes of a declared upload (multipart parts, complete, abort)
    VERSION = "version"  # replace or restore the original (spends the owner's quota)
    DESCRIBE = "describe"  # ask for an AI description
    SHARE = "share"  # grant others access
    HISTORY = "history"  # list earlier versions of the original (never via a grant: what was replaced stays private)
    APPEAL = "appeal"  # ask a moderator for a second look at a flagged or rejected item (the owner's alone)


OWNER_ACTIONS = frozenset(Action)
# Admins act on anyone's item for review and maintenance, but never in the owner's name: they do not
# upload bytes, change versions (the owner's quota) or share it onwards.
ADMIN_ACTIONS = frozenset(
    {Action.READ, Action.DOWNLOAD, Action.UPDATE, Action.DELETE, Action.PURGE, Action.DESCRIBE, Action.HISTORY}
)


GRANTED_ACTIONS = {
    Permission.VIEW: Action.READ,
    Permission.DOWNLOAD: Action.DOWNLOAD,
    Permission.EDIT: Action.UPDATE,
    Permission.RESHARE: Action.SHARE,
}


# An item belongs to at most this many albums, so its grant lookup (item and albums, for a partner's two
# grantees) stays one BatchGetItem.
MAX_ALBUMS_PER_ITEM = MAX_GRANT_KEYS // 2 - 1


def reaching(item: MediaItem) -> list[ResourceRef]:
    """The resources whose grants reach the item: the item itself and every album holding it."""
    albums = sorted(item.album_ids)[:MAX_ALBUMS_PER_ITEM]
    return [ResourceRef(ResourceType.MEDIA, item.media_id)] + [ResourceRef(ResourceType.ALBUM, a) for a in albums]


def held_permissions(
    principal: Principal, item: MediaItem, grants: Iterable[Grant], now: datetime | None = None
) -> frozenset[Permission]:
    """The permissions the principal's live grants on the item give them (none on an item grants cannot serve)."""
    # Moderation outranks sharing: a flagged or rejected item (or a trashed one) is the owner's and admins' only.
    if item.flagged or item.status is MediaStatus.REJECTED or item.trashed:
        return frozenset()
    mine = {grantee.key for grantee in grantees_of(principal)}
    reached = {resource.key for resource in reaching(item)}
    moment = now or datetime.now(UTC)
    held: set[Permission] = set()
    for grant in grants:
        if grant.resource.key in reached and grant.grantee.key in mine and grant.active(moment):
            held |= grant.permissions
    return frozenset(held)


def allowed_actions(
    principal: Principal, item: MediaItem, grants: Iterable[Grant] = (), now: datetime | None = None
) -> frozenset[Action]:
    """Every action the principal may take on the item (what a client may offer); grants only add to nothing."""
    if item.owner_id == principal.sub:
        return OWNER_ACTIONS
    if principal.is_admin:
        return ADMIN_ACTIONS
    return frozenset(GRANTED_ACTIONS[p] for p in held_permissions(principal, item, grants, now))


def can(principal: Principal, action: Action, item: MediaItem, grants: Iterable[Grant] = ()) -> bool:
    """True when the principal may perform the action on the item."""
    return action in allowed_actions(principal, item, grants)


def needs_grants(principal: Principal, item: MediaItem | None) -> bool:
    """True when only grants could allow the principal anything on the item (so they are worth reading)."""
    return item is not None and item.owner_id != principal.sub and not principal.is_admin


def authorize(principal: Principal, action: Action, item: MediaItem | None, grants: Iterable[Grant] = ()) -> MediaItem:
    """Return the item when allowed; otherwise NotFound, so others' items look like missing ones."""
    if item is None or not can(principal, action, item, grants):
        raise NotFound("media not found")
    return item


class AlbumAction(StrEnum):
    """What a caller wants to do with an album (its items answer to the item rules, reached by album grants)."""

    READ = "read"  # see the album and list its items
    UPDATE = "update"  # title, description, cover, order
    CURATE = "curate"  # add and remove items: the owner's own media only
    DELETE = "delete"  # delete the album (never its media)
    SHARE = "share"  # grant others access


ALBUM_OWNER_ACTIONS = frozenset(AlbumAction)
# As with items: admins review and maintain, but never add media or share in the owner's name.
ALBUM_ADMIN_ACTIONS = frozenset({AlbumAction.READ, AlbumAction.UPDATE, AlbumAction.DELETE})
# Download has no album-level action: it reaches the items, where the item rules apply it.
GRANTED_ALBUM_ACTIONS = {
    Permission.VIEW: AlbumAction.READ,
    Permission.EDIT: AlbumAction.UPDATE,
    Permission.RESHARE: AlbumAction.SHARE,
}


def album_permissions(
    principal: Principal, album: Album, grants: Iterable[Grant], now: datetime | None = None
) -> frozenset[Permission]:
    """The permissions the principal's live grants on the album itself give them."""
    mine = {grantee.key for grantee in grantees_of(principal)}
    resource = ResourceRef(ResourceType.ALBUM, album.album_id).key
    moment = now or datetime.now(UTC)
    held: set[Permission] = set()
    for grant in grants:
        if grant.resource.key == resource and grant.grantee.key in mine and grant.active(moment):
            held |= grant.permissions
    return frozenset(held)


def allowed_album_actions(
    principal: Principal, album: Album, grants: Iterable[Grant] = (), now: datetime | None = None
) -> frozenset[AlbumAction]:
    """Every action the principal may take on the album: owner, then admin, then what grants give."""
    if album.owner_id == principal.sub:
        return ALBUM_OWNER_ACTIONS
    if principal.is_admin:
        return ALBUM_ADMIN_ACTIONS
    held = album_permissions(principal, album, grants, now)
    return frozenset(GRANTED_ALBUM_ACTIONS[p] for p in held if p in GRANTED_ALBUM_ACTIONS)


def album_needs_grants(principal: Principal, album: Album | None) -> bool:
    """True when only grants could allow the principal anything on the album."""
    return album is not None and album.owner_id != principal.sub and not principal.is_admin


def authorize_album(
    principal: Principal, action: AlbumAction, album: Album | None, grants: Iterable[Grant] = ()
) -> Album:
    """Return the album when allowed; otherwise NotFound, so others' albums look like missing ones."""
    if album is None or action not in allowed_album_actions(principal, album, grants):
        raise NotFound("album not found")
    return album
