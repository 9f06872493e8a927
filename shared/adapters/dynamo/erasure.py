"""PersonalData on the vault's tables: where a person's rows are, page by page, and how each goes.

Every phase reads through keys and indexes the tables already have (the one Scan: notifications others received
about the person, whose partitions are the recipients'). A page cursor is the source being read and DynamoDB's
LastEvaluatedKey; it lives in the job record only while the job runs. Deleting what is gone already and
rewriting an entry to the pseudonym it already carries both succeed, so a page that runs twice does no harm.
Low-level client calls: the rows of nine tables are only keys and a few attributes here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from shared.domain.errors import ValidationError

PAGE = 100
# Analytics marks a user active once a day under "event#active#<user>#<day>"; the markers expire after 7 days.
ACTIVE_MARKER_DAYS = 9
TOMBSTONE_PREFIX = "tombstone#"
# The only audit attributes erasure rewrites: MaintainerRole may UpdateItem these alone (a test keeps them in step).
PSEUDONYMISED_ATTRIBUTES = frozenset(
    {"actor_id", "actor_name", "source_ip", "user_agent", "owner_id", "owner_feed", "resource", "resource_id"}
)

Item = dict[str, Any]


@dataclass(frozen=True)
class ErasureTables:
    """The table names an erasure goes through."""

    media: str
    users: str
    shares: str
    albums: str
    notifications: str
    analytics: str
    audit: str
    # Request-rate counters ("<kind>#user#<id>#<window>"), gone through TTL a window or two later.
    limits: str = ""
    # Maintenance jobs: the person's exports and their export claim.
    jobs: str = ""


@dataclass(frozen=True)
class Source:
    """One Query or Scan that finds a phase's rows, and what happens to each row it finds."""

    request: dict[str, Any]
    handle: Callable[[Item], None]
    scan: bool = False


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _gone_already(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoPersonalData:
    """PersonalData on the media, users, shares, albums, notifications, analytics, audit, limits and jobs tables."""

    def __init__(self, client: Any, tables: ErasureTables, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._db = client
        self._t = tables
        self._clock = clock

    # --- PersonalData ---------------------------------------------------------------------------------------
    def erase_page(self, phase: str, user_id: str, alias: str, cursor: str) -> tuple[int, str]:
        """One page of the phase's first unfinished source; the cursor names the source and where it stopped."""
        if phase == "account":
            self._remove_account(user_id, alias)
            return 1, ""
        if phase == "counters" and not cursor:
            self._delete_active_markers(user_id)
        if phase == "jobs" and not cursor and self._t.jobs:
            self._db.delete_item(TableName=self._t.jobs, Key={"job_id": _s(f"export-claim#{user_id}")})
        sources = self._sources(phase, user_id, alias)
        position = json.loads(cursor) if cursor else {"source": 0}
        if not isinstance(position, dict) or not isinstance(position.get("source"), int):
            raise ValidationError("malformed erasure cursor")
        index = position["source"]
        if index >= len(sources):
            return 0, ""
        source = sources[index]
        request = {**source.request, "Limit": PAGE}
        if position.get("after"):
            request["ExclusiveStartKey"] = position["after"]
        page = self._db.scan(**request) if source.scan else self._db.query(**request)
        items = page.get("Items", [])
        for item in items:
            source.handle(item)
        after = page.get("LastEvaluatedKey")
        if after:
            return len(items), json.dumps({"source": index, "after": after})
        if index + 1 < len(sources):
            return len(items), json.dumps({"source": index + 1})
        return len(items), ""

    def is_tombstoned(self, alias: str) -> bool:
        """A tombstone row with this pseudonym is on the users table."""
        found = self._db.get_item(TableName=self._t.users, Key={"user_id": _s(TOMBSTONE_PREFIX + alias)})
        return "Item" in found

    # --- phases ---------------------------------------------------------------------------------------------
    def _sources(self, phase: str, user_id: str, alias: str) -> list[Source]:
        builders: dict[str, Callable[[str, str], list[Source]]] = {
            "grants": self._grants,
            "albums": self._albums,
            "media": self._media,
            "notifications": self._notifications,
            "counters": self._counters,
            "jobs": self._jobs,
            "audit": self._audit,
        }
        if phase not in builders:
            raise ValidationError(f"no erasure phase {phase!r}")
        return builders[phase](user_id, alias)

    def _grants(self, user_id: str, alias: str) -> list[Source]:
        """Grants the person made (their reshares of what others gave them included) and grants made to them."""
        return [
            self._index_query(self._t.shares, "grantor-index", "granted_by", user_id, self._delete_grant),
            self._index_query(self._t.shares, "grantee-index", "grantee", f"user#{user_id}", self._delete_grant),
        ]

    def _albums(self, user_id: str, alias: str) -> list[Source]:
        """The person's albums: their grants (links included), then every row of the album."""

        def erase_album(meta: Item) -> None:
            album_key = meta["pk"]["S"]
            self._delete_partition(self._t.shares, "resource", album_key, self._delete_grant)
            self._delete_partition(self._t.albums, "pk", album_key, self._delete_album_row)

        return [self._index_query(self._t.albums, "owner-index", "owner_id", user_id, erase_album)]

    def _media(self, user_id: str, alias: str) -> list[Source]:
        """The person's items, whatever their state: grants on each (reshares by others too), album memberships
        left elsewhere, then the record. The objects are the bucket's phase."""

        def erase_item(item: Item) -> None:
            media_id = item["media_id"]["S"]
            self._delete_partition(self._t.shares, "resource", f"media#{media_id}", self._delete_grant)
            for album_id in item.get("album_ids", {}).get("SS", []):
                self._drop_membership(album_id, media_id)
            self._db.delete_item(TableName=self._t.media, Key={"media_id": _s(media_id)})

        return [self._index_query(self._t.media, "owner-created-index", "owner_id", user_id, erase_item)]

    def _notifications(self, user_id: str, alias: str) -> list[Source]:
        """Notifications to the person, and those others received about what the person did."""

        def delete(item: Item) -> None:
            key = {"recipient_id": item["recipient_id"], "notification_id": item["notification_id"]}
            self._db.delete_item(TableName=self._t.notifications, Key=key)

        about = Source(
            {
                "TableName": self._t.notifications,
                "FilterExpression": "actor_id = :who",
                "ExpressionAttributeValues": {":who": _s(user_id)},
            },
            delete,
            scan=True,
        )
        return [self._partition_query(self._t.notifications, "recipient_id", user_id, delete), about]

    def _counters(self, user_id: str, alias: str) -> list[Source]:
        """The person's analytics scope, the daily markers that name them, and their request-rate windows."""

        def delete(item: Item) -> None:
            self._db.delete_item(TableName=self._t.analytics, Key={"scope": item["scope"], "day": item["day"]})

        sources = [self._partition_query(self._t.analytics, "scope", f"user#{user_id}", delete)]
        if self._t.limits:

            def delete_window(item: Item) -> None:
                self._db.delete_item(TableName=self._t.limits, Key={"counter": item["counter"]})

            # A Scan, but of a table that only holds the last minutes' windows.
            windows = {
                "TableName": self._t.limits,
                "FilterExpression": "contains(#c, :who)",
                "ExpressionAttributeNames": {"#c": "counter"},
                "ExpressionAttributeValues": {":who": _s(f"#{user_id}#")},
            }
            sources.append(Source(windows, delete_window, scan=True))
        return sources

    def _jobs(self, user_id: str, alias: str) -> list[Source]:
        """Jobs the person asked for (their exports) and their export claim. A Scan: the jobs table holds only the
        last 30 days' jobs. The erase job itself names the pseudonym or an admin, never the person."""
        if not self._t.jobs:
            return []

        def delete(item: Item) -> None:
            self._db.delete_item(TableName=self._t.jobs, Key={"job_id": item["job_id"]})

        asked = {
            "TableName": self._t.jobs,
            "FilterExpression": "requested_by = :who",
            "ExpressionAttributeValues": {":who": _s(user_id)},
        }
        return [Source(asked, delete, scan=True)]

    def _remove_account(self, user_id: str, alias: str) -> None:
        """The tombstone first (so no token recreates the account in between), then the account."""
        now = self._clock()
        tombstone = {
            "user_id": _s(TOMBSTONE_PREFIX + alias),
            "status": _s("erased"),
            "erased_at": _s(now.isoformat()),
        }
        self._db.put_item(TableName=self._t.users, Item=tombstone)
        self._db.delete_item(TableName=self._t.users, Key={"user_id": _s(user_id)})

    def _audit(self, user_id: str, alias: str) -> list[Source]:
        """Entries the person made, entries about their resources, entries about their account: pseudonymised."""
        return [
            self._index_query(self._t.audit, "actor-index", "actor_id", user_id, self._rewriter(user_id, alias)),
            self._index_query(self._t.audit, "owner-feed-index", "owner_feed", user_id, self._rewriter(user_id, alias)),
            self._index_query(
                self._t.audit, "resource-index", "resource", f"user#{user_id}", self._rewriter(user_id, alias)
            ),
        ]

    # --- rows -----------------------------------------------------------------------------------------------
    def _index_query(
        self, table: str, index: str, attribute: str, value: str, handle: Callable[[Item], None]
    ) -> Source:
        request = {
            "TableName": table,
            "IndexName": index,
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": attribute},
            "ExpressionAttributeValues": {":v": _s(value)},
        }
        return Source(request, handle)

    def _partition_query(self, table: str, attribute: str, value: str, handle: Callable[[Item], None]) -> Source:
        request = {
            "TableName": table,
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": attribute},
            "ExpressionAttributeValues": {":v": _s(value)},
            "ConsistentRead": True,
        }
        return Source(request, handle)

    def _rows(self, source: Source) -> Iterator[Item]:
        request = dict(source.request)
        while True:
            page = self._db.query(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _delete_partition(self, table: str, attribute: str, value: str, handle: Callable[[Item], None]) -> None:
        # A resource's grants and an album's rows are few (bounded by what one owner shares): read them whole.
        for row in list(self._rows(self._partition_query(table, attribute, value, handle))):
            handle(row)

    def _delete_grant(self, row: Item) -> None:
        """A grant row, and its link's token pointer (the token stops resolving with it)."""
        self._db.delete_item(TableName=self._t.shares, Key={"resource": row["resource"], "grantee": row["grantee"]})
        token_hash = row.get("token_hash", {}).get("S")
        if token_hash:
            pointer = {"resource": _s(f"token#{token_hash}"), "grantee": _s("token")}
            self._db.delete_item(TableName=self._t.shares, Key=pointer)

    def _delete_album_row(self, row: Item) -> None:
        self._db.delete_item(TableName=self._t.albums, Key={"pk": row["pk"], "sk": row["sk"]})

    def _drop_membership(self, album_id: str, media_id: str) -> None:
        """An item in someone else's album leaves it; the album's count and cover follow."""
        pk = _s(f"album#{album_id}")
        removed = self._db.delete_item(
            TableName=self._t.albums, Key={"pk": pk, "sk": _s(f"item#{media_id}")}, ReturnValues="ALL_OLD"
        )
        if "Attributes" not in removed:
            return  # not a member (or the album went with its owner's albums)
        try:
            self._db.update_item(
                TableName=self._t.albums,
                Key={"pk": pk, "sk": _s("meta")},
                UpdateExpression="ADD item_count :minus, revision :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":minus": {"N": "-1"}, ":one": {"N": "1"}},
            )
            self._db.update_item(
                TableName=self._t.albums,
                Key={"pk": pk, "sk": _s("meta")},
                UpdateExpression="REMOVE cover_media_id",
                ConditionExpression="cover_media_id = :m",
                ExpressionAttributeValues={":m": _s(media_id)},
            )
        except ClientError as exc:
            if not _gone_already(exc):
                raise

    def _delete_active_markers(self, user_id: str) -> None:
        today = self._clock().date()
        for back in range(ACTIVE_MARKER_DAYS):
            day = (today - timedelta(days=back)).isoformat()
            key = {"scope": _s(f"event#active#{user_id}#{day}"), "day": _s("marker")}
            self._db.delete_item(TableName=self._t.analytics, Key=key)

    def _rewriter(self, user_id: str, alias: str) -> Callable[[Item], None]:
        """An audit entry keeps what was done, when and with what outcome; who (and from where, for the person's
        own requests) becomes the pseudonym. Only these attributes change: the maintainer's role allows no more."""

        def rewrite(entry: Item) -> None:
            sets: dict[str, str] = {}
            removes: list[str] = []
            if entry.get("actor_id", {}).get("S") == user_id:
                sets["actor_id"] = alias
                removes += ["actor_name", "source_ip", "user_agent"]
            if entry.get("owner_id", {}).get("S") == user_id:
                sets["owner_id"] = alias
            if entry.get("owner_feed", {}).get("S") == user_id:
                sets["owner_feed"] = alias
            if entry.get("resource", {}).get("S") == f"user#{user_id}":
                sets["resource"] = f"user#{alias}"
                sets["resource_id"] = alias
            if not sets:
                return
            if not {*sets, *removes} <= PSEUDONYMISED_ATTRIBUTES:
                raise AssertionError("an audit rewrite outside the identity attributes")
            names = {f"#s{i}": name for i, name in enumerate(sets)}
            names.update({f"#r{i}": name for i, name in enumerate(removes)})
            values = {f":s{i}": _s(value) for i, value in enumerate(sets.values())}
            expression = "SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(sets)))
            if removes:
                expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
            try:
                self._db.update_item(
                    TableName=self._t.audit,
                    Key={"day": entry["day"], "sort": entry["sort"]},
                    UpdateExpression=expression,
                    ConditionExpression="attribute_exists(#day)",
                    ExpressionAttributeNames={**names, "#day": "day"},
                    ExpressionAttributeValues=values,
                )
            except ClientError as exc:
                if not _gone_already(exc):  # expired through TTL meanwhile: nothing to rewrite
                    raise

        return rewrite
