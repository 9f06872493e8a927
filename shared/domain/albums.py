"""Albums: named, ordered collections of one's own media with a cover, shared like an item."""

from __future__ import annotations

import contextlib
import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from shared.domain.errors import Conflict, NotFound, ValidationError
from shared.domain.grants import Grant, GrantRepository, ResourceRef, ResourceType, SharedAccess, grantees_of
from shared.domain.library import MediaLibrary, MediaView, MediaViewPage
from shared.domain.media import MediaItem
from shared.domain.ordering import key_after, key_between
from shared.domain.policy import (
    MAX_ALBUMS_PER_ITEM,
    Action,
    AlbumAction,
    album_needs_grants,
    album_permissions,
    allowed_actions,
    allowed_album_actions,
    authorize_album,
)
from shared.domain.ports import MediaRepository
from shared.domain.principal import Principal

MAX_ALBUM_TITLE = 200
MAX_ALBUM_DESCRIPTION = 5000
MAX_PAGE = 100
# Items one request adds: each is its own transaction (membership, the item's album set, the count).
MAX_ADD = 50
_NO_SUCH_MEMBER = "media not found in this album"


@dataclass(frozen=True)
class Album:
    """One owner's named collection; `revision` changes with every change to it, its members or their order."""

    album_id: str
    owner_id: str
    title: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    cover_media_id: str = ""
    item_count: int = 0
    revision: int = 0


@dataclass(frozen=True)
class AlbumChanges:
    """Editable fields; None leaves a field as it is, an empty cover clears it."""

    title: str | None = None
    description: str | None = None
    cover_media_id: str | None = None


@dataclass(frozen=True)
class Member:
    """An item in an album, at its position key (the album's order is the keys' order)."""

    media_id: str
    position: str


@dataclass(frozen=True)
class AlbumPage:
    """One page of albums and the cursor of the next one (None at the end)."""

    albums: list[Album]
    cursor: str | None


@dataclass(frozen=True)
class AlbumView:
    """An album and its cover, when the caller may see that item."""

    album: Album
    cover: MediaView | None


@dataclass(frozen=True)
class AlbumViewPage:
    """One page of albums as shown and the cursor of the next one."""

    items: list[AlbumView]
    cursor: str | None


class AlbumRepository(Protocol):
    """Persistence of albums and their members; every membership change updates the item's album set with it."""

    def create(self, album: Album) -> None:
        """Store a new album."""

    def get(self, album_id: str) -> Album | None:
        """The album, or None (strongly consistent)."""

    def get_many(self, album_ids: list[str]) -> dict[str, Album]:
        """The albums that exist among album_ids, by id (batched)."""

    def list_owned(self, owner_id: str, limit: int, cursor: str | None) -> AlbumPage:
        """One page of an owner's albums, newest first; ValidationError for a cursor it did not issue them."""

    def update(self, album: Album, changes: AlbumChanges) -> Album:
        """Apply changes if the album is still at album.revision and a new cover is still a member; Conflict."""

    def member(self, album_id: str, media_id: str) -> Member | None:
        """The item's membership, or None."""

    def following(self, album_id: str, position: str | None, limit: int) -> list[Member]:
        """The first members after position (from the start for None), in order."""

    def last(self, album_id: str) -> Member | None:
        """The album's last member."""

    def members(self, album_id: str, cursor: str | None, scope: str) -> Iterator[tuple[Member, str]]:
        """Members in order, each with a cursor resuming after it (signed for scope)."""

    def add(self, album: Album, item: MediaItem, position: str) -> None:
        """Make the item a member, in one transaction with its album set (only while the album owner owns it and
        it is in fewer than MAX_ALBUMS_PER_ITEM albums) and the album's count; Conflict otherwise."""

    def remove(self, album: Album, media_id: str) -> None:
        """End a membership with the item's album set and the count (and the cover, if it was); NotFound."""

    def move(self, album: Album, media_id: str, position: str) -> Album:
        """Give a member a new position if the album is still at album.revision; Conflict otherwise."""

    def delete(self, album: Album) -> None:
        """Delete an album that has no members left; Conflict if some were added meanwhile."""

    def forget_item(self, item: MediaItem) -> None:
        """Drop a purged item's memberships (its record is gone already)."""


