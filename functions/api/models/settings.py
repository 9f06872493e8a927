"""The pipeline's admin settings."""

from __future__ import annotations

import dataclasses

from pydantic import Field, model_validator

from functions.api.models.common import Body, Reply
from shared.domain.analysis import SystemSettings


class Settings(Reply):
    """The current settings."""

    moderation_threshold: float = Field(ge=0, le=1, description="items scoring at or above this are flagged")
    auto_describe: bool = Field(description="describe every newly ready item")

    @classmethod
    def of(cls, settings: SystemSettings) -> Settings:
        """The response for the settings."""
        return cls(moderation_threshold=settings.moderation_threshold, auto_describe=settings.auto_describe)


class SettingsChange(Body):
    """Change one or both settings."""

    moderation_threshold: float | None = Field(default=None, ge=0, le=1)
    auto_describe: bool | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> SettingsChange:
        if not self.model_fields_set:
            raise ValueError("send moderation_threshold (0..1) and/or auto_describe (true/false)")
        return self

    def applied_to(self, current: SystemSettings) -> SystemSettings:
        """current with the given fields changed."""
        changes = self.model_dump(include=self.model_fields_set, exclude_none=True)
        return dataclasses.replace(current, **changes)
