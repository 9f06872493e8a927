"""Data exports on DynamoDB: each person's export claim (in the jobs table) and their records, read page by page."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from shared.adapters.dynamo.albums import DynamoAlbumRepository
from shared.adapters.dynamo.audit import DynamoAuditLog
from shared.adapters.dynamo.conditions import bind, conditional_write
from shared.adapters.dynamo.grants import DynamoGrantRepository
from shared.adapters.dynamo.media import DynamoMediaRepository
from shared.adapters.dynamo.notifications import DynamoNotificationRepository
from shared.config import get_settings
from shared.domain.albums import Album
from shared.domain.audit import AuditEntry, AuditQuery
from shared.domain.errors import Conflict
from shared.domain.grants import Grant, Grantee
from shared.domain.jobs import decode_cursor, encode_cursor
from shared.domain.media import MediaItem
from shared.domain.notifications import Notification
from shared.domain.ports import MediaQuery

# A claim outlives any export it names; TTL removes it once the person has not exported for this long.
CLAIM_RETENTION = timedelta(days=30)
# Ids of real jobs are 32 hex characters: a claim's key can never be mistaken for one.
_CLAIM_PREFIX = "export-claim#"
PAGE = 100
# The phases of an export's item listing, as its cursor names them.
_LIBRARY, _TRASH, _END = "library", "trash", "end"


class ExportClaimModel(Model):
    """One person's export claim, an item of the jobs table under its own key shape."""

    class Meta:
        table_name = get_settings().jobs_table
        region = get_settings().region

    job_id = UnicodeAttribute(hash_key=True)  # the jobs table's key: "export-claim#<user id>"
    active_job = UnicodeAttribute()
    claimed_at = UTCDateTimeAttribute()
    expires_at = NumberAttribute()


class DynamoExportClaims:
    """ExportClaims on the jobs table: a conditional put decides between two starts at the same moment."""

    def __init__(self, table_name: str, region: str) -> None:
        bind(ExportClaimModel, table_name, region)

    def current(self, user_id: str) -> tuple[str, datetime] | None:
        """The job the person's claim names and when it was made."""
        try:
            model = ExportClaimModel.get(_CLAIM_PREFIX + user_id, consistent_read=True)
        except ExportClaimModel.DoesNotExist:
            return None
        return model.active_job, model.claimed_at

    def claim(self, user_id: str, job_id: str, replacing: str) -> None:
        """Claim for job_id if the claim still names `replacing` (or, with "", if there is none)."""
        now = datetime.now(UTC)
        model = ExportClaimModel(
            _CLAIM_PREFIX + user_id,
            active_job=job_id,
            claimed_at=now,
            expires_at=int((now + CLAIM_RETENTION).timestamp()),
        )
        condition = ExportClaimModel.active_job == replacing if replacing else ExportClaimModel.job_id.does_not_exist()
        with conditional_write(Conflict("an export of your data is already running")):
            model.save(condition=condition)


