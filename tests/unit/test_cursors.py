"""Listing cursors: signed, bound to their scope, and refused as a 400 (ValidationError) when anything differs."""

from __future__ import annotations

import pytest

from shared.adapters.cursors import CursorSigner
from shared.config import Settings
from shared.domain.errors import ValidationError

POSITION = {
    "owner_id": {"S": "user-alice"},
    "media_id": {"S": "0" * 32},
    "created_at": {"S": "2024-07-14T19:00:00.000000+0000"},
}
ATTRIBUTES = frozenset(POSITION)


def test_a_cursor_opens_back_into_its_position_in_its_own_scope() -> None:
    signer = CursorSigner(b"k" * 32)
    token = signer.sign(POSITION, "alice|created|desc")
    assert signer.open(token, "alice|created|desc", ATTRIBUTES) == POSITION


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t[:-1],
        lambda t: t[:10] + ("A" if t[10] != "A" else "B") + t[11:],
        lambda t: t.split(".")[0],
        lambda t: "",
        lambda t: t + "x",
    ],
)
def test_a_changed_cursor_is_refused(change: object) -> None:
    signer = CursorSigner(b"k" * 32)
    token = signer.sign(POSITION, "scope")
    with pytest.raises(ValidationError):
        signer.open(change(token), "scope", ATTRIBUTES)  # type: ignore[operator]


def test_a_cursor_of_another_scope_key_or_index_is_refused() -> None:
    token = CursorSigner(b"k" * 32).sign(POSITION, "scope")
    with pytest.raises(ValidationError):
        CursorSigner(b"k" * 32).open(token, "other scope", ATTRIBUTES)
    with pytest.raises(ValidationError):
        CursorSigner(b"j" * 32).open(token, "scope", ATTRIBUTES)
    with pytest.raises(ValidationError):
        CursorSigner(b"k" * 32).open(token, "scope", frozenset({"owner_id", "media_id", "taken_sort"}))


def test_the_dev_key_exists_only_on_local_and_test_stages() -> None:
    assert Settings(stage="local").cursor_key
    assert Settings(stage="test").cursor_key
    assert Settings(stage="prod").cursor_key == ""
    assert Settings(stage="prod", cursor_signing_key="from-secrets-manager").cursor_key == "from-secrets-manager"
    with pytest.raises(ValueError, match="16 bytes"):
        CursorSigner(b"short")
