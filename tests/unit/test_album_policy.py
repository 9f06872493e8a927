"""The album rules of the policy, and the position keys that order an album."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.albums import Album
from shared.domain.errors import NotFound
from shared.domain.grants import Grant, Grantee, GranteeType, Permission, ResourceType
from shared.domain.media import MediaItem
from shared.domain.ordering import key_after, key_between
from shared.domain.policy import (
    Action,
    AlbumAction,
    allowed_actions,
    allowed_album_actions,
    authorize_album,
    can,
)
from shared.domain.principal import Principal, Role

OWNER = Principal(sub="owner", username="olga", role=Role.USER)
STRANGER = Principal(sub="stranger", username="sam", role=Role.USER)
PARTNER = Principal(sub="partner", username="pat", role=Role.PARTNER, partner_org="acme")
OTHER_PARTNER = Principal(sub="gina", username="gina", role=Role.PARTNER, partner_org="globex")
ADMIN = Principal(sub="admin", username="ada", role=Role.ADMIN)
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _album() -> Album:
    return Album("a1", "owner", "Holidays", EPOCH, EPOCH)


def _grant(grantee: Grantee, *permissions: Permission, album_id: str = "a1", expires: datetime | None = None) -> Grant:
    return Grant(
        share_id="s1",
        resource_type=ResourceType.ALBUM,
        resource_id=album_id,
        owner_id="owner",
        grantee=grantee,
        permissions=frozenset(permissions) | {Permission.VIEW},
        granted_by="owner",
        created_at=EPOCH,
        expires_at=expires,
    )


TO_STRANGER = Grantee(GranteeType.USER, STRANGER.sub)
TO_ACME = Grantee(GranteeType.ORG, "acme")


def test_the_owner_may_do_everything_and_admins_never_curate_or_share() -> None:
    assert allowed_album_actions(OWNER, _album()) == frozenset(AlbumAction)
    assert allowed_album_actions(ADMIN, _album()) == {AlbumAction.READ, AlbumAction.UPDATE, AlbumAction.DELETE}


@pytest.mark.parametrize("caller", [STRANGER, PARTNER])
def test_others_see_not_found_exactly_like_a_missing_album(caller: Principal) -> None:
    assert allowed_album_actions(caller, _album()) == frozenset()
    with pytest.raises(NotFound) as refused:
        authorize_album(caller, AlbumAction.READ, _album())
    with pytest.raises(NotFound) as missing:
        authorize_album(OWNER, AlbumAction.READ, None)
    assert refused.value.message == missing.value.message


@pytest.mark.parametrize(
    ("permission", "actions"),
    [
        (Permission.VIEW, {AlbumAction.READ}),
        (Permission.DOWNLOAD, {AlbumAction.READ}),
        (Permission.EDIT, {AlbumAction.READ, AlbumAction.UPDATE}),
        (Permission.RESHARE, {AlbumAction.READ, AlbumAction.SHARE}),
    ],
)
def test_a_grant_gives_its_actions_and_never_curate_or_delete(
    permission: Permission, actions: set[AlbumAction]
) -> None:
    assert allowed_album_actions(STRANGER, _album(), [_grant(TO_STRANGER, permission)]) == actions


def test_org_grants_serve_their_partners_and_only_live_grants_on_this_album_count() -> None:
    assert allowed_album_actions(PARTNER, _album(), [_grant(TO_ACME)]) == {AlbumAction.READ}
    assert allowed_album_actions(OTHER_PARTNER, _album(), [_grant(TO_ACME)]) == frozenset()
    assert allowed_album_actions(STRANGER, _album(), [_grant(TO_STRANGER, album_id="a2")]) == frozenset()
    expired = _grant(TO_STRANGER, expires=EPOCH)
    assert allowed_album_actions(STRANGER, _album(), [expired], EPOCH) == frozenset()
    assert allowed_album_actions(STRANGER, _album(), [expired], EPOCH - timedelta(seconds=1)) == {AlbumAction.READ}


def test_an_album_grant_reaches_only_items_that_are_in_the_album() -> None:
    item = MediaItem("m1", "owner", "a.jpg", "image/jpeg", 10, "originals/owner/m1")
    grant = _grant(TO_STRANGER, Permission.DOWNLOAD)
    assert not can(STRANGER, Action.READ, item, [grant])
    item.album_ids = frozenset({"a1"})
    assert allowed_actions(STRANGER, item, [grant]) == {Action.READ, Action.DOWNLOAD}
    item.flagged = True
    assert allowed_actions(STRANGER, item, [grant]) == frozenset()


def test_position_keys_fit_between_any_two_and_appends_stay_short() -> None:
    rng = random.Random(7)
    keys = [key_after(None, EPOCH)]
    for _ in range(500):
        at = rng.randrange(len(keys) + 1)
        low, high = (keys[at - 1] if at else None), (keys[at] if at < len(keys) else None)
        key = key_between(low, high)
        assert (low is None or low < key) and (high is None or key < high)
        keys.insert(at, key)
    appended: str | None = None
    for step in range(1000):
        key = key_after(appended, EPOCH + timedelta(seconds=step))
        assert appended is None or appended < key
        appended = key
    assert len(appended) == 12
    # a clock behind the last key still appends after it
    assert key_after("zzzz", EPOCH) > "zzzz"
    with pytest.raises(ValueError):
        key_between("b", "a")