class DynamoPersonalRecords:
    """PersonalRecords over the repositories: every listing read to its end, a page at a time."""

    def __init__(
        self,
        media: DynamoMediaRepository,
        grants: DynamoGrantRepository,
        albums: DynamoAlbumRepository,
        notifications: DynamoNotificationRepository,
        audit: DynamoAuditLog,
        *,
        page_size: int = PAGE,
    ) -> None:
        self._media = media
        self._page_size = page_size
        self._grants = grants
        self._albums = albums
        self._notifications = notifications
        self._audit = audit

    def items(self, owner_id: str) -> Iterator[MediaItem]:
        """The owner's items, then those in their trash."""
        for trashed in (False, True):
            query = MediaQuery(trashed=trashed)
            yield from _pages(functools.partial(_media_page, self._media, owner_id, query, self._page_size))

    def items_from(self, owner_id: str, cursor: str) -> Iterator[tuple[MediaItem, str]]:
        """The owner's items, then their trash, from a position items_from gave out; each with the one after it.

        A position is the phase (library, trash or end), the media listing's own cursor of the page holding the
        next item (DynamoDB's position after the previous page: items added or removed on earlier pages do not
        shift it), and within that page the item last written and how many of the page were: the listing goes on
        after that item, or after as many as were written if it has gone meanwhile.
        """
        position = decode_cursor(cursor)
        phase = position.get("phase", _LIBRARY)
        if phase == _END:
            return
        phases = (_LIBRARY, _TRASH) if phase == _LIBRARY else (_TRASH,)
        page_cursor = position.get("page") or None
        after, skip = position.get("after", ""), int(position.get("skip", 0))
        for current in phases:
            query = MediaQuery(trashed=current == _TRASH)
            while True:
                items, next_page = _media_page(self._media, owner_id, query, self._page_size, page_cursor)
                ids = [item.media_id for item in items]
                start = ids.index(after) + 1 if after in ids else min(skip, len(items))
                after, skip = "", 0
                for index in range(start, len(items)):
                    if index + 1 < len(items):
                        then = {"phase": current, "page": page_cursor or "", "after": ids[index], "skip": index + 1}
                    elif next_page is not None:
                        then = {"phase": current, "page": next_page}
                    else:
                        then = {"phase": _TRASH if current == _LIBRARY else _END}
                    yield items[index], encode_cursor({k: str(v) for k, v in then.items()})
                if next_page is None:
                    break
                page_cursor = next_page
            page_cursor = None

    def count_items(self, owner_id: str) -> int:
        """How many items the owner has, trash included."""
        return sum(1 for _ in self.items(owner_id))

    def grants_given(self, user_id: str) -> Iterator[Grant]:
        """Grants the person made (the grantor index)."""
        scope = json.dumps({"listing": "export-given", "sub": user_id})
        return (grant for grant, _ in self._grants.made_by(user_id, None, scope, page_size=PAGE))

    def grants_received(self, grantees: list[Grantee]) -> Iterator[Grant]:
        """Grants to each grantee in turn (the grantee index)."""
        scope = json.dumps({"listing": "export-received", "grantees": [g.key for g in grantees]})
        return (grant for grant, _ in self._grants.received(grantees, None, scope, page_size=PAGE))

    def albums(self, owner_id: str) -> Iterator[tuple[Album, list[str]]]:
        """Each album with its members' ids in album order."""

        def page(cursor: str | None) -> tuple[list[Album], str | None]:
            found = self._albums.list_owned(owner_id, PAGE, cursor)
            return found.albums, found.cursor

        for album in _pages(page):
            scope = json.dumps({"listing": "export-album", "album": album.album_id})
            members = [member.media_id for member, _ in self._albums.members(album.album_id, None, scope)]
            yield album, members

    def notifications(self, recipient_id: str) -> Iterator[Notification]:
        """Every notification the person has (read or not)."""
        return _pages(lambda cursor: self._notifications.page(recipient_id, False, PAGE, cursor))

    def audit(self, actor_id: str) -> Iterator[AuditEntry]:
        """Entries where the person is the actor (the actor index)."""

        def page(cursor: str | None) -> tuple[list[AuditEntry], str | None]:
            found = self._audit.by_actor(actor_id, AuditQuery(), PAGE, cursor)
            return found.entries, found.cursor

        return _pages(page)


def _media_page(
    media: DynamoMediaRepository, owner_id: str, query: MediaQuery, size: int, cursor: str | None
) -> tuple[list[MediaItem], str | None]:
    page = media.list_owned(owner_id, query, size, cursor)
    return page.items, page.cursor


def _pages[T](read: Callable[[str | None], tuple[list[T], str | None]]) -> Iterator[T]:
    """Every entry of a paged listing, reading the next page only when the last is used up."""
    cursor: str | None = None
    while True:
        entries, cursor = read(cursor)
        yield from entries
        if cursor is None:
            return
