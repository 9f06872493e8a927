"""Ended grants in the shares table: what the janitor finds and removes (shared/domain/retention.py ShareExpiry).

No scan: the candidates come from the sparse, keys-only ends-index (shared/adapters/dynamo/grants.py), which holds
only grants that can end (an expiry or a use limit; never a link's token pointer), sharded over "e00".."e31" and
sorted by ends_at. Each shard is queried with the key condition ends_at < before, which finds both kinds of ended
grant: an expired one sits at its expires_at, and a used-up link at USED_UP (the epoch), which the use that spent
its last one wrote in the same conditional update that counted it. So used-up links need no filter (a keys-only
index could not see uses anyway) and no separate pass over every limited link; a link with a use limit but no
expiry waits at NEVER until then. The index is eventually consistent: every candidate is read again consistently
(BatchGetItem) and kept only if _ended(before) holds for what was read; the delete stays conditional.

Grants written before the index existed lack ends_shard/ends_at and are not found: the admin reconcile
(POST /admin/reconcile) does not walk the shares table, so data older than this change needs a one-off backfill
(set both, as grants.py create does, on every grant with expires_at or max_uses; USED_UP where uses >= max_uses).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime

from pynamodb.expressions.condition import Condition

from shared.adapters.dynamo.conditions import bind, conditional_write, transaction
from shared.adapters.dynamo.grants import ENDS_SHARDS, LinkTokenModel, ShareModel, to_grant
from shared.domain.errors import Conflict
from shared.domain.grants import Grant

_POINTER_SORT = "token"  # the sort key of a link's token pointer (shared/adapters/dynamo/grants.py)
_BATCH_GET_KEYS = 100  # DynamoDB's BatchGetItem limit


def _ended(before: datetime) -> Condition:
    """Expired before `before`, or a link whose every use is spent (uses only grow, max_uses never changes)."""
    used_up = ShareModel.max_uses.exists() & (ShareModel.uses >= ShareModel.max_uses)
    ended: Condition = ShareModel.share_id.exists() & ((ShareModel.expires_at < before) | used_up)
    return ended


def _has_ended(model: ShareModel, before: datetime) -> bool:
    """_ended(before), decided on a record read consistently."""
    if not getattr(model, "share_id", None):
        return False
    expired = model.expires_at is not None and model.expires_at < before
    used_up = model.max_uses is not None and int(model.uses or 0) >= int(model.max_uses)
    return expired or used_up


class DynamoEndedGrants:
    """EndedGrants on the PynamoDB shares table."""

    def __init__(self, table_name: str, region: str, *, page_size: int = 100) -> None:
        bind(ShareModel, table_name, region)
        bind(LinkTokenModel, table_name, region)
        self._region = region
        self._page_size = page_size

    def ended_before(self, before: datetime) -> Iterator[Grant]:
        """Every ended grant: each shard of the ends index up to `before`, a page of keys at a time, each page read
        again consistently and kept only if it has still ended."""
        for shard in ENDS_SHARDS:
            entries = iter(
                ShareModel.ends_index.query(
                    shard, range_key_condition=ShareModel.ends_at < before, page_size=self._page_size
                )
            )
            while page := list(itertools.islice(entries, min(self._page_size, _BATCH_GET_KEYS))):
                keys = [(entry.resource, entry.grantee) for entry in page]
                for model in ShareModel.batch_get(keys, consistent_read=True):
                    if _has_ended(model, before):
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
