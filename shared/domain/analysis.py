"""After processing: moderation (flagging) and AI descriptions, asynchronous and retryable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from shared.domain.errors import Conflict, ValidationError
from shared.domain.media import MediaItem, MediaStatus
from shared.domain.policy import Action, authorize
from shared.domain.principal import Principal


class Task(StrEnum):
    """What the analyzer can be asked to do."""

    MODERATE = "moderate"
    DESCRIBE = "describe"


@dataclass(frozen=True)
class SystemSettings:
    """Admin-controlled switches of the pipeline."""

    moderation_threshold: float = 0.6
    auto_describe: bool = True

    def to_dict(self) -> dict[str, Any]:
        """As the admin API shows it."""
        return {"moderation_threshold": self.moderation_threshold, "auto_describe": self.auto_describe}

    @classmethod
    def parse(cls, body: Any, current: SystemSettings) -> SystemSettings:
        """An admin's change: only known fields, each validated."""
        if not isinstance(body, dict) or not body or set(body) - {"moderation_threshold", "auto_describe"}:
            raise ValidationError("send moderation_threshold (0..1) and/or auto_describe (true/false)")
        threshold = body.get("moderation_threshold", current.moderation_threshold)
        auto = body.get("auto_describe", current.auto_describe)
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
            raise ValidationError("moderation_threshold must be a number from 0 to 1")
        if not isinstance(auto, bool):
            raise ValidationError("auto_describe must be true or false")
        return cls(moderation_threshold=float(threshold), auto_describe=auto)


class SettingsStore(Protocol):
    """Where the system settings live."""

    def load(self) -> SystemSettings:
        """The current settings (defaults when never saved)."""

    def save(self, settings: SystemSettings) -> None:
        """Replace the settings."""


class AnalysisRequests(Protocol):
    """The analyzer's inbox."""

    def request(self, media_id: str, tasks: list[Task]) -> None:
        """Ask for tasks on an item."""


class ContentAnalyst(Protocol):
    """Moderation and description providers behind one face."""

    def moderate(self, image: bytes) -> dict[str, Any]:
        """{"score", "labels", "provider", "model"} for a rendition's bytes."""

    def describe(self, item: MediaItem, image: bytes | None, threshold: float) -> dict[str, Any]:
        """{"text", "provider", "model", "generated_at"} from what processing found (and the image).

        threshold is the admin's current moderation threshold: what is flagged is described as sensitive.
        """


class AnalysisRepository(Protocol):
    """The parts of the media repository analysis writes."""

    def get(self, media_id: str) -> MediaItem | None:
        """The item, or None."""

    def save_analysis(
        self,
        media_id: str,
        *,
        moderation: dict[str, Any] | None = None,
        flagged: bool | None = None,
        ai_description: dict[str, Any] | None = None,
    ) -> None:
        """Record analysis results on an existing item."""


def analysis_image_key(item: MediaItem) -> str:
    """The rendition analysis looks at: the photo's preview or the video's poster."""
    for name in ("preview", "poster", "thumbnail"):
        if name in item.renditions:
            return item.renditions[name].key
    return ""


class AnalysisOnReady:
    """What a newly ready item is queued for: moderation always, a description when auto_describe is on."""

    def __init__(self, settings: SettingsStore, requests: AnalysisRequests) -> None:
        self._settings = settings
        self._requests = requests

    def __call__(self, item: MediaItem) -> None:
        tasks = [Task.MODERATE, Task.DESCRIBE] if self._settings.load().auto_describe else [Task.MODERATE]
        self._requests.request(item.media_id, tasks)


class MediaAnalyzer:
    """Runs analysis tasks on ready items."""

    def __init__(
        self,
        repository: AnalysisRepository,
        read_rendition: Callable[[str], bytes],
        analyst: ContentAnalyst,
        settings: SettingsStore,
    ) -> None:
        self._repository = repository
        self._read = read_rendition
        self._analyst = analyst
        self._settings = settings

    def analyze(self, media_id: str, tasks: list[Task]) -> list[Task]:
        """Run the tasks that still apply; the ones done."""
        item = self._repository.get(media_id)
        if item is None or item.status is not MediaStatus.READY:
            return []
        key = analysis_image_key(item)
        image = self._read(key) if key else None
        done: list[Task] = []
        # Read once: flagging and the description's wording follow the same, current threshold.
        threshold = self._settings.load().moderation_threshold
        if Task.MODERATE in tasks and image is not None:
            moderation = self._analyst.moderate(image)
            self._repository.save_analysis(media_id, moderation=moderation, flagged=moderation["score"] >= threshold)
            item.moderation = moderation
            done.append(Task.MODERATE)
        if Task.DESCRIBE in tasks:
            description = self._analyst.describe(item, image, threshold)
            self._repository.save_analysis(media_id, ai_description={"status": "ready", **description})
            done.append(Task.DESCRIBE)
        return done

    def give_up(self, media_id: str, reason: str) -> None:
        """After the last attempt: a pending description becomes failed, with the reason."""
        item = self._repository.get(media_id)
        if item is not None and item.ai_description.get("status") == "pending":
            self._repository.save_analysis(media_id, ai_description={"status": "failed", "error": reason})


class DescriptionRequests:
    """Owner-facing: ask for a (new) AI description."""

    def __init__(self, repository: AnalysisRepository, requests: AnalysisRequests) -> None:
        self._repository = repository
        self._requests = requests

    def request(self, principal: Principal, media_id: str) -> dict[str, Any]:
        """Queue a description; 409 until the item is ready."""
        item = authorize(principal, Action.DESCRIBE, self._repository.get(media_id))
        if item.status is not MediaStatus.READY:
            raise Conflict(f"the item is {item.status.value}; descriptions are made for ready items")
        pending = {**item.ai_description, "status": "pending"}
        self._repository.save_analysis(media_id, ai_description=pending)
        self._requests.request(media_id, [Task.DESCRIBE])
        return {"media_id": media_id, "ai_description": pending}
