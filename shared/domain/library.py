"""A principal's media library: list, read, edit, trash, restore, purge, download, all through the policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from shared.domain.audit import AccessObserver
from shared.domain.errors import Conflict
from shared.domain.grants import Grant, Grantee, GrantRepository, ResourceType, SharedAccess, grantees_of
from shared.domain.media import MediaItem, MediaStatus, expires_at, rendition_prefix
from shared.domain.policy import Action, authorize, can, held_permissions, needs_grants, reaching
from shared.domain.ports import DetailChanges, MediaQuery, MediaRepository, ObjectStorage
from shared.domain.principal import Principal

MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_TAGS = 50
MAX_TAG = 50
MAX_PAGE = 100


@dataclass(frozen=True)
class MediaView:
    """An item and short-lived URLs of its renditions (rendition name -> URL)."""

    item: MediaItem
    rendition_urls: dict[str, str]


@dataclass(frozen=True)
class MediaViewPage:
    """One page of a listing and the opaque cursor of the next one (None at the end)."""

    items: list[MediaView]
    cursor: str | None


@dataclass(frozen=True)
class DownloadLink:
    """A short-lived URL that downloads an original as an attachment."""

    url: str
    filename: str
    expires_at: str


class AlbumMemberships(Protocol):
    """The albums side of a purge: an item that no longer exists leaves every album it was in."""

    def forget_item(self, item: MediaItem) -> None:
        """Drop a purged item's memberships."""


class AccessReads(Protocol):
    """The item and a caller's grants on it, together."""

    def item_with_grants(self, media_id: str, grantees: list[Grantee]) -> tuple[MediaItem | None, list[Grant]]:
        """The item (None if missing) and the grantees' grants on the item itself, in one read."""


# Actions whose answer is yes or no: once the item's own grants allow one, grants through albums add nothing.
_DECIDED_BY_ANY_GRANT = frozenset({Action.READ, Action.DOWNLOAD})


