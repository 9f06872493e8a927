"""The audit table: append-only entries, partitioned by UTC day, with an index per way the log is searched.

Keys: `day` ("2026-03-01") and `sort` ("<instant>#<entry id>": unique, and text order is time order). Indexes:
actor-index, resource-index ("media#<id>") and owner-feed-index (sparse: entries where someone acted on another
person's resource, keyed by that owner). Every listing is a Query, newest first; a cursor is the sort key of the
last entry returned (and its day), signed for the listing and filters it came from. The time listing reads only
days holding entries: a day's first entry also puts a marker into the `days` partition, which one Query lists.
No update or delete path exists; the API's role may only PutItem and Query the table; TTL expires entries.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import islice

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from shared.adapters.cursors import CursorSigner
from shared.adapters.dynamo.conditions import bind, conditional_write
from shared.config import get_settings
from shared.domain.audit import AuditEntry, AuditPage, AuditQuery
from shared.domain.errors import Conflict, ValidationError

# Below and above every sort key ("<ISO instant>#<id>"): DynamoDB key conditions take no empty strings.
_LOWEST, _HIGHEST = "0", "~"
# The partition whose items name the days that hold entries (its sort key is the day).
_DAYS_PARTITION = "days"
_DAY_CURSOR = frozenset({"day", "after"})
_INDEX_CURSOR = frozenset({"after"})


class ActorIndex(GlobalSecondaryIndex["AuditModel"]):
    """What one principal did, by time."""

    class Meta:
        index_name = "actor-index"
        projection = AllProjection()

    actor_id = UnicodeAttribute(hash_key=True)
    sort = UnicodeAttribute(range_key=True)


class ResourceIndex(GlobalSecondaryIndex["AuditModel"]):
    """What was done to one resource, by time (sparse: entries naming a single resource)."""

    class Meta:
        index_name = "resource-index"
        projection = AllProjection()

    resource = UnicodeAttribute(hash_key=True)
    sort = UnicodeAttribute(range_key=True)


class OwnerFeedIndex(GlobalSecondaryIndex["AuditModel"]):
    """What others did to one owner's resources, by time (sparse: the owner's own actions are not in it)."""

    class Meta:
        index_name = "owner-feed-index"
        projection = AllProjection()

    owner_feed = UnicodeAttribute(hash_key=True)
    sort = UnicodeAttribute(range_key=True)


class AuditModel(Model):
    """The audit table (keys mirror infra/template.yaml; a test keeps them in step)."""

    class Meta:
        table_name = get_settings().audit_table
        region = get_settings().region

    day = UnicodeAttribute(hash_key=True)
    sort = UnicodeAttribute(range_key=True)
    entry_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    actor_id = UnicodeAttribute()
    actor_name = UnicodeAttribute(null=True)
    actor_role = UnicodeAttribute()
    action = UnicodeAttribute()
    resource_type = UnicodeAttribute()
    resource_id = UnicodeAttribute(null=True)
    resource = UnicodeAttribute(null=True)
    owner_id = UnicodeAttribute(null=True)
    owner_feed = UnicodeAttribute(null=True)
    status = NumberAttribute()
    source_ip = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute(null=True)
    expires = TTLAttribute()

    actor_index = ActorIndex()
    resource_index = ResourceIndex()
    owner_feed_index = OwnerFeedIndex()


class AuditDayModel(Model):
    """A day that holds entries: a marker in the audit table's `days` partition (no entry attributes)."""

    class Meta:
        table_name = get_settings().audit_table
        region = get_settings().region

    day = UnicodeAttribute(hash_key=True)
    sort = UnicodeAttribute(range_key=True)
    expires = TTLAttribute()


def sort_key(at: datetime, entry_id: str) -> str:
    """An entry's position: its UTC instant at fixed width (so text order is time order), then its id."""
    return f"{_instant(at)}#{entry_id}"


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _to_entry(model: AuditModel) -> AuditEntry:
    return AuditEntry(
        entry_id=model.entry_id,
        at=model.at,
        actor_id=model.actor_id,
        actor_name=model.actor_name or "",
        actor_role=model.actor_role,
        action=model.action,
        resource_type=model.resource_type,
        resource_id=model.resource_id or "",
        owner_id=model.owner_id or "",
        status=int(model.status),
        source_ip=model.source_ip or "",
        user_agent=model.user_agent or "",
        request_id=model.request_id or "",
    )


