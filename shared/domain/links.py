"""Share links: whoever holds a link's token (and its password, if it has one) views or downloads what it shares.

The holder acts as the link's grantee (`Principal.for_link`), so the one policy decides what they may do, exactly
as for any other grantee: a flagged, rejected or trashed item serves nothing through a link. Unknown, revoked,
expired and used-up links and wrong passwords all answer the same NotFound.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.domain.albums import Albums, AlbumView
from shared.domain.errors import Conflict, NotFound, PasswordRequired, TooManyAttempts
from shared.domain.grants import Grant, GrantRepository, LinkTerms, Permission, ResourceType
from shared.domain.library import DownloadLink, MediaLibrary, MediaView, MediaViewPage
from shared.domain.link_secrets import password_matches, spend_a_check, token_hash
from shared.domain.media import MediaStatus
from shared.domain.policy import Action, allowed_actions
from shared.domain.principal import Principal

# Five wrong passwords per link in ten minutes, then nothing (right or wrong) is checked until the window ends.
FAILURE_LIMIT = 5
FAILURE_WINDOW_SECONDS = 600
NO_LINK = "link not found"


@dataclass(frozen=True)
class LinkedMedia:
    """An item as a link shows it, and whether the link also lets its holder download the original."""

    view: MediaView
    download_allowed: bool


@dataclass(frozen=True)
class LinkedAlbum:
    """An album as a link shows it: the album, one page of the items the item rules let the holder see."""

    album: AlbumView
    items: MediaViewPage
    download_allowed: bool


def locked_for(terms: LinkTerms, now: datetime) -> int:
    """Seconds until a link takes passwords again (0: it takes them now)."""
    if terms.failed_attempts < FAILURE_LIMIT or terms.failed_since is None:
        return 0
    remaining = (terms.failed_since + timedelta(seconds=FAILURE_WINDOW_SECONDS) - now).total_seconds()
    return max(0, math.ceil(remaining))


class LinkAccess:
    """Opening and downloading through a share link's token."""

    def __init__(
        self,
        grants: GrantRepository,
        library: MediaLibrary,
        albums: Albums | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._grants = grants
        self._library = library
        self._albums = albums
        self._clock = clock

    def open(
        self, token: str, password: str | None, limit: int = 50, cursor: str | None = None
    ) -> LinkedMedia | LinkedAlbum:
        """What a link shares, with short-lived rendition URLs (an album: one page of its items, from cursor); one
        use (a view) is counted."""
        grant, holder = self._admit(token, password)
        if grant.resource_type is ResourceType.ALBUM:
            return self._open_album(grant, holder, limit, cursor)
        with _as_missing_link():
            item, held = self._library.access(holder, self._media_id(grant), Action.READ)
            if item.status is not MediaStatus.READY:
                raise NotFound(NO_LINK)
            download_allowed = Action.DOWNLOAD in allowed_actions(holder, item, held, self._clock())
            self._grants.count_link_use(grant, download=False)
        return LinkedMedia(self._library.view(item), download_allowed)

    def download(self, token: str, password: str | None) -> DownloadLink:
        """A short-lived URL of the item's original if the link allows download; one use (a download) is counted."""
        grant, holder = self._admit(token, password)
        with _as_missing_link():
            link = self._library.download(holder, self._media_id(grant))
            self._grants.count_link_use(grant, download=True)
        return link

    def download_item(self, token: str, password: str | None, media_id: str) -> DownloadLink:
        """A short-lived URL of the original of an item in a linked album; one use (a download) is counted.

        The item rules decide, as for an item link: the album grant reaches the item only while it is in the album,
        and serves it only with download and while it is ready, unflagged, unrejected and out of the trash."""
        grant, holder = self._admit(token, password)
        if grant.resource_type is not ResourceType.ALBUM:
            raise NotFound(NO_LINK)
        with _as_missing_link():
            link = self._library.download(holder, media_id)
            self._grants.count_link_use(grant, download=True)
        return link

    def _open_album(self, grant: Grant, holder: Principal, limit: int, cursor: str | None) -> LinkedAlbum:
        if self._albums is None:
            raise NotFound(NO_LINK)
        with _as_missing_link():
            album = self._albums.get(holder, grant.resource_id)
            page = self._albums.items(holder, grant.resource_id, limit, cursor)
            self._grants.count_link_use(grant, download=False)
        ready = [view for view in page.items if view.item.status is MediaStatus.READY]
        if ready:
            # The audit log and analytics hear of link use from the library's access observer, which knows items
            # only: the open reaches them as the holder's read of the first item it shows (one view, as an item
            # link's open is). An item gone since the listing just goes unreported.
            with suppress(NotFound, Conflict):
                self._library.access(holder, ready[0].item.media_id, Action.READ)
        return LinkedAlbum(album, MediaViewPage(ready, page.cursor), Permission.DOWNLOAD in grant.permissions)

    def _admit(self, token: str, password: str | None) -> tuple[Grant, Principal]:
        """The live link grant the token names, once its password (if any) is given right."""
        grant = self._grants.by_token(token_hash(token))
        now = self._clock()
        terms = grant.link if grant is not None else None
        if grant is None or terms is None or not grant.active(now) or terms.used_up():
            if password:
                spend_a_check(password)  # as long as a wrong password takes
            raise NotFound(NO_LINK)
        if terms.protected:
            if not password:
                raise PasswordRequired("this link needs its password (X-Link-Password header)")
            wait = locked_for(terms, now)
            if wait:
                raise TooManyAttempts("too many wrong passwords for this link; try again later", retry_after=wait)
            if not password_matches(password, terms.password_hash):
                self._grants.record_link_failure(grant, now, FAILURE_WINDOW_SECONDS)
                raise NotFound(NO_LINK)
        return grant, Principal.for_link(grant.share_id)

    @staticmethod
    def _media_id(grant: Grant) -> str:
        # An album link has no single original: its items download one by one (download_item).
        if grant.resource_type is not ResourceType.MEDIA:
            raise NotFound(NO_LINK)
        return grant.resource_id


@contextmanager
def _as_missing_link() -> Iterator[None]:
    """Every refusal past the token reads as an unknown link (a not-ready item's Conflict included)."""
    try:
        yield
    except (NotFound, Conflict):
        raise NotFound(NO_LINK) from None
