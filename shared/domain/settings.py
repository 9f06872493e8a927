"""Admin-controlled settings of the vault: versioned, every change recorded with who, when, old and new values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from shared.domain.errors import Conflict, ValidationError

# What the sniffing pipeline (shared/domain/sniff.py) recognises: an admin can allow only these.
KNOWN_CONTENT_TYPES: tuple[str, ...] = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "image/heic",
    "image/heif",
    "video/mp4",
    "video/quicktime",
    "video/webm",
)
# Upper bounds an admin cannot go past: S3's single-object ceiling, and a quota no one account should need.
MAX_FILE_BYTES = 5 * 1024**4
MAX_QUOTA_BYTES = 100 * 1024**4
MAX_RETENTION_DAYS = 3650
MAX_HISTORY_PAGE = 100


class DescriptionProvider(StrEnum):
    """Who writes AI descriptions (shared/adapters/analysis.py LocalAnalyst)."""

    OFFLINE = "offline"
    BEDROCK = "bedrock"


@dataclass(frozen=True)
class SystemSettings:
    """Admin-controlled switches and limits; the defaults here match shared/config.py's (the store takes the
    environment's as its defaults, so an untouched install behaves as configured). version 0: never changed."""

    moderation_threshold: float = 0.6
    auto_describe: bool = True
    allowed_content_types: tuple[str, ...] = KNOWN_CONTENT_TYPES
    max_image_bytes: int = 200 * 1024 * 1024
    max_upload_bytes: int = 5 * 1024 * 1024 * 1024
    default_quota_bytes: int = 10 * 1024 * 1024 * 1024
    description_provider: str = DescriptionProvider.OFFLINE.value
    trash_retention_days: int = 30
    version: int = 0

    def check(self) -> SystemSettings:
        """These settings, or ValidationError naming the first field out of range."""
        if not 0 <= self.moderation_threshold <= 1:
            raise ValidationError("moderation_threshold must be between 0 and 1", field="moderation_threshold")
        unknown = [t for t in self.allowed_content_types if t not in KNOWN_CONTENT_TYPES]
        if not self.allowed_content_types or unknown:
            raise ValidationError(
                f"allowed_content_types must list some of: {', '.join(KNOWN_CONTENT_TYPES)}",
                field="allowed_content_types",
            )
        for name, ceiling in (
            ("max_image_bytes", MAX_FILE_BYTES),
            ("max_upload_bytes", MAX_FILE_BYTES),
            ("default_quota_bytes", MAX_QUOTA_BYTES),
        ):
            if not 0 < getattr(self, name) <= ceiling:
                raise ValidationError(f"{name} must be between 1 and {ceiling}", field=name)
        if self.description_provider not in {p.value for p in DescriptionProvider}:
            raise ValidationError(
                f"description_provider must be one of: {', '.join(p.value for p in DescriptionProvider)}",
                field="description_provider",
            )
        if not 1 <= self.trash_retention_days <= MAX_RETENTION_DAYS:
            raise ValidationError(
                f"trash_retention_days must be between 1 and {MAX_RETENTION_DAYS}", field="trash_retention_days"
            )
        return self


SETTING_NAMES: tuple[str, ...] = tuple(f.name for f in fields(SystemSettings) if f.name != "version")


@dataclass(frozen=True)
class SettingsChange:
    """One saved change: the version it produced, each changed field's (old, new) value, who and when."""

    version: int
    changes: Mapping[str, tuple[Any, Any]]
    actor_id: str
    actor_name: str
    at: datetime


@dataclass(frozen=True)
class SettingsHistoryPage:
    """Changes newest first; before_version for the next page (None at the end)."""

    changes: list[SettingsChange]
    before_version: int | None


class VersionedSettingsStore(Protocol):
    """Where the settings and their history live."""

    def load(self) -> SystemSettings:
        """The current settings (possibly cached for a short while)."""

    def current(self) -> SystemSettings:
        """The current settings, read now."""

    def commit(self, settings: SystemSettings, change: SettingsChange) -> None:
        """Store settings (version change.version) and change together, only if the stored version is still
        change.version - 1; Conflict otherwise, and nothing is written."""

    def history(self, limit: int, before_version: int | None) -> SettingsHistoryPage:
        """Changes newest first, only those older than before_version when given."""


class SettingsAdministration:
    """Admins read and change the settings; every change is recorded."""

    def __init__(
        self, store: VersionedSettingsStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._store = store
        self._clock = clock

    def current(self) -> SystemSettings:
        """The settings as stored now."""
        return self._store.current()

    def change(
        self, actor_id: str, actor_name: str, expected_version: int, values: Mapping[str, Any]
    ) -> SystemSettings:
        """Apply values over the current settings if expected_version is still current (Conflict if not)."""
        unknown = sorted(set(values) - set(SETTING_NAMES))
        if unknown:
            raise ValidationError(f"unknown setting(s): {', '.join(unknown)}", field=unknown[0])
        current = self._store.current()
        if current.version != expected_version:
            raise Conflict(f"the settings are at version {current.version}; reload them and apply your change again")
        wanted = replace(current, **values).check()
        changes = {
            name: (getattr(current, name), getattr(wanted, name))
            for name in SETTING_NAMES
            if getattr(current, name) != getattr(wanted, name)
        }
        if not changes:
            return current
        version = current.version + 1
        saved = replace(wanted, version=version)
        self._store.commit(saved, SettingsChange(version, changes, actor_id, actor_name, self._clock()))
        return saved

    def history(self, limit: int, before_version: int | None) -> SettingsHistoryPage:
        """Recorded changes, newest first."""
        if not 1 <= limit <= MAX_HISTORY_PAGE:
            raise ValidationError(f"limit must be between 1 and {MAX_HISTORY_PAGE}", field="limit")
        return self._store.history(limit, before_version)