class DynamoAuditLog:
    """AuditLog on the PynamoDB audit table."""

    def __init__(self, table_name: str, region: str, *, retention_days: int, cursor_key: str = "") -> None:
        bind(AuditModel, table_name, region)
        bind(AuditDayModel, table_name, region)
        self._retention = timedelta(days=retention_days)
        self._cursor_key = cursor_key
        # Days this container has marked already: one marker write per day and container, not per entry.
        self._marked: set[str] = set()

    def append(self, entry: AuditEntry) -> None:
        """PutItem only if no entry holds the key: an entry is never overwritten."""
        day = entry.at.astimezone(UTC).date().isoformat()
        self._mark(day, entry.at)
        model = AuditModel(
            day,
            sort_key(entry.at, entry.entry_id),
            entry_id=entry.entry_id,
            at=entry.at,
            actor_id=entry.actor_id,
            actor_name=entry.actor_name or None,
            actor_role=entry.actor_role,
            action=entry.action,
            resource_type=entry.resource_type,
            resource_id=entry.resource_id or None,
            resource=entry.resource if entry.resource_id else None,
            owner_id=entry.owner_id or None,
            owner_feed=entry.owner_id if entry.by_someone_else else None,
            status=entry.status,
            source_ip=entry.source_ip or None,
            user_agent=entry.user_agent or None,
            request_id=entry.request_id or None,
            expires=entry.at + self._retention,
        )
        with conditional_write(Conflict("an audit entry with this id exists")):
            model.save(condition=AuditModel.sort.does_not_exist())

    def by_actor(self, actor_id: str, query: AuditQuery, limit: int, cursor: str | None) -> AuditPage:
        """What one principal did, newest first."""
        return self._index_page(AuditModel.actor_index.query, "actor", actor_id, query, limit, cursor)

    def by_resource(self, resource: str, query: AuditQuery, limit: int, cursor: str | None) -> AuditPage:
        """What was done to one resource, newest first."""
        return self._index_page(AuditModel.resource_index.query, "resource", resource, query, limit, cursor)

    def by_owner(self, owner_id: str, query: AuditQuery, limit: int, cursor: str | None) -> AuditPage:
        """What others did to one owner's resources, newest first."""
        return self._index_page(AuditModel.owner_feed_index.query, "owner", owner_id, query, limit, cursor)

    def in_window(self, query: AuditQuery, limit: int, cursor: str | None) -> AuditPage:
        """Every entry of the window, newest first: the days holding entries, one after another, back to `since`
        (or to the retention horizon when the window is open)."""
        scope = _scope("time", "", query)
        now = datetime.now(UTC)
        newest = (query.until or now).astimezone(UTC).date().isoformat()
        oldest = (query.since or now - self._retention).astimezone(UTC).date().isoformat()
        after = ""
        if cursor:
            position = self._signer().open(cursor, scope, _DAY_CURSOR)
            newest, after = min(newest, _day(position["day"]["S"])), position["after"]["S"]
        found: list[AuditModel] = []
        for day in self._days(oldest, newest):
            wanted = limit + 1 - len(found)
            found += islice(self._entries(AuditModel.query, day, query, after, _filters(query)), wanted)
            after = ""
            if len(found) > limit:
                last = found[limit - 1]
                token = self._signer().sign({"day": {"S": last.day}, "after": {"S": last.sort}}, scope)
                return AuditPage([_to_entry(m) for m in found[:limit]], token)
        return AuditPage([_to_entry(m) for m in found], None)

    def _mark(self, day: str, at: datetime) -> None:
        """Make sure the day is listed in the days partition (a marker that exists already is left alone)."""
        if day in self._marked:
            return
        marker = AuditDayModel(_DAYS_PARTITION, day, expires=at + self._retention + timedelta(days=1))
        try:
            with conditional_write(Conflict("the day is marked")):
                marker.save(condition=AuditDayModel.sort.does_not_exist())
        except Conflict:
            pass
        self._marked.add(day)

    def _days(self, oldest: str, newest: str) -> list[str]:
        """The days from newest to oldest (inclusive) that hold entries."""
        if oldest > newest:
            return []
        markers = AuditDayModel.query(
            _DAYS_PARTITION, range_key_condition=AuditDayModel.sort.between(oldest, newest), scan_index_forward=False
        )
        return [marker.sort for marker in markers]

    def _index_page(
        self,
        query_index: Callable[..., Iterator[AuditModel]],
        listing: str,
        partition: str,
        query: AuditQuery,
        limit: int,
        cursor: str | None,
    ) -> AuditPage:
        scope = _scope(listing, partition, query)
        after = self._signer().open(cursor, scope, _INDEX_CURSOR)["after"]["S"] if cursor else ""
        filters = _filters(query, keyed_by=listing)
        # One entry more than the page tells whether a next page exists (no empty last page).
        found = list(islice(self._entries(query_index, partition, query, after, filters), limit + 1))
        token = None
        if len(found) > limit:
            token = self._signer().sign({"after": {"S": found[limit - 1].sort}}, scope)
        return AuditPage([_to_entry(m) for m in found[:limit]], token)

    def _entries(
        self,
        query_fn: Callable[..., Iterator[AuditModel]],
        partition: str,
        query: AuditQuery,
        after: str,
        filters: Condition | None,
    ) -> Iterator[AuditModel]:
        """A partition's entries in the window, newest first, strictly older than `after` when given."""
        low = _instant(query.since) if query.since else _LOWEST
        high = f"{_instant(query.until)}{_HIGHEST}" if query.until else _HIGHEST
        if after:
            # Between is inclusive: the entry the cursor names comes back first and is skipped.
            high = min(high, after)
        if low > high:
            return iter(())
        results = query_fn(
            partition,
            range_key_condition=AuditModel.sort.between(low, high),
            filter_condition=filters,
            scan_index_forward=False,
            # Filters apply after DynamoDB reads a page: read a few pages' worth per round trip.
            page_size=100 if filters is not None else 50,
        )
        return (model for model in results if model.sort != after)

    def _signer(self) -> CursorSigner:
        if not self._cursor_key:
            raise RuntimeError("CURSOR_SIGNING_KEY is not set: audit listings cannot sign their cursors")
        return CursorSigner(self._cursor_key.encode())


def _filters(query: AuditQuery, keyed_by: str = "") -> Condition | None:
    """The query's filters the listing's key does not already apply."""
    conditions: list[Condition] = []
    if query.actor and keyed_by != "actor":
        conditions.append(AuditModel.actor_id == query.actor)
    if query.resource and keyed_by != "resource":
        conditions.append(AuditModel.resource == query.resource)
    if query.action:
        conditions.append(AuditModel.action == query.action)
    return functools.reduce(operator.and_, conditions) if conditions else None


def _scope(listing: str, partition: str, query: AuditQuery) -> str:
    """What a cursor is bound to: the listing, its partition and every filter as given."""
    window = [moment.isoformat() if moment else "" for moment in (query.since, query.until)]
    return json.dumps([listing, partition, query.actor, query.resource, query.action, *window])


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValidationError("cursor is not valid for this listing", field="cursor") from None
