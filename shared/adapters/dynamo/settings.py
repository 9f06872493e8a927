"""The settings aggregate: the current admin settings and, beside them, one item per recorded change.

The current document is the item `system` (its `version` counts changes). Change n is the item `system#v<n>`,
carrying `history_of = system` and `version = n` for the history index, which lists changes newest first with one
Query. A change writes both items in one transaction, conditioned on the version it replaces.
"""

from __future__ import annotations

import time
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from shared.adapters.dynamo.conditions import bind, conditional_write, transaction
from shared.config import Settings, get_settings
from shared.domain.errors import Conflict
from shared.domain.settings import SettingsChange, SettingsHistoryPage, SystemSettings


class HistoryIndex(GlobalSecondaryIndex["SettingsModel"]):
    """Recorded changes of one settings document by version (sparse: only change items carry history_of)."""

    class Meta:
        index_name = "history-index"
        projection = AllProjection()

    history_of = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(range_key=True)


class SettingsModel(Model):
    """The settings table (keys mirror infra/template.yaml)."""

    class Meta:
        table_name = get_settings().settings_table
        region = get_settings().region

    name = UnicodeAttribute(hash_key=True)
    values = JSONAttribute(null=True)
    version = NumberAttribute(null=True)
    # Change items only.
    history_of = UnicodeAttribute(null=True)
    changes = JSONAttribute(null=True)
    actor_id = UnicodeAttribute(null=True)
    actor_name = UnicodeAttribute(null=True)
    changed_at = UTCDateTimeAttribute(null=True)

    history_index = HistoryIndex()


def environment_defaults(settings: Settings) -> SystemSettings:
    """The settings an untouched install has: what its environment configures."""
    return SystemSettings(
        allowed_content_types=settings.allowed_content_types,
        max_image_bytes=settings.max_image_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        default_quota_bytes=settings.default_quota_bytes,
        description_provider=settings.description_provider,
        trash_retention_days=settings.trash_retention_days,
    )


_STORED = tuple(f.name for f in fields(SystemSettings) if f.name != "version")


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _settings_from(values: dict[str, Any], version: int, defaults: SystemSettings) -> SystemSettings:
    """Stored values over the defaults; a field never stored keeps its default (older documents had two)."""
    present = {name: values[name] for name in _STORED if name in values}
    if "allowed_content_types" in present:
        present["allowed_content_types"] = tuple(present["allowed_content_types"])
    for name in ("max_image_bytes", "max_upload_bytes", "default_quota_bytes", "trash_retention_days"):
        if name in present:
            present[name] = int(present[name])
    if "moderation_threshold" in present:
        present["moderation_threshold"] = float(present["moderation_threshold"])
    return SystemSettings(**{**asdict(defaults), **present, "version": version})


class DynamoSettingsStore:
    """VersionedSettingsStore on the settings table; load() is cached per container for a short while."""

    NAME = "system"

    def __init__(
        self,
        table_name: str,
        region: str,
        cache_seconds: float = 30.0,
        *,
        defaults: SystemSettings | None = None,
    ) -> None:
        bind(SettingsModel, table_name, region)
        self._region = region
        self._cache_seconds = cache_seconds
        self._defaults = defaults or SystemSettings()
        self._cached: tuple[float, SystemSettings] | None = None

    def load(self) -> SystemSettings:
        """The saved settings, or the defaults (read again once the cache is older than cache_seconds)."""
        now = time.monotonic()
        if self._cached and now - self._cached[0] < self._cache_seconds:
            return self._cached[1]
        return self.current()

    def current(self) -> SystemSettings:
        """The saved settings read now (and cached)."""
        try:
            model = SettingsModel.get(self.NAME, consistent_read=True)
            settings = _settings_from(model.values or {}, int(model.version or 0), self._defaults)
        except SettingsModel.DoesNotExist:
            settings = self._defaults
        self._cached = (time.monotonic(), settings)
        return settings

    def commit(self, settings: SystemSettings, change: SettingsChange) -> None:
        """The new current document and its change record in one transaction, if the version is still the one
        the change replaces; Conflict (nothing written) when another admin changed the settings first."""
        replaced = change.version - 1
        values = {name: _jsonable(getattr(settings, name)) for name in _STORED}
        # A document from before versioning has no version: it is version 0.
        still_current = (
            SettingsModel.version.does_not_exist() | (SettingsModel.version == 0)
            if replaced == 0
            else SettingsModel.version == replaced
        )
        record = SettingsModel(
            f"{self.NAME}#v{change.version:010d}",
            version=change.version,
            history_of=self.NAME,
            changes={
                name: {"old": _jsonable(old), "new": _jsonable(new)} for name, (old, new) in change.changes.items()
            },
            actor_id=change.actor_id,
            actor_name=change.actor_name,
            changed_at=change.at,
        )
        refusal = Conflict("the settings were changed meanwhile; reload them and apply your change again")
        with conditional_write(refusal), transaction(self._region) as write:
            write.save(SettingsModel(self.NAME, values=values, version=change.version), condition=still_current)
            write.save(record, condition=SettingsModel.name.does_not_exist())
        self._cached = (time.monotonic(), settings)

    def history(self, limit: int, before_version: int | None) -> SettingsHistoryPage:
        """Changes newest first, one Query on the history index."""
        condition = SettingsModel.version < before_version if before_version is not None else None
        page = list(
            SettingsModel.history_index.query(
                self.NAME, range_key_condition=condition, scan_index_forward=False, limit=limit
            )
        )
        changes = [_change_from(model) for model in page[:limit]]
        more = len(changes) == limit and changes[-1].version > 1
        return SettingsHistoryPage(changes, changes[-1].version if more else None)


def _change_from(model: SettingsModel) -> SettingsChange:
    recorded: dict[str, Any] = model.changes or {}
    at: datetime = model.changed_at
    return SettingsChange(
        version=int(model.version or 0),
        changes={name: (pair.get("old"), pair.get("new")) for name, pair in recorded.items()},
        actor_id=model.actor_id or "",
        actor_name=model.actor_name or "",
        at=at,
    )
