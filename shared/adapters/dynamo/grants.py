"""The grants aggregate: one item per (resource, grantee), so the policy's lookup is a BatchGetItem on the key.

Indexes: share-id-index (a share id names its grant), grantee-index (what was shared with someone, newest
first), grantor-index (what someone shared) and ends-index (grants that can end, for the janitor: see below).
Listing cursors are the index position, signed per listing. A link grant (grantee "link#<share_id>") has a second
item, "token#<hash>" / "token", naming its key: written and deleted in one transaction with it, it finds the grant
from a token without a scan. It carries no indexed attribute, so it never shows up in an index.

ends-index (sparse, keys only): only grants that can end carry its keys, ends_shard ("e00".."e31", from the share
id) and ends_at, when that grant ends or ended:
- a grant with expires_at and no use limit: ends_at = expires_at;
- a link with max_uses: ends_at = expires_at, or NEVER when it has none, until the use that spends its last one
  sets ends_at = USED_UP (the epoch) in the same conditional update that counts it. So a used-up link is at the
  start of the index, found by the same "ends_at < before" key condition as an expired grant, with no filter and
  no re-read of every limited link each hour;
- any other grant has neither attribute (a PATCH that removes the expiry of a grant without max_uses removes them).
Grants written before the index existed lack both and are not found by the janitor: data older than this change
needs a one-off backfill (the admin reconcile, POST /admin/reconcile, does not walk the shares table).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from shared.adapters.cursors import CursorSigner
from shared.adapters.dynamo.conditions import bind, conditional_write, transaction
from shared.config import get_settings
from shared.domain.errors import Conflict, NotFound, ValidationError
from shared.domain.grants import (
    MAX_GRANT_KEYS,
    Grant,
    Grantee,
    GranteeType,
    LinkTerms,
    Permission,
    ResourceRef,
    ResourceType,
)


class ShareIdIndex(GlobalSecondaryIndex["ShareModel"]):
    """A share id to its grant's key (the grant is then read consistently)."""

    class Meta:
        index_name = "share-id-index"
        projection = KeysOnlyProjection()

    share_id = UnicodeAttribute(hash_key=True)


class GranteeIndex(GlobalSecondaryIndex["ShareModel"]):
    """Grants a user or an organisation holds, newest first."""

    class Meta:
        index_name = "grantee-index"
        projection = AllProjection()

    grantee = UnicodeAttribute(hash_key=True)
    created_sort = UnicodeAttribute(range_key=True)


class GrantorIndex(GlobalSecondaryIndex["ShareModel"]):
    """Grants someone made, newest first."""

    class Meta:
        index_name = "grantor-index"
        projection = AllProjection()

    granted_by = UnicodeAttribute(hash_key=True)
    created_sort = UnicodeAttribute(range_key=True)


class EndsIndex(GlobalSecondaryIndex["ShareModel"]):
    """Grants that can end, by when they end (sparse: only they carry ends_shard). Keys only: the janitor re-reads
    the few it finds."""

    class Meta:
        index_name = "ends-index"
        projection = KeysOnlyProjection()

    ends_shard = UnicodeAttribute(hash_key=True)
    ends_at = UTCDateTimeAttribute(range_key=True)


# The ends index spreads its writes over this many partition keys (as the media table's janitor indexes do). The
# count may grow but never shrink: grants keep the shard they were written with.
ENDS_SHARD_COUNT = 32
ENDS_SHARDS = tuple(f"e{n:02d}" for n in range(ENDS_SHARD_COUNT))
# ends_at of a link with a use limit and no expiry: it ends only once used up.
NEVER = datetime(9999, 12, 31, tzinfo=UTC)
# ends_at of a link whose every use is spent: it has ended, whatever the janitor's grace.
USED_UP = datetime(1970, 1, 1, tzinfo=UTC)


