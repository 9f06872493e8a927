"""Changing the settings: on the version last read, validated, recorded; consumers follow the current values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.adapters.analysis import LocalAnalyst
from shared.domain.errors import Conflict, ValidationError
from shared.domain.maintenance import Janitor
from shared.domain.media import MediaItem, MediaStatus, original_key
from shared.domain.settings import SettingsAdministration, SystemSettings
from tests.contract.test_settings_store import MemorySettingsStore
from tests.support.images import jpeg_bytes
from tests.unit.fakes import MemoryLedger, MemoryRepository, MemoryStorage

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _admin() -> tuple[SettingsAdministration, MemorySettingsStore]:
    store = MemorySettingsStore(SystemSettings())
    return SettingsAdministration(store, clock=lambda: NOW), store


def test_a_change_records_only_what_differs() -> None:
    admin, store = _admin()
    changed = admin.change("user-ada", "ada", 0, {"auto_describe": False, "moderation_threshold": 0.6})
    assert (changed.version, changed.auto_describe) == (1, False)
    [record] = store.history(10, None).changes
    assert (record.version, dict(record.changes), record.actor_name, record.at) == (
        1,
        {"auto_describe": (True, False)},
        "ada",
        NOW,
    )
    assert admin.change("user-ada", "ada", 1, {"auto_describe": False}) == changed  # nothing to record
    assert len(store.history(10, None).changes) == 1


def test_a_stale_version_or_an_invalid_value_changes_nothing() -> None:
    admin, store = _admin()
    with pytest.raises(Conflict):
        admin.change("user-ada", "ada", 3, {"auto_describe": False})
    for values, field in (
        ({"trash_retention_days": 0}, "trash_retention_days"),
        ({"allowed_content_types": ("image/avif",)}, "allowed_content_types"),
        ({"description_provider": "gpt"}, "description_provider"),
        ({"colour": "blue"}, "colour"),
    ):
        with pytest.raises(ValidationError) as refused:
            admin.change("user-ada", "ada", 0, values)
        assert refused.value.field == field
    assert store.current() == SystemSettings()


def test_the_janitor_empties_the_trash_by_the_retention_in_force() -> None:
    repository, settings = MemoryRepository(MemoryLedger()), [SystemSettings()]
    trashed = NOW - timedelta(days=10)
    repository.create(
        MediaItem(
            "m1",
            "alice",
            "a.jpg",
            "image/jpeg",
            10,
            original_key("alice", "m1"),
            status=MediaStatus.READY,
            trashed_at=trashed,
            created_at=trashed,
            updated_at=trashed,
        )
    )
    purged: list[str] = []
    janitor = Janitor(
        repository,
        MemoryStorage(),
        lambda item: purged.append(item.media_id),
        upload_max_age=timedelta(hours=24),
        trash_retention=lambda: timedelta(days=settings[0].trash_retention_days),
    )
    assert janitor.sweep(NOW)["purged_trash"] == 0  # 10 days in the trash, 30 kept
    settings[0] = SystemSettings(trash_retention_days=7)
    assert janitor.sweep(NOW)["purged_trash"] == 1
    assert purged == ["m1"]


def test_the_description_provider_in_force_writes_the_description() -> None:
    from tests.unit.test_local_analyst import _Bedrock

    provider, made = ["offline"], []

    def bedrock_client() -> _Bedrock:
        made.append(_Bedrock())
        return made[-1]

    analyst = LocalAnalyst(
        moderation_provider="none",
        description_provider=lambda: provider[0],
        bedrock_factory=bedrock_client,
        bedrock_model_id="m",
    )
    item = MediaItem(media_id="m1", owner_id="u1", filename="a.jpg", content_type="image/jpeg", size=1, object_key="k")
    image = jpeg_bytes(64, 48)
    assert analyst.describe(item, image, threshold=0.6)["provider"] == "offline"
    assert made == []  # no Bedrock client until an admin chooses Bedrock
    provider[0] = "bedrock"
    assert analyst.describe(item, image, threshold=0.6)["text"] == "A logo on a plain background."
    analyst.describe(item, image, threshold=0.6)
    assert len(made) == 1
