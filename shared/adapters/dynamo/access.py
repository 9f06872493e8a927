"""A caller's read of an item and of their grants on it, in one round trip: a BatchGetItem across the media and
shares tables (the policy's grant lookup costs a grantee no extra request; grants through albums, which need the
item's album ids, are read only when the item's own grants do not decide)."""

from __future__ import annotations

from typing import Any

from shared.adapters.dynamo.conditions import bind, connection
from shared.adapters.dynamo.grants import ShareModel, to_grant
from shared.adapters.dynamo.media_model import MediaModel, to_item
from shared.domain.grants import Grant, Grantee, ResourceRef, ResourceType
from shared.domain.media import MediaItem

_ATTEMPTS = 5


class DynamoAccessReads:
    """AccessReads on the media and shares tables."""

    def __init__(self, media_table: str, shares_table: str, region: str) -> None:
        bind(MediaModel, media_table, region)
        bind(ShareModel, shares_table, region)
        self._media_table = media_table
        self._shares_table = shares_table
        self._region = region

    def item_with_grants(self, media_id: str, grantees: list[Grantee]) -> tuple[MediaItem | None, list[Grant]]:
        """The item (None if missing) and the grantees' grants on the item itself: one consistent BatchGetItem."""
        resource = ResourceRef(ResourceType.MEDIA, media_id).key
        request: dict[str, Any] = {
            self._media_table: {"Keys": [{"media_id": {"S": media_id}}], "ConsistentRead": True},
        }
        if grantees:
            keys = [{"resource": {"S": resource}, "grantee": {"S": grantee.key}} for grantee in grantees]
            request[self._shares_table] = {"Keys": keys, "ConsistentRead": True}
        found = _batch_get(connection(self._region).client, request)
        items = [to_item(MediaModel.from_raw_data(raw)) for raw in found.get(self._media_table, [])]
        grants = [to_grant(ShareModel.from_raw_data(raw)) for raw in found.get(self._shares_table, [])]
        return (items[0] if items else None), grants


def _batch_get(client: Any, request: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every item of a BatchGetItem, unprocessed keys asked again (a throttled table answers some of them later)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for _ in range(_ATTEMPTS):
        answer = client.batch_get_item(RequestItems=request)
        for table, rows in answer.get("Responses", {}).items():
            found.setdefault(table, []).extend(rows)
        request = answer.get("UnprocessedKeys") or {}
        if not request:
            return found
    raise RuntimeError("DynamoDB left keys unprocessed after retries")