def ends_shard(share_id: str) -> str:
    """The ends index's partition of a grant."""
    return f"e{zlib.crc32(share_id.encode()) % ENDS_SHARD_COUNT:02d}"


def ends_at(expires_at: datetime | None, max_uses: int | None) -> datetime | None:
    """Where a grant not (yet) used up sits in the ends index; None: it never ends, and is not in the index."""
    if max_uses is None:
        return expires_at
    if max_uses <= 0:
        return USED_UP
    return expires_at or NEVER


class ShareModel(Model):
    """The shares table (keys mirror infra/template.yaml; a test keeps them in step)."""

    class Meta:
        table_name = get_settings().shares_table
        region = get_settings().region

    resource = UnicodeAttribute(hash_key=True)  # "media#<media_id>"
    grantee = UnicodeAttribute(range_key=True)  # "user#<sub>" | "org#<org>"
    share_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    grantee_display = UnicodeAttribute(default="")
    permissions = UnicodeSetAttribute()
    granted_by = UnicodeAttribute()
    parent_share_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    # Unique per grant, ordered by time: two grants made in the same microsecond still page apart.
    created_sort = UnicodeAttribute()
    expires_at = UTCDateTimeAttribute(null=True)
    # Link grants only.
    token_hash = UnicodeAttribute(null=True)
    password_hash = UnicodeAttribute(null=True)
    max_uses = NumberAttribute(null=True)
    uses = NumberAttribute(null=True)
    views = NumberAttribute(null=True)
    downloads = NumberAttribute(null=True)
    failed_attempts = NumberAttribute(null=True)
    failed_since = UTCDateTimeAttribute(null=True)
    # Present exactly on grants that can end (an expiry or a use limit): what puts them in the ends index.
    ends_shard = UnicodeAttribute(null=True)
    ends_at = UTCDateTimeAttribute(null=True)

    share_id_index = ShareIdIndex()
    grantee_index = GranteeIndex()
    grantor_index = GrantorIndex()
    ends_index = EndsIndex()


class LinkTokenModel(Model):
    """A link token's hash -> the key of its grant, in the shares table."""

    class Meta:
        table_name = get_settings().shares_table
        region = get_settings().region

    resource = UnicodeAttribute(hash_key=True)  # "token#<sha256 hex>"
    grantee = UnicodeAttribute(range_key=True)  # "token"
    target_resource = UnicodeAttribute()
    target_grantee = UnicodeAttribute()


# One conditional update: its actions and the condition they apply under.
_Attempt = tuple[list[Action], Condition]


def _first_that_holds(model: ShareModel, attempts: list[_Attempt], refusal: NotFound) -> None:
    """Apply the first attempt whose condition holds; refusal when none does."""
    for actions, condition in attempts:
        try:
            with conditional_write(Conflict("the condition did not hold")):
                model.update(actions=actions, condition=condition)
            return
        except Conflict:
            continue
    raise refusal


_POINTER_SORT = "token"
_NO_LINK = "link not found"
_RECEIVED_CURSOR = frozenset({"resource", "grantee", "created_sort"})
_MADE_CURSOR = frozenset({"resource", "grantee", "granted_by", "created_sort"})


def _resource_key(resource_type: ResourceType, resource_id: str) -> str:
    return f"{resource_type.value}#{resource_id}"


def _token_key(token_hash: str) -> str:
    return f"token#{token_hash}"


def _link_terms(model: ShareModel) -> LinkTerms | None:
    if not model.token_hash:
        return None
    return LinkTerms(
        token_hash=model.token_hash,
        password_hash=model.password_hash or "",
        max_uses=int(model.max_uses) if model.max_uses is not None else None,
        uses=int(model.uses or 0),
        views=int(model.views or 0),
        downloads=int(model.downloads or 0),
        failed_attempts=int(model.failed_attempts or 0),
        failed_since=model.failed_since,
    )


