"""After processing: moderation (flagging) and AI descriptions, asynchronous and retryable."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from enum import StrEnum
from typing import Any, Protocol

from shared.domain.errors import Conflict
from shared.domain.media import MediaItem, MediaKind, MediaStatus
from shared.domain.policy import Action, authorize
from shared.domain.principal import Principal
from shared.domain.review import approved_as_is
from shared.domain.settings import SystemSettings


class Task(StrEnum):
    """What the analyzer can be asked to do."""

    MODERATE = "moderate"
    DESCRIBE = "describe"


class SettingsStore(Protocol):
    """Where the system settings live (shared/domain/settings.py: versioned, changed by admins)."""

    def load(self) -> SystemSettings:
        """The current settings (defaults when never saved)."""


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

        The text never says where the item was taken: visible_description adds that while the owner allows it.
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
        on_flagged: Callable[[MediaItem], None] | None = None,
    ) -> None:
        self._repository = repository
        self._read = read_rendition
        self._analyst = analyst
        self._settings = settings
        # Told of every item moderation flags (analytics counts them).
        self._on_flagged = on_flagged

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
            # A version a reviewer approved keeps its fresh score but stays out of the queue (a reprocess after
            # the approval, or a redelivered task, would otherwise flag it again).
            flagged = moderation["score"] >= threshold and not approved_as_is(item)
            self._repository.save_analysis(media_id, moderation=moderation, flagged=flagged)
            item.moderation = moderation
            if flagged and self._on_flagged is not None:
                self._on_flagged(item)
            done.append(Task.MODERATE)
        if Task.DESCRIBE in tasks:
            description = self._analyst.describe(item, image, threshold)
            stored = {"status": "ready", **description, _PLACE_FREE: True}
            self._repository.save_analysis(media_id, ai_description=stored)
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

    def request(self, principal: Principal, media_id: str) -> MediaItem:
        """Queue a description; 409 until the item is ready. The item as it is now (description pending)."""
        item = authorize(principal, Action.DESCRIBE, self._repository.get(media_id))
        if item.status is not MediaStatus.READY:
            raise Conflict(f"the item is {item.status.value}; descriptions are made for ready items")
        pending = {**item.ai_description, "status": "pending"}
        self._repository.save_analysis(media_id, ai_description=pending)
        self._requests.request(media_id, [Task.DESCRIBE])
        return replace(item, ai_description=pending)


# Set on every description whose text leaves the place out. One without it was written before that (when the
# place went into the text while the location showed): see _without_written_place.
_PLACE_FREE = "place_free"
# Where the offline describer used to put the position: inside its capture sentence, or as the whole of it.
_WRITTEN_POSITION = re.compile(r" at coordinates \d{1,2}\.\d{4}° [NS], \d{1,3}\.\d{4}° [EW]")
_EMPTY_CAPTURE = re.compile(r"\s*\bIt was (?:taken|recorded)\.")


def visible_description(item: MediaItem) -> dict[str, Any] | None:
    """The AI description as shown to anyone (None when there is none): the place only while location_visible.

    The flag is read as it is now, not as it was when the text was written.
    """
    stored = item.ai_description
    if not stored:
        return None
    shown = {key: value for key, value in stored.items() if key != _PLACE_FREE}
    text = stored.get("text")
    if not isinstance(text, str) or not text:
        return shown
    position = _position(item)
    if not stored.get(_PLACE_FREE):
        if stored.get("provider") != "offline":
            # A model's own sentences about the place cannot be cut out of its prose: shown whole or not at all.
            shown["text"] = "" if position and not item.location_visible else text
            return shown
        text = _without_written_place(text)
    if item.location_visible and position:
        verb = "recorded" if item.kind is MediaKind.VIDEO else "taken"
        text = f"{text} It was {verb} at coordinates {position}."
    shown["text"] = text
    return shown


def _without_written_place(text: str) -> str:
    """An offline text from before the place was kept apart, without the position it states."""
    return _EMPTY_CAPTURE.sub("", _WRITTEN_POSITION.sub("", text)).strip()


def _position(item: MediaItem) -> str | None:
    """The item's GPS position in degrees to four decimals (about 11 m), or None when it has none."""
    gps = item.metadata.get("gps")
    if not isinstance(gps, Mapping):
        return None
    try:
        lat, lon = float(gps["lat"]), float(gps["lon"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180):
        return None
    return f"{abs(lat):.4f}° {'S' if lat < 0 else 'N'}, {abs(lon):.4f}° {'W' if lon < 0 else 'E'}"
