"""The settings aggregate: admin-controlled pipeline settings, one item per settings document."""

from __future__ import annotations

import time
from dataclasses import asdict

from pynamodb.attributes import JSONAttribute, UnicodeAttribute
from pynamodb.models import Model

from shared.adapters.dynamo.conditions import bind
from shared.config import get_settings
from shared.domain.analysis import SystemSettings


class SettingsModel(Model):
    """The settings table."""

    class Meta:
        table_name = get_settings().settings_table
        region = get_settings().region

    name = UnicodeAttribute(hash_key=True)
    values = JSONAttribute()


class DynamoSettingsStore:
    """SettingsStore on the settings table, cached per container for a short while."""

    NAME = "system"

    def __init__(self, table_name: str, region: str, cache_seconds: float = 30.0) -> None:
        bind(SettingsModel, table_name, region)
        self._cache_seconds = cache_seconds
        self._cached: tuple[float, SystemSettings] | None = None

    def load(self) -> SystemSettings:
        """The saved settings, or the defaults."""
        now = time.monotonic()
        if self._cached and now - self._cached[0] < self._cache_seconds:
            return self._cached[1]
        try:
            values = SettingsModel.get(self.NAME, consistent_read=True).values or {}
            settings = SystemSettings(
                moderation_threshold=float(values.get("moderation_threshold", SystemSettings.moderation_threshold)),
                auto_describe=bool(values.get("auto_describe", SystemSettings.auto_describe)),
            )
        except SettingsModel.DoesNotExist:
            settings = SystemSettings()
        self._cached = (now, settings)
        return settings

    def save(self, settings: SystemSettings) -> None:
        """Replace the settings (and this container's cache): last writer wins, there is nothing to condition on."""
        SettingsModel(self.NAME, values=asdict(settings)).save()
        self._cached = (time.monotonic(), settings)
