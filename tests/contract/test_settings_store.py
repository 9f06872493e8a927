"""The versioned settings store: a change and its history entry are written together, or neither is."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.provision import load_template
from shared.adapters.dynamo.settings import DynamoSettingsStore, SettingsModel
from shared.domain.errors import Conflict
from shared.domain.settings import SettingsChange, SettingsHistoryPage, SystemSettings

REGION = "us-east-1"
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DEFAULTS = SystemSettings(trash_retention_days=12)


class MemorySettingsStore:
    """The store's contract in memory (for tests of what uses it)."""

    def __init__(self, defaults: SystemSettings) -> None:
        self._current = defaults
        self._changes: list[SettingsChange] = []

    def load(self) -> SystemSettings:
        return self._current

    def current(self) -> SystemSettings:
        return self._current

    def commit(self, settings: SystemSettings, change: SettingsChange) -> None:
        if self._current.version != change.version - 1:
            raise Conflict("the settings were changed meanwhile")
        self._current = settings
        self._changes.append(change)

    def history(self, limit: int, before_version: int | None) -> SettingsHistoryPage:
        older = [c for c in reversed(self._changes) if before_version is None or c.version < before_version]
        page = older[:limit]
        more = len(page) == limit and page[-1].version > 1
        return SettingsHistoryPage(page, page[-1].version if more else None)


@pytest.fixture(params=["memory", "dynamo"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield MemorySettingsStore(DEFAULTS)
        return
    props = load_template()["Resources"]["SettingsTable"]["Properties"]
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="contract-settings",
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
            BillingMode="PAY_PER_REQUEST",
        )
        yield DynamoSettingsStore("contract-settings", REGION, cache_seconds=0, defaults=DEFAULTS)


def a_change(version: int, minutes: int = 0, **changes: tuple[Any, Any]) -> SettingsChange:
    return SettingsChange(version, changes, "user-ada", "ada", AT + timedelta(minutes=minutes))


def test_an_empty_store_answers_its_defaults(store: Any) -> None:
    assert store.current() == DEFAULTS
    assert store.history(10, None) == SettingsHistoryPage([], None)


def test_a_change_stores_the_settings_and_its_record(store: Any) -> None:
    new = replace(DEFAULTS, allowed_content_types=("image/png",), version=1)
    store.commit(new, a_change(1, allowed_content_types=(list(DEFAULTS.allowed_content_types), ["image/png"])))
    assert store.current() == new
    [record] = store.history(10, None).changes
    assert (record.version, record.actor_id, record.actor_name, record.at) == (1, "user-ada", "ada", AT)
    assert record.changes["allowed_content_types"][1] == ["image/png"]


def test_a_change_on_a_replaced_version_writes_nothing(store: Any) -> None:
    first = replace(DEFAULTS, auto_describe=False, version=1)
    store.commit(first, a_change(1, auto_describe=(True, False)))
    # A second admin who read version 0 too: their change would also be version 1.
    with pytest.raises(Conflict):
        store.commit(
            replace(DEFAULTS, moderation_threshold=0.1, version=1), a_change(1, moderation_threshold=(0.6, 0.1))
        )
    with pytest.raises(Conflict):
        store.commit(replace(DEFAULTS, version=5), a_change(5, moderation_threshold=(0.6, 0.1)))
    assert store.current() == first
    assert [c.changes for c in store.history(10, None).changes] == [{"auto_describe": (True, False)}]


def test_history_pages_newest_first(store: Any) -> None:
    settings = DEFAULTS
    for version in range(1, 6):
        settings = replace(settings, trash_retention_days=version, version=version)
        store.commit(settings, a_change(version, version, trash_retention_days=(version - 1, version)))
    first = store.history(2, None)
    assert ([c.version for c in first.changes], first.before_version) == ([5, 4], 4)
    second = store.history(2, first.before_version)
    assert ([c.version for c in second.changes], second.before_version) == ([3, 2], 2)
    last = store.history(2, second.before_version)
    assert ([c.version for c in last.changes], last.before_version) == ([1], None)


def test_a_document_from_before_versioning_is_version_0() -> None:
    props = load_template()["Resources"]["SettingsTable"]["Properties"]
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="contract-settings",
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
            BillingMode="PAY_PER_REQUEST",
        )
        store = DynamoSettingsStore("contract-settings", REGION, cache_seconds=0, defaults=DEFAULTS)
        SettingsModel("system", values={"moderation_threshold": 0.2, "auto_describe": False}).save()
        legacy = store.current()
        assert legacy == replace(DEFAULTS, moderation_threshold=0.2, auto_describe=False)
        store.commit(replace(legacy, trash_retention_days=3, version=1), a_change(1, trash_retention_days=(12, 3)))
        assert store.current() == replace(legacy, trash_retention_days=3, version=1)
