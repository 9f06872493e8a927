"""The limits table: one short-lived counter per (kind, subject, window), removed by TTL after its window."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from shared.adapters.dynamo.conditions import bind, conditional_write
from shared.config import get_settings
from shared.domain.errors import Conflict


class WindowCounterModel(Model):
    """The limits table (keys mirror infra/template.yaml)."""

    class Meta:
        table_name = get_settings().limits_table
        region = get_settings().region

    counter = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(null=True)
    expires = NumberAttribute(null=True)


class DynamoWindowCounters:
    """WindowCounters on the limits table: one conditional UpdateItem per request."""

    def __init__(self, table_name: str, region: str) -> None:
        bind(WindowCounterModel, table_name, region)

    def take(self, key: str, limit: int, expires_at: int, count: int = 1) -> bool:
        """ADD count unless the counter would pass limit: DynamoDB evaluates the condition and the add as one step,
        so a burst of concurrent requests admits exactly limit of them."""
        if count > limit:
            return False
        counter = WindowCounterModel(key)
        room = WindowCounterModel.hits.does_not_exist() | (WindowCounterModel.hits <= limit - count)
        try:
            with conditional_write(Conflict("the window is full")):
                counter.update(
                    actions=[WindowCounterModel.hits.add(count), WindowCounterModel.expires.set(expires_at)],
                    condition=room,
                )
        except Conflict:
            return False
        return True
