"""The one authorization policy: may this principal do this action on this item?"""

from __future__ import annotations

from enum import StrEnum

from shared.domain.errors import NotFound
from shared.domain.media import MediaItem
from shared.domain.principal import Principal


class Action(StrEnum):
    """What a caller wants to do with an item."""

    READ = "read"
    UPDATE = "update"
    DELETE = "delete"


def can(principal: Principal, action: Action, item: MediaItem) -> bool:
    """True when the principal may perform the action on the item."""
    if principal.is_admin:
        return True
    return item.owner_id == principal.sub


def authorize(principal: Principal, action: Action, item: MediaItem | None) -> MediaItem:
    """Return the item when allowed; otherwise NotFound, so others' items look like missing ones."""
    if item is None or not can(principal, action, item):
        raise NotFound("media not found")
    return item