class Albums:
    """Album use cases; the policy decides who sees or changes an album, the item rules what they see in it."""

    def __init__(
        self,
        repository: AlbumRepository,
        media: MediaRepository,
        library: MediaLibrary,
        grants: GrantRepository,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repository = repository
        self._media = media
        self._library = library
        self._grants = grants
        self._clock = clock

    def create(self, principal: Principal, title: str, description: str) -> AlbumView:
        """A new, empty album of the caller's."""
        now = self._clock()
        album = Album(uuid.uuid4().hex, principal.sub, _title(title), now, now, description.strip())
        self._repository.create(album)
        return AlbumView(album, None)

    def mine(self, principal: Principal, limit: int, cursor: str | None) -> AlbumViewPage:
        """One page of the caller's albums, newest first."""
        page = self._repository.list_owned(principal.sub, limit, cursor)
        covers = self._media.get_many([a.cover_media_id for a in page.albums if a.cover_media_id])
        return AlbumViewPage([self._view(principal, a, [], covers) for a in page.albums], page.cursor)

    def get(self, principal: Principal, album_id: str) -> AlbumView:
        """An album the caller may see; NotFound otherwise."""
        album, held = self._access(principal, album_id, AlbumAction.READ)
        return self._view(principal, album, held)

    def update(self, principal: Principal, album_id: str, revision: int, changes: AlbumChanges) -> AlbumView:
        """Change title, description or cover, based on the album's current revision (stale: Conflict)."""
        album, held = self._access(principal, album_id, AlbumAction.UPDATE)
        _check_revision(album, revision)
        if changes.title is not None:
            changes = AlbumChanges(_title(changes.title), changes.description, changes.cover_media_id)
        if changes.cover_media_id and self._repository.member(album_id, changes.cover_media_id) is None:
            raise ValidationError("the cover must be an item of the album", field="cover_media_id")
        return self._view(principal, self._repository.update(album, changes), held)

    def delete(self, principal: Principal, album_id: str) -> None:
        """Delete an album, its memberships and its grants; its media stay."""
        album, _ = self._access(principal, album_id, AlbumAction.DELETE)
        while True:
            while batch := self._repository.following(album_id, None, 25):
                for member in batch:
                    self._remove_quietly(album, member.media_id)
            try:
                self._repository.delete(album)
                break
            except Conflict:
                continue  # an item was added while the members were removed: remove it too
        self._grants.delete(self._grants.on_resource(ResourceType.ALBUM, album_id))

    def items(self, principal: Principal, album_id: str, limit: int, cursor: str | None) -> MediaViewPage:
        """One page of the album's items in order: for a grantee, only those the item rules let them see."""
        album, held = self._access(principal, album_id, AlbumAction.READ)
        scope = json.dumps({"listing": "album-items", "album": album_id, "sub": principal.sub}, sort_keys=True)
        entries = self._repository.members(album.album_id, cursor, scope)
        shown: list[MediaView] = []
        last = ""
        while chunk := list(itertools.islice(entries, limit)):
            items = self._media.get_many([member.media_id for member, _ in chunk])
            for member, position in chunk:
                item = items.get(member.media_id)
                if item is None or Action.READ not in allowed_actions(principal, item, held):
                    continue
                if len(shown) == limit:
                    return MediaViewPage(shown, last)
                shown.append(self._library.view(item))
                last = position
        return MediaViewPage(shown, None)

    def add(self, principal: Principal, album_id: str, media_ids: list[str]) -> AlbumView:
        """Append the owner's items (already there: left where they are); NotFound for an item not theirs."""
        album, held = self._access(principal, album_id, AlbumAction.CURATE)
        wanted = list(dict.fromkeys(media_ids))
        if not 1 <= len(wanted) <= MAX_ADD:
            raise ValidationError(f"add between 1 and {MAX_ADD} items at a time", field="media_ids")
        items = self._media.get_many(wanted)
        adding: list[MediaItem] = []
        for media_id in wanted:
            item = items.get(media_id)
            if item is None or item.owner_id != album.owner_id:
                raise NotFound("media not found")
            if item.trashed:
                raise Conflict(f"media {media_id} is in the trash; restore it before adding it to an album")
            if album_id in item.album_ids:
                continue
            if len(item.album_ids) >= MAX_ALBUMS_PER_ITEM:
                raise Conflict(f"media {media_id} is already in {MAX_ALBUMS_PER_ITEM} albums, the most it may be in")
            adding.append(item)
        last = self._repository.last(album_id)
        position = last.position if last else None
        for item in adding:
            position = key_after(position, self._clock())
            self._repository.add(album, item, position)
        return self.get(principal, album_id) if adding else self._view(principal, album, held)

    def remove(self, principal: Principal, album_id: str, media_id: str) -> None:
        """Take an item out of the album (the item stays); grantees of the album lose it on their next request."""
        album, _ = self._access(principal, album_id, AlbumAction.CURATE)
        self._repository.remove(album, media_id)

    def move(self, principal: Principal, album_id: str, media_id: str, after: str | None, revision: int) -> AlbumView:
        """Put one item right after another (None: first), based on the album's current revision."""
        album, held = self._access(principal, album_id, AlbumAction.UPDATE)
        _check_revision(album, revision)
        if self._repository.member(album_id, media_id) is None:
            raise NotFound(_NO_SUCH_MEMBER)
        if after == media_id:
            raise ValidationError("an item cannot be moved after itself", field="after")
        low: str | None = None
        if after is not None:
            anchor = self._repository.member(album_id, after)
            if anchor is None:
                raise ValidationError("after must be an item of the album", field="after")
            low = anchor.position
        following = self._repository.following(album_id, low, 2)
        high = next((m.position for m in following if m.media_id != media_id), None)
        if low is None and high is None:
            return self._view(principal, album, held)  # the only item is already where it was asked
        position = key_between(low, high) if high is not None else key_after(low, self._clock())
        return self._view(principal, self._repository.move(album, media_id, position), held)

    def shareable(self, principal: Principal, resource_id: str) -> SharedAccess:
        """The album if the principal may share it, with what each of their grants on it gives them."""
        album, held = self._access(principal, resource_id, AlbumAction.SHARE)
        return SharedAccess(
            resource=ResourceRef(ResourceType.ALBUM, album.album_id),
            owner_id=album.owner_id,
            held=tuple((grant, album_permissions(principal, album, [grant])) for grant in held),
        )

    def shared(self, principal: Principal, grants: list[Grant]) -> dict[str, AlbumView]:
        """The albums these grants (on albums) let the principal see, by album id: one batched read of each."""
        albums = self._repository.get_many([g.resource_id for g in grants if g.resource_type is ResourceType.ALBUM])
        covers = self._media.get_many([a.cover_media_id for a in albums.values() if a.cover_media_id])
        return {
            album_id: self._view(principal, album, grants, covers)
            for album_id, album in albums.items()
            if AlbumAction.READ in allowed_album_actions(principal, album, grants)
        }

    def _access(self, principal: Principal, album_id: str, action: AlbumAction) -> tuple[Album, list[Grant]]:
        album = self._repository.get(album_id)
        held: list[Grant] = []
        # Only someone else's album costs the one extra (batched) read.
        if album_needs_grants(principal, album):
            held = self._grants.grants_for([ResourceRef(ResourceType.ALBUM, album_id)], grantees_of(principal))
        return authorize_album(principal, action, album, held), held

    def _view(
        self, principal: Principal, album: Album, held: list[Grant], covers: dict[str, MediaItem] | None = None
    ) -> AlbumView:
        cover_id = album.cover_media_id
        if not cover_id:
            return AlbumView(album, None)
        item = covers.get(cover_id) if covers is not None else self._media.get(cover_id)
        # A cover is shown only while it is a member and the item rules let the caller see it.
        if (
            item is None
            or album.album_id not in item.album_ids
            or Action.READ not in allowed_actions(principal, item, held)
        ):
            return AlbumView(album, None)
        return AlbumView(album, self._library.view(item))

    def _remove_quietly(self, album: Album, media_id: str) -> None:
        with contextlib.suppress(NotFound):  # removed meanwhile
            self._repository.remove(album, media_id)


def _title(title: str) -> str:
    cleaned = title.strip()
    if not cleaned:
        raise ValidationError("the title must not be empty", field="title")
    return cleaned


def _check_revision(album: Album, revision: int) -> None:
    if album.revision != revision:
        raise Conflict(f"the album changed: it is at version {album.revision}, the change was based on {revision}")
