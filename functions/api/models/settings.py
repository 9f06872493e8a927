"""The admin settings: current values, versioned changes, their history, and per-account quotas."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from functions.api.models.common import Body, Query, Reply, Timestamp
from shared.domain.settings import (
    KNOWN_CONTENT_TYPES,
    MAX_FILE_BYTES,
    MAX_HISTORY_PAGE,
    MAX_QUOTA_BYTES,
    MAX_RETENTION_DAYS,
    SETTING_NAMES,
    DescriptionProvider,
    SettingsChange,
    SettingsHistoryPage,
    SystemSettings,
)


class Settings(Reply):
    """The current settings and their version (send it back with a change)."""

    version: int = Field(ge=0, description="changes so far; a change must name the version it replaces")
    moderation_threshold: float = Field(ge=0, le=1, description="items scoring at or above this are flagged")
    auto_describe: bool = Field(description="describe every newly ready item")
    allowed_content_types: list[str] = Field(description="content types uploads may declare")
    max_image_bytes: int = Field(description="largest image upload")
    max_upload_bytes: int = Field(description="largest upload of any other kind (videos)")
    default_quota_bytes: int = Field(description="storage quota of accounts without their own")
    description_provider: DescriptionProvider = Field(description="who writes AI descriptions")
    trash_retention_days: int = Field(description="days an item stays in the trash before it is deleted for good")

    @classmethod
    def of(cls, settings: SystemSettings) -> Settings:
        """The response for the settings."""
        return cls(
            version=settings.version,
            moderation_threshold=settings.moderation_threshold,
            auto_describe=settings.auto_describe,
            allowed_content_types=list(settings.allowed_content_types),
            max_image_bytes=settings.max_image_bytes,
            max_upload_bytes=settings.max_upload_bytes,
            default_quota_bytes=settings.default_quota_bytes,
            description_provider=DescriptionProvider(settings.description_provider),
            trash_retention_days=settings.trash_retention_days,
        )


class SettingsUpdate(Body):
    """Change some settings; version must be the current one (a stale version is refused with 409)."""

    version: int = Field(ge=0, le=2**53, description="the version of the settings this change was made on")
    moderation_threshold: float | None = Field(default=None, ge=0, le=1)
    auto_describe: bool | None = None
    allowed_content_types: list[str] | None = Field(
        default=None, min_length=1, max_length=len(KNOWN_CONTENT_TYPES), description="some of the known types"
    )
    max_image_bytes: int | None = Field(default=None, gt=0, le=MAX_FILE_BYTES)
    max_upload_bytes: int | None = Field(default=None, gt=0, le=MAX_FILE_BYTES)
    default_quota_bytes: int | None = Field(default=None, gt=0, le=MAX_QUOTA_BYTES)
    description_provider: DescriptionProvider | None = None
    trash_retention_days: int | None = Field(default=None, ge=1, le=MAX_RETENTION_DAYS)

    @field_validator("allowed_content_types")
    @classmethod
    def _known_types(cls, value: list[str] | None) -> list[str] | None:
        unknown = [t for t in value or () if t not in KNOWN_CONTENT_TYPES]
        if unknown:
            raise ValueError(f"unknown content type(s) {unknown}; known: {', '.join(KNOWN_CONTENT_TYPES)}")
        return value

    @model_validator(mode="after")
    def _changes_something(self) -> SettingsUpdate:
        if not self.model_fields_set - {"version"}:
            raise ValueError(f"send version and at least one of: {', '.join(SETTING_NAMES)}")
        return self

    def values(self) -> dict[str, Any]:
        """The settings this change gives a value (null means: unchanged)."""
        given = {name: getattr(self, name) for name in self.model_fields_set - {"version"}}
        values = {name: value for name, value in given.items() if value is not None}
        if "allowed_content_types" in values:
            values["allowed_content_types"] = tuple(dict.fromkeys(values["allowed_content_types"]))
        if "description_provider" in values:
            values["description_provider"] = values["description_provider"].value
        return values


class FieldChangeView(Reply):
    """A setting's value before and after a change."""

    old: Any
    new: Any


class Changer(Reply):
    """The admin who made a change."""

    user_id: str
    username: str


class SettingsChangeView(Reply):
    """One recorded change."""

    version: int = Field(description="the version this change produced")
    changes: dict[str, FieldChangeView]
    changed_by: Changer
    changed_at: Timestamp

    @classmethod
    def of(cls, change: SettingsChange) -> SettingsChangeView:
        """The response for a change."""
        return cls(
            version=change.version,
            changes={name: FieldChangeView(old=old, new=new) for name, (old, new) in change.changes.items()},
            changed_by=Changer(user_id=change.actor_id, username=change.actor_name),
            changed_at=change.at,
        )


class SettingsHistory(Reply):
    """Changes, newest first."""

    changes: list[SettingsChangeView]
    next_cursor: str | None = Field(description="pass back as cursor for the next page; null at the end")

    @classmethod
    def of(cls, page: SettingsHistoryPage) -> SettingsHistory:
        """The response for a page of changes."""
        cursor = str(page.before_version) if page.before_version is not None else None
        return cls(changes=[SettingsChangeView.of(c) for c in page.changes], next_cursor=cursor)


class HistorySearch(Query):
    """Paging of GET /admin/settings/history."""

    limit: int = Field(default=20, ge=1, le=MAX_HISTORY_PAGE, description="page size")
    cursor: str | None = Field(
        default=None, pattern=r"^[1-9][0-9]{0,15}$", description="next_cursor of the previous page"
    )

    @property
    def before_version(self) -> int | None:
        """Only changes older than this version."""
        return int(self.cursor) if self.cursor else None


class QuotaChange(Body):
    """An account's own storage quota, or null to return it to the default quota."""

    quota_bytes: int | None = Field(gt=0, le=MAX_QUOTA_BYTES)
