"""Filenames, keys and the authorization policy."""

from __future__ import annotations

import pytest

from shared.domain.errors import NotFound
from shared.domain.media import MediaItem, original_key, parse_original_key, rendition_key, sanitize_filename
from shared.domain.policy import Action, authorize
from shared.domain.principal import Principal, Role


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("cat.jpg", "cat.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\holiday.png", "holiday.png"),
        ("evil\x00name\n.jpg", "evilname.jpg"),
        ("..hidden.jpg", "hidden.jpg"),
        ("   ", ""),
        ("/", ""),
    ],
)
def test_sanitize_filename_strips_paths_and_control_characters(raw: str, clean: str) -> None:
    assert sanitize_filename(raw) == clean


def test_sanitize_filename_caps_length_and_keeps_extension() -> None:
    cleaned = sanitize_filename("a" * 1000 + ".jpeg")
    assert len(cleaned) == 255
    assert cleaned.endswith(".jpeg")


def test_original_keys_round_trip_and_other_keys_are_ignored() -> None:
    key = original_key("owner-1", "abc123")
    assert parse_original_key(key) == ("owner-1", "abc123")
    assert parse_original_key(rendition_key("owner-1", "abc123", "thumbnail", "webp")) is None
    assert parse_original_key("originals/owner-1/abc/extra") is None
    assert parse_original_key("originals//abc") is None


def _item(owner: str) -> MediaItem:
    return MediaItem(media_id="m1", owner_id=owner, filename="a.jpg", content_type="image/jpeg", size=1, object_key="k")


def test_owner_and_admin_may_read_others_get_not_found() -> None:
    owner = Principal(sub="u1", username="alice", role=Role.USER)
    other = Principal(sub="u2", username="bob", role=Role.USER)
    admin = Principal(sub="u3", username="ada", role=Role.ADMIN)
    item = _item("u1")
    assert authorize(owner, Action.READ, item) is item
    assert authorize(admin, Action.READ, item) is item
    with pytest.raises(NotFound) as denied:
        authorize(other, Action.READ, item)
    with pytest.raises(NotFound) as missing:
        authorize(owner, Action.READ, None)
    assert denied.value.message == missing.value.message


def test_principal_context_is_flat_and_round_trips() -> None:
    principal = Principal(sub="u1", username="pat", role=Role.PARTNER, email="p@x.test", partner_org="acme")
    context = principal.to_context()
    assert all(isinstance(v, str) for v in context.values())
    assert Principal.from_context(context) == principal
