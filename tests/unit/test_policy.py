"""The one authorization policy: who may do what to an item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.errors import NotFound
from shared.domain.grants import Grant, Grantee, GranteeType, Permission, ResourceType
from shared.domain.media import MediaItem, MediaStatus
from shared.domain.policy import Action, allowed_actions, authorize, can, needs_grants
from shared.domain.principal import Principal, Role

OWNER = Principal(sub="owner", username="olga", role=Role.USER)
STRANGER = Principal(sub="stranger", username="sam", role=Role.USER)
PARTNER = Principal(sub="partner", username="pat", role=Role.PARTNER, partner_org="acme")
ADMIN = Principal(sub="admin", username="ada", role=Role.ADMIN)


def _item() -> MediaItem:
    return MediaItem("m1", "owner", "a.jpg", "image/jpeg", 10, "originals/owner/m1")


@pytest.mark.parametrize("action", list(Action))
def test_the_owner_may_do_everything(action: Action) -> None:
    assert can(OWNER, action, _item())


@pytest.mark.parametrize("caller", [STRANGER, PARTNER])
@pytest.mark.parametrize("action", list(Action))
def test_others_may_do_nothing_and_see_not_found(caller: Principal, action: Action) -> None:
    assert not can(caller, action, _item())
    with pytest.raises(NotFound) as raised:
        authorize(caller, action, _item())
    # The same answer as for an id that does not exist: nothing tells the two apart.
    with pytest.raises(NotFound) as missing:
        authorize(OWNER, action, None)
    assert raised.value.message == missing.value.message


def test_admins_review_and_maintain_but_never_act_in_the_owners_name() -> None:
    allowed = allowed_actions(ADMIN, _item())
    assert {Action.READ, Action.DOWNLOAD, Action.UPDATE, Action.DELETE, Action.PURGE, Action.DESCRIBE} <= allowed
    for action in (Action.UPLOAD, Action.VERSION, Action.SHARE):
        assert not can(ADMIN, action, _item()), action


def test_an_admins_own_item_is_theirs_in_full() -> None:
    item = _item()
    item.owner_id = ADMIN.sub
    assert allowed_actions(ADMIN, item) == frozenset(Action)


def _grant(
    grantee: Grantee, *permissions: Permission, expires_at: datetime | None = None, media_id: str = "m1"
) -> Grant:
    return Grant(
        share_id="s1",
        resource_type=ResourceType.MEDIA,
        resource_id=media_id,
        owner_id="owner",
        grantee=grantee,
        permissions=frozenset(permissions) | {Permission.VIEW},
        granted_by="owner",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        expires_at=expires_at,
    )


TO_STRANGER = Grantee(GranteeType.USER, STRANGER.sub)
TO_ACME = Grantee(GranteeType.ORG, "acme")


@pytest.mark.parametrize(
    ("permission", "action"),
    [
        (Permission.VIEW, Action.READ),
        (Permission.DOWNLOAD, Action.DOWNLOAD),
        (Permission.EDIT, Action.UPDATE),
        (Permission.RESHARE, Action.SHARE),
    ],
)
def test_each_permission_allows_its_action_and_nothing_of_the_owners(permission: Permission, action: Action) -> None:
    allowed = allowed_actions(STRANGER, _item(), [_grant(TO_STRANGER, permission)])
    assert allowed == {Action.READ, action}
    assert not allowed & {Action.DELETE, Action.PURGE, Action.UPLOAD, Action.VERSION, Action.DESCRIBE}


def test_an_organisation_grant_serves_its_partners_only() -> None:
    grants = [_grant(TO_ACME, Permission.DOWNLOAD)]
    assert can(PARTNER, Action.DOWNLOAD, _item(), grants)
    other_org = Principal(sub="gina", username="gina", role=Role.PARTNER, partner_org="globex")
    not_a_partner = Principal(sub="u", username="u", role=Role.USER, partner_org="acme")
    assert allowed_actions(other_org, _item(), grants) == frozenset()
    assert allowed_actions(not_a_partner, _item(), grants) == frozenset()


def test_grants_of_others_of_other_items_or_expired_allow_nothing() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert allowed_actions(PARTNER, _item(), [_grant(TO_STRANGER, Permission.EDIT)], now) == frozenset()
    assert allowed_actions(STRANGER, _item(), [_grant(TO_STRANGER, media_id="m2")], now) == frozenset()
    expired = _grant(TO_STRANGER, expires_at=now)
    assert allowed_actions(STRANGER, _item(), [expired], now) == frozenset()
    assert allowed_actions(STRANGER, _item(), [expired], now - timedelta(seconds=1)) == {Action.READ}


@pytest.mark.parametrize("moderated", ["flagged", "rejected", "trashed"])
def test_moderated_or_trashed_items_are_never_served_through_a_grant(moderated: str) -> None:
    item = _item()
    if moderated == "flagged":
        item.flagged = True
    elif moderated == "rejected":
        item.status = MediaStatus.REJECTED
    else:
        item.trashed_at = datetime(2026, 1, 1, tzinfo=UTC)
    grants = [_grant(TO_STRANGER, *Permission)]
    with pytest.raises(NotFound):
        authorize(STRANGER, Action.READ, item, grants)
    assert authorize(OWNER, Action.READ, item) is item
    assert authorize(ADMIN, Action.READ, item) is item


def test_owner_and_admin_rules_do_not_depend_on_grants() -> None:
    assert not needs_grants(OWNER, _item())
    assert not needs_grants(ADMIN, _item())
    assert needs_grants(STRANGER, _item())
    assert not needs_grants(STRANGER, None)
