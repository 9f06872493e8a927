"""Ended grants in the shares table: what the janitor finds and removes (shared/domain/retention.py ShareExpiry).

Scanning is upkeep only, once an hour a page at a time: no API route reads this way. At a scale where the scan
costs too much, a sparse index on an "ends_at" attribute (written only on grants that can end) is the next step.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from pynamodb.expressions.condition import Condition

from shared.adapters.dynamo.conditions import bind, conditional_write, transaction
from shared.adapters.dynamo.grants import LinkTokenModel, ShareModel, to_grant
from shared.domain.errors import Conflict
from shared.domain.grants import Grant

_POINTER_SORT = "token"  # the sort key of a link's token pointer (shared/adapters/dynamo/grants.py)


def _ended(before: datetime) -> Condition:
    """Expired before `before`, or a link whose every use is spent (uses only grow, max_uses never changes)."""
    used_up = ShareModel.max_uses.exists() & (ShareModel.uses >= ShareModel.max_uses)
    ended: Condition = ShareModel.share_id.exists() & ((ShareModel.expires_at < before) | used_up)
    return ended


class DynamoEndedGrants:
    """EndedGrants on the PynamoDB shares table."""

    def __init__(self, table_name: str, region: str, *, page_size: int = 100) -> None:
        bind(ShareModel, table_name, region)
        bind(LinkTokenModel, table_name, region)
        self._region = region
        self._page_size = page_size

    def ended_before(self, before: datetime) -> Iterator[Grant]:
        """Every ended grant, a scan page at a time (token pointers carry no share_id, so they never match)."""
        for model in ShareModel.scan(filter_condition=_ended(before), page_size=self._page_size):
            yield to_grant(model)

    def delete_if_ended(self, grant: Grant, before: datetime) -> bool:
        """Delete the grant under a condition that it is still this grant and still ended: a grantor extending it
        at the same moment wins, and of two sweeps only one deletes it."""
        model = ShareModel(f"{grant.resource_type.value}#{grant.resource_id}", grant.grantee.key)
        condition = (ShareModel.share_id == grant.share_id) & _ended(before)
        try:
            with conditional_write(Conflict("the grant changed")):
                if grant.link is None:
                    model.delete(condition=condition)
                    return True
                # The token stops resolving in the same step as its grant goes.
                with transaction(self._region) as write:
                    write.delete(model, condition=condition)
                    write.delete(LinkTokenModel(f"token#{grant.link.token_hash}", _POINTER_SORT))
        except Conflict:
            return False
        return True