def to_grant(model: ShareModel) -> Grant:
    resource_type, _, resource_id = model.resource.partition("#")
    grantee_type, _, grantee_id = model.grantee.partition("#")
    return Grant(
        share_id=model.share_id,
        resource_type=ResourceType(resource_type),
        resource_id=resource_id,
        owner_id=model.owner_id,
        grantee=Grantee(GranteeType(grantee_type), grantee_id, model.grantee_display or ""),
        permissions=frozenset(Permission(p) for p in model.permissions or ()),
        granted_by=model.granted_by,
        created_at=model.created_at,
        expires_at=model.expires_at,
        parent_share_id=model.parent_share_id or "",
        link=_link_terms(model),
    )


class DynamoGrantRepository:
    """GrantRepository on the PynamoDB shares table."""

    def __init__(self, table_name: str, region: str, *, cursor_key: str = "") -> None:
        bind(ShareModel, table_name, region)
        bind(LinkTokenModel, table_name, region)
        self._region = region
        self._cursor_key = cursor_key

    def grants_for(self, resources: list[ResourceRef], grantees: list[Grantee]) -> list[Grant]:
        """The grantees' grants on the resources: one consistent BatchGetItem of every resource x grantee key."""
        keys = [(resource.key, grantee.key) for resource in resources for grantee in grantees]
        if len(keys) > MAX_GRANT_KEYS:
            raise ValueError(f"{len(keys)} grant keys in one read; the domain keeps it to {MAX_GRANT_KEYS}")
        return [to_grant(model) for model in ShareModel.batch_get(keys, consistent_read=True)]

    def on_resource(self, resource_type: ResourceType, resource_id: str) -> list[Grant]:
        """Every grant on the resource, from its own partition (consistent)."""
        resource = _resource_key(resource_type, resource_id)
        return [to_grant(model) for model in ShareModel.query(resource, consistent_read=True)]

    def get(self, share_id: str) -> Grant | None:
        """The grant, read consistently by the key the index gives (the index only lags)."""
        for entry in ShareModel.share_id_index.query(share_id, limit=1):
            try:
                model = ShareModel.get(entry.resource, entry.grantee, consistent_read=True)
            except ShareModel.DoesNotExist:
                return None
            return to_grant(model) if model.share_id == share_id else None
        return None

    def create(self, grant: Grant) -> None:
        """Store a new grant, with its parent checked in the same transaction: a reshare cannot outlive a revoke."""
        model = ShareModel(
            _resource_key(grant.resource_type, grant.resource_id),
            grant.grantee.key,
            share_id=grant.share_id,
            owner_id=grant.owner_id,
            grantee_display=grant.grantee.display,
            permissions={p.value for p in grant.permissions},
            granted_by=grant.granted_by,
            parent_share_id=grant.parent_share_id or None,
            created_at=grant.created_at,
            created_sort=f"{grant.created_at.isoformat()}#{grant.share_id}",
            expires_at=grant.expires_at,
        )
        link = grant.link
        if link is not None:
            model.token_hash = link.token_hash
            model.password_hash = link.password_hash or None
            model.max_uses = link.max_uses
            model.uses, model.views, model.downloads = 0, 0, 0
        ends = ends_at(grant.expires_at, link.max_uses if link is not None else None)
        if ends is not None:
            model.ends_shard, model.ends_at = ends_shard(grant.share_id), ends
        parent = self.get(grant.parent_share_id) if grant.parent_share_id else None
        if grant.parent_share_id and parent is None:
            raise Conflict("the grant this reshare comes from was revoked")
        refusal = Conflict("this grantee already holds a grant on the item; change it with PATCH /shares/{share_id}")
        with conditional_write(refusal), transaction(self._region) as write:
            write.save(model, condition=ShareModel.grantee.does_not_exist())
            if link is not None:
                pointer = LinkTokenModel(
                    _token_key(link.token_hash),
                    _POINTER_SORT,
                    target_resource=model.resource,
                    target_grantee=model.grantee,
                )
                write.save(pointer, condition=LinkTokenModel.resource.does_not_exist())
            if parent is not None:
                write.condition_check(
                    ShareModel,
                    _resource_key(parent.resource_type, parent.resource_id),
                    parent.grantee.key,
                    condition=ShareModel.share_id == parent.share_id,
                )

    def update(self, grant: Grant) -> None:
        """Replace permissions and expiry of the grant still stored under this share id, and its place in the ends
        index with them (a used-up link keeps USED_UP)."""
        actions: list[Action] = [ShareModel.permissions.set({p.value for p in grant.permissions})]
        actions.append(
            ShareModel.expires_at.set(grant.expires_at)
            if grant.expires_at is not None
            else ShareModel.expires_at.remove()
        )
        model = ShareModel(_resource_key(grant.resource_type, grant.resource_id), grant.grantee.key)
        same_grant = ShareModel.share_id == grant.share_id
        max_uses = grant.link.max_uses if grant.link is not None else None
        ends = ends_at(grant.expires_at, max_uses)
        attempts: list[_Attempt]
        if ends is None:
            attempts = [([*actions, ShareModel.ends_shard.remove(), ShareModel.ends_at.remove()], same_grant)]
        else:
            into_index = [*actions, ShareModel.ends_shard.set(ends_shard(grant.share_id))]
            if max_uses is None:
                attempts = [([*into_index, ShareModel.ends_at.set(ends)], same_grant)]
            else:
                # max_uses never changes and uses only grow; the use that spends the last one set USED_UP. Which
                # applies is decided under a condition on uses, so a concurrent last use is never undone.
                attempts = [
                    ([*into_index, ShareModel.ends_at.set(ends)], same_grant & (ShareModel.uses < ShareModel.max_uses)),
                    (
                        [*into_index, ShareModel.ends_at.set(USED_UP)],
                        same_grant & (ShareModel.uses >= ShareModel.max_uses),
                    ),
                ]
        _first_that_holds(model, attempts, NotFound("share not found"))

    def delete(self, grants: list[Grant]) -> None:
        """Delete each grant if it is still the one under its key (a newer grant to the same grantee stays)."""
        for grant in grants:
            model = ShareModel(_resource_key(grant.resource_type, grant.resource_id), grant.grantee.key)
            try:
                with conditional_write(NotFound("share not found")):
                    if grant.link is None:
                        model.delete(condition=ShareModel.share_id == grant.share_id)
                        continue
                    # A link's token stops resolving in the same step as its grant goes.
                    with transaction(self._region) as write:
                        write.delete(model, condition=ShareModel.share_id == grant.share_id)
                        write.delete(LinkTokenModel(_token_key(grant.link.token_hash), _POINTER_SORT))
            except NotFound:
                continue

    def received(
        self, grantees: list[Grantee], cursor: str | None, scope: str, page_size: int = 100
    ) -> Iterator[tuple[Grant, str]]:
        """Each grantee's grants in turn, newest first, read page_size at a time (the caller's page and one more,
        not DynamoDB's 1 MB default); a cursor names the grantee it stopped in."""
        keys = [grantee.key for grantee in grantees]
        start: dict[str, Any] | None = None
        first = 0
        if cursor:
            start = self._signer().open(cursor, scope, _RECEIVED_CURSOR)
            if start["grantee"]["S"] not in keys:
                raise ValidationError("cursor is not valid for this listing", field="cursor")
            first = keys.index(start["grantee"]["S"])
        for key in keys[first:]:
            entries = ShareModel.grantee_index.query(
                key, scan_index_forward=False, last_evaluated_key=start, page_size=page_size
            )
            start = None
            for model in entries:
                position = {name: {"S": getattr(model, name)} for name in _RECEIVED_CURSOR}
                yield to_grant(model), self._signer().sign(position, scope)

    def made_by(
        self, granted_by: str, cursor: str | None, scope: str, page_size: int = 100
    ) -> Iterator[tuple[Grant, str]]:
        """One principal's grants, newest first."""
        start = self._signer().open(cursor, scope, _MADE_CURSOR) if cursor else None
        models = ShareModel.grantor_index.query(
            granted_by, scan_index_forward=False, last_evaluated_key=start, page_size=page_size
        )
        for model in models:
            position = {name: {"S": getattr(model, name)} for name in _MADE_CURSOR}
            yield to_grant(model), self._signer().sign(position, scope)

    def _signer(self) -> CursorSigner:
        return CursorSigner(self._cursor_key.encode())

    def by_token(self, token_hash: str) -> Grant | None:
        """The link grant a token hash names: its pointer, then the grant itself, both read consistently."""
        try:
            pointer = LinkTokenModel.get(_token_key(token_hash), _POINTER_SORT, consistent_read=True)
            model = ShareModel.get(pointer.target_resource, pointer.target_grantee, consistent_read=True)
        except (LinkTokenModel.DoesNotExist, ShareModel.DoesNotExist):
            return None
        return to_grant(model) if model.token_hash == token_hash else None

    def count_link_use(self, grant: Grant, *, download: bool) -> None:
        """ADD one use (and one view or download) only while uses < max_uses, on the grant still stored. The use
        that spends the last one also moves the link to USED_UP in the ends index, in the same update."""
        counter = ShareModel.downloads if download else ShareModel.views
        model = ShareModel(_resource_key(grant.resource_type, grant.resource_id), grant.grantee.key)
        same_grant = ShareModel.share_id == grant.share_id
        count: list[Action] = [ShareModel.uses.add(1), counter.add(1)]
        limit = grant.link.max_uses if grant.link is not None else None
        if limit is None:
            uses_left = ShareModel.max_uses.does_not_exist() | (ShareModel.uses < ShareModel.max_uses)
            with conditional_write(NotFound(_NO_LINK)):
                model.update(actions=count, condition=same_grant & uses_left)
            return
        # max_uses never changes, so the grant as read tells which use is the last; uses may have grown since, so
        # the likelier case is tried first and the other after it.
        this_grant = same_grant & (ShareModel.max_uses == limit)
        last: _Attempt = (
            [*count, ShareModel.ends_shard.set(ends_shard(grant.share_id)), ShareModel.ends_at.set(USED_UP)],
            this_grant & (ShareModel.uses == limit - 1),
        )
        not_last: _Attempt = (count, this_grant & (ShareModel.uses < limit - 1))
        uses = grant.link.uses if grant.link is not None else 0
        _first_that_holds(model, [last, not_last] if uses + 1 >= limit else [not_last, last], NotFound(_NO_LINK))

    def record_link_failure(self, grant: Grant, now: datetime, window_seconds: int) -> None:
        """ADD one failure to a window that is still open, else open a new window at one; losing the race between
        the two retries, so concurrent failures are all counted."""
        model = ShareModel(_resource_key(grant.resource_type, grant.resource_id), grant.grantee.key)
        cutoff = now - timedelta(seconds=window_seconds)
        same_grant = ShareModel.share_id == grant.share_id
        open_window = same_grant & (ShareModel.failed_since >= cutoff)
        closed_window = same_grant & (ShareModel.failed_since.does_not_exist() | (ShareModel.failed_since < cutoff))
        attempts: list[tuple[list[Action], Any]] = [
            ([ShareModel.failed_attempts.add(1)], open_window),
            ([ShareModel.failed_attempts.set(1), ShareModel.failed_since.set(now)], closed_window),
        ]
        for _ in range(3):
            for actions, condition in attempts:
                try:
                    with conditional_write(Conflict("the throttle window changed")):
                        model.update(actions=actions, condition=condition)
                    return
                except Conflict:
                    continue
            if self.get(grant.share_id) is None:
                return  # revoked meanwhile: nothing is left to throttle
