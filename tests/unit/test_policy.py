"""The one authorization policy: who may do what to an item."""

from __future__ import annotations

import pytest

from shared.domain.errors import NotFound
from shared.domain.media import MediaItem
from shared.domain.policy import Action, allowed_actions, authorize, can
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
