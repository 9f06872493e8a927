"""The one authorization policy: may this principal do this action on this resource?

Every use case asks `authorize(principal, action, item)` before touching an item; routes never decide
ownership or role by themselves. The rules are one table per relation (owner, admin), so grants
(sharing) plug in as another relation without touching routes or services.
"""

from __future__ import annotations

from enum import StrEnum

from shared.domain.errors import NotFound
from shared.domain.media import MediaItem
from shared.domain.principal import Principal


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


OWNER_ACTIONS = frozenset(Action)
# Admins act on anyone's item for review and maintenance, but never in the owner's name: they do not
# upload bytes, change versions (the owner's quota) or share it onwards.
ADMIN_ACTIONS = frozenset({Action.READ, Action.DOWNLOAD, Action.UPDATE, Action.DELETE, Action.PURGE, Action.DESCRIBE})


def allowed_actions(principal: Principal, item: MediaItem) -> frozenset[Action]:
    """Every action the principal may take on the item (what a client may offer)."""
    if item.owner_id == principal.sub:
        return OWNER_ACTIONS
    if principal.is_admin:
        return ADMIN_ACTIONS
    return frozenset()


def can(principal: Principal, action: Action, item: MediaItem) -> bool:
    """True when the principal may perform the action on the item."""
    return action in allowed_actions(principal, item)


def authorize(principal: Principal, action: Action, item: MediaItem | None) -> MediaItem:
    """Return the item when allowed; otherwise NotFound, so others' items look like missing ones."""
    if item is None or not can(principal, action, item):
        raise NotFound("media not found")
    return item
