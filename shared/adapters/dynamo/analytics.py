"""The analytics table: counters per scope and day, running totals per scope, and markers of counted events.

Key shape: partition `scope` (`user#<id>`, `org#<org>`, `system`, or `event#<id>` for a marker), sort `day`
(`day#YYYY-MM-DD`, `totals`, or `marker`). Counters are numeric attributes added with ADD, so concurrent events
never overwrite each other; an event with an id is one transaction: a Put of its marker (only if absent, with a
TTL) and the Updates of its counters, so a redelivery fails the condition and adds nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import date
from typing import Any

from botocore.exceptions import ClientError

from shared.domain.analytics import Increment
from shared.domain.recording import merge

_TOTALS = "totals"
_MARKER = "marker"
# Counter names become attribute names through placeholders; this keeps them to what the domain writes.
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _day_key(day: date) -> str:
    return f"day#{day.isoformat()}"


class DynamoCounterStore:
    """CounterStore on one DynamoDB table (boto3's low-level client: counter names are data, not a schema)."""

    def __init__(self, client: Any, table_name: str, *, marker_ttl_days: int = 7) -> None:
        self._client = client
        self._table = table_name
        self._marker_ttl = marker_ttl_days * 86_400

    def add(self, increments: Sequence[Increment], event_id: str | None = None) -> bool:
        """Apply every increment at once; with an event id only if its marker is new (False: counted before)."""
        updates = [self._update(increment) for increment in merge(increments) if increment.counts]
        if not updates:
            return True
        if event_id is None:
            for update in updates:
                self._client.update_item(**update)
            return True
        marker = {
            "TableName": self._table,
            "Item": {
                "scope": {"S": f"event#{event_id}"},
                "day": {"S": _MARKER},
                "expires": {"N": str(int(time.time()) + self._marker_ttl)},
            },
            "ConditionExpression": "attribute_not_exists(#scope)",
            "ExpressionAttributeNames": {"#scope": "scope"},
        }
        try:
            self._client.transact_write_items(TransactItems=[{"Put": marker}, *({"Update": u} for u in updates)])
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False  # this event was counted already
            raise
        return True

    def days(self, scope: str, first: date, last: date) -> dict[date, dict[str, int]]:
        """The scope's counters of each day from first to last that has any (one paginated Query)."""
        found: dict[date, dict[str, int]] = {}
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#scope = :scope AND #day BETWEEN :first AND :last",
            "ExpressionAttributeNames": {"#scope": "scope", "#day": "day"},
            "ExpressionAttributeValues": {
                ":scope": {"S": scope},
                ":first": {"S": _day_key(first)},
                ":last": {"S": _day_key(last)},
            },
        }
        while True:
            page = self._client.query(**arguments)
            for item in page.get("Items", []):
                found[date.fromisoformat(item["day"]["S"].removeprefix("day#"))] = _counters(item)
            if "LastEvaluatedKey" not in page:
                return found
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def totals(self, scope: str) -> dict[str, int]:
        """The scope's running totals (empty when it has none)."""
        item = self._client.get_item(
            TableName=self._table, Key={"scope": {"S": scope}, "day": {"S": _TOTALS}}, ConsistentRead=True
        ).get("Item")
        return _counters(item) if item else {}

    def _update(self, increment: Increment) -> dict[str, Any]:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        clauses = []
        for index, (name, value) in enumerate(sorted(increment.counts.items())):
            if not _NAME.match(name):
                raise ValueError(f"not a counter name: {name!r}")
            names[f"#c{index}"] = name
            values[f":c{index}"] = {"N": str(int(value))}
            clauses.append(f"#c{index} :c{index}")
        day = _day_key(increment.day) if increment.day is not None else _TOTALS
        return {
            "TableName": self._table,
            "Key": {"scope": {"S": increment.scope}, "day": {"S": day}},
            "UpdateExpression": "ADD " + ", ".join(clauses),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }


def _counters(item: dict[str, Any]) -> dict[str, int]:
    return {name: int(value["N"]) for name, value in item.items() if "N" in value and name not in ("expires",)}