class MediaLibrary:
    """Use cases on existing media items."""

    def __init__(
        self,
        repository: MediaRepository,
        storage: ObjectStorage,
        *,
        url_ttl_seconds: int,
        grants: GrantRepository | None = None,
        observer: AccessObserver | None = None,
        albums: AlbumMemberships | None = None,
        on_purged: Callable[[MediaItem], None] | None = None,
        access_reads: AccessReads | None = None,
    ) -> None:
        # Told of every item deleted for good (analytics takes its bytes out of storage).
        self._on_purged = on_purged
        self._repository = repository
        self._storage = storage
        self._ttl = url_ttl_seconds
        self._grants = grants
        self._observer = observer
        self._albums = albums
        self._access_reads = access_reads

    def get(self, principal: Principal, media_id: str, action: Action = Action.READ) -> MediaItem:
        """The item if the principal may act on it; NotFound otherwise."""
        return self.access(principal, media_id, action)[0]

    def access(self, principal: Principal, media_id: str, action: Action) -> tuple[MediaItem, list[Grant]]:
        """The item if the principal may act on it, and the grants they hold on it; NotFound otherwise."""
        item, held = self._read(principal, media_id, action)
        allowed = authorize(principal, action, item, held)
        if self._observer is not None:
            # The audit log learns the caller's relation to the item (owner, admin, grantee) from here.
            self._observer.item_accessed(principal, action, allowed)
        return allowed, held

    def _read(self, principal: Principal, media_id: str, action: Action) -> tuple[MediaItem | None, list[Grant]]:
        """The item and the caller's grants that reach it. Owners and admins never need grants. For anyone else
        the item and their grants on it come in one read; grants through its albums (known once the item is) cost
        one more batched read, and only when the item's own grants do not already decide."""
        if self._grants is None or principal.is_admin:
            return self._repository.get(media_id), []
        grantees = grantees_of(principal)
        if self._access_reads is None:
            item = self._repository.get(media_id)
            if item is None or not needs_grants(principal, item):
                return item, []
            return item, self._grants.grants_for(reaching(item), grantees)
        item, held = self._access_reads.item_with_grants(media_id, grantees)
        if item is None or not needs_grants(principal, item):
            return item, []
        through_albums = reaching(item)[1:]
        if through_albums and not (action in _DECIDED_BY_ANY_GRANT and can(principal, action, item, held)):
            held = held + self._grants.grants_for(through_albums, grantees)
        return item, held

    def shareable(self, principal: Principal, resource_id: str) -> SharedAccess:
        """The item if the principal may share it, with what each of their grants on it gives them."""
        item, held = self.access(principal, resource_id, Action.SHARE)
        return SharedAccess(
            resource=reaching(item)[0],
            owner_id=item.owner_id,
            held=tuple((grant, held_permissions(principal, item, [grant])) for grant in held),
        )

    def view(self, item: MediaItem) -> MediaView:
        """An item with short-lived URLs of its renditions."""
        urls = {name: self._storage.presign_get(r.key, self._ttl) for name, r in item.renditions.items()}
        return MediaView(item, urls)

    def describe(self, principal: Principal, media_id: str) -> MediaView:
        """One item the principal may read."""
        return self.view(self.get(principal, media_id))

    def list(self, principal: Principal, query: MediaQuery, limit: int, cursor: str | None) -> MediaViewPage:
        """One page of the caller's own items (or trash), newest first unless asked otherwise."""
        page = self._repository.list_owned(principal.sub, query, limit, cursor)
        return MediaViewPage([self.view(i) for i in page.items], page.cursor)

    def update(self, principal: Principal, media_id: str, revision: int, changes: DetailChanges) -> MediaView:
        """Apply owner edits with optimistic concurrency: a stale version is a Conflict."""
        item = self.get(principal, media_id, Action.UPDATE)
        if item.trashed:
            raise Conflict("restore the item from the trash before editing it")
        if item.revision != revision:
            raise Conflict(f"the item changed: it is at version {item.revision}, the edit was based on {revision}")
        return self.view(self._repository.update_details(item, changes))

    def trash(self, principal: Principal, media_id: str) -> None:
        """Move an item to the trash (reversible)."""
        item = self.get(principal, media_id, Action.DELETE)
        if item.trashed:
            return  # deleting twice is the same as once
        self._repository.set_trashed(media_id, True)

    def restore(self, principal: Principal, media_id: str) -> MediaView:
        """Bring an item back from the trash."""
        item = self.get(principal, media_id, Action.DELETE)
        if not item.trashed:
            raise Conflict("the item is not in the trash")
        return self.view(self._repository.set_trashed(media_id, False))

    def purge(self, principal: Principal, media_id: str) -> None:
        """Delete a trashed item for good: every version of the original, every derivative, the record."""
        item = self.get(principal, media_id, Action.PURGE)
        if not item.trashed:
            raise Conflict("move the item to the trash before deleting it permanently")
        self.purge_item(item)

    def purge_item(self, item: MediaItem) -> None:
        """Remove an item's record (giving its bytes back), then its objects (all versions) and derivatives."""
        # The record goes first, conditionally and with the release in one transaction: of concurrent purges
        # (the owner's, the janitor's) only one gets past it, and a restore in between keeps the objects.
        self._repository.purge_record(item)
        if self._on_purged is not None:
            self._on_purged(item)
        if self._albums is not None and item.album_ids:
            self._albums.forget_item(item)  # album listings and counts never name a purged item
        self._storage.purge(exact_keys=[item.object_key], prefixes=[rendition_prefix(item.owner_id, item.media_id)])
        if self._grants is not None:
            # Grants on a purged item serve nothing (the item reads as missing); removing them keeps listings clean.
            self._grants.delete(self._grants.on_resource(ResourceType.MEDIA, item.media_id))

    def download(self, principal: Principal, media_id: str) -> DownloadLink:
        """A short-lived URL that downloads the original under its own filename."""
        item = self.get(principal, media_id, Action.DOWNLOAD)
        if item.status is not MediaStatus.READY:
            raise Conflict(f"the item is {item.status.value}; only ready items can be downloaded")
        return DownloadLink(
            # The processed version, not whatever was written to the key since.
            url=self._storage.presign_get(
                item.object_key, self._ttl, filename=item.filename, version_id=item.version_id or None
            ),
            filename=item.filename,
            expires_at=expires_at(self._ttl),
        )
