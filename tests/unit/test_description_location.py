"""An AI description says where an item was taken only while its owner lets the location show."""

# Descriptions write sizes with the multiplication sign; the stored texts here must too.
# ruff: noqa: RUF001

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from shared.adapters.analysis import LocalAnalyst
from shared.domain.analysis import (
    AnalysisRequests,
    DescriptionRequests,
    MediaAnalyzer,
    SystemSettings,
    Task,
    visible_description,
)
from shared.domain.media import MediaItem, MediaStatus, Rendition
from shared.domain.principal import Principal, Role

GPS = {"lat": 48.8584, "lon": 2.2945, "alt_m": 35.0}
PLACE_WORDS = ("°", "48.85", "2.29", "coordinates")
POSITION = "48.8584° N, 2.2945° E"


def _photo(*, location_visible: bool, gps: dict[str, Any] | None = GPS) -> MediaItem:
    return MediaItem(
        media_id="m1",
        owner_id="u1",
        filename="tower.jpg",
        content_type="image/jpeg",
        size=1,
        object_key="originals/m1",
        status=MediaStatus.READY,
        width=6000,
        height=4000,
        taken_at="2026-07-14T18:32:05+02:00",
        location_visible=location_visible,
        metadata={"camera_make": "Canon", "camera_model": "Canon EOS R5", **({"gps": gps} if gps else {})},
        renditions={"preview": Rendition(key="renditions/m1/preview.jpg", width=1440, height=960, content_type="jpg")},
    )


class _Items:
    """The analyzer's view of the media table: one item, updated in place."""

    def __init__(self, item: MediaItem) -> None:
        self.item = item

    def get(self, media_id: str) -> MediaItem | None:
        return self.item if media_id == self.item.media_id else None

    def save_analysis(
        self,
        media_id: str,
        *,
        moderation: dict[str, Any] | None = None,
        flagged: bool | None = None,
        ai_description: dict[str, Any] | None = None,
    ) -> None:
        if ai_description is not None:
            self.item.ai_description = ai_description


class _Settings:
    def load(self) -> SystemSettings:
        return SystemSettings()

    def save(self, settings: SystemSettings) -> None:
        raise AssertionError("not changed here")


class _Bedrock:
    """Answers like Converse and keeps every prompt it was sent."""

    def __init__(self, answer: str = "A tall iron lattice tower against a blue sky.") -> None:
        self.answer = answer
        self.prompts: list[str] = []

    def converse(self, **kwargs: Any) -> dict[str, Any]:
        self.prompts.append(kwargs["messages"][0]["content"][-1]["text"])
        return {"output": {"message": {"content": [{"text": self.answer}]}}, "stopReason": "end_turn"}


def _preview() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1440, 960), (30, 80, 210)).save(out, format="JPEG")
    return out.getvalue()


def _describe(item: MediaItem, analyst: LocalAnalyst) -> _Items:
    items = _Items(item)
    MediaAnalyzer(items, lambda key: _preview(), analyst, _Settings()).analyze(item.media_id, [Task.DESCRIBE])
    assert item.ai_description["status"] == "ready"
    return items


def _offline() -> LocalAnalyst:
    return LocalAnalyst(moderation_provider="none", description_provider="offline")


def _says_no_place(text: str) -> bool:
    return not any(word in text for word in PLACE_WORDS)


def test_a_description_written_while_the_location_showed_loses_its_place_once_the_owner_hides_it() -> None:
    item = _photo(location_visible=True)
    _describe(item, _offline())
    shown = visible_description(item)
    assert shown is not None and POSITION in shown["text"]
    assert "Canon EOS R5" in shown["text"]

    item.location_visible = False  # PATCH /media/{id} {"location_visible": false}

    hidden = visible_description(item)
    assert hidden is not None and _says_no_place(hidden["text"]), hidden
    assert "Canon EOS R5" in hidden["text"] and "14 July 2026" in hidden["text"]


def test_what_is_stored_never_states_the_place_so_no_reader_of_the_raw_record_can_leak_it() -> None:
    item = _photo(location_visible=True)
    _describe(item, _offline())
    assert _says_no_place(str(item.ai_description)), item.ai_description


def test_a_description_written_while_hidden_gets_the_place_only_when_the_owner_shows_it() -> None:
    item = _photo(location_visible=False)
    _describe(item, _offline())
    hidden = visible_description(item)
    assert hidden is not None and _says_no_place(hidden["text"])

    item.location_visible = True

    shown = visible_description(item)
    assert shown is not None and shown["text"].endswith(f"It was taken at coordinates {POSITION}.")


@pytest.mark.parametrize("location_visible", [True, False])
def test_bedrock_is_never_told_the_place_and_shows_it_only_while_visible(location_visible: bool) -> None:
    bedrock = _Bedrock()
    analyst = LocalAnalyst(
        moderation_provider="none", description_provider="bedrock", bedrock=bedrock, bedrock_model_id="m"
    )
    item = _photo(location_visible=location_visible)
    _describe(item, analyst)
    [prompt] = bedrock.prompts
    # Its prose could not be taken back apart if the owner hid the location later.
    assert _says_no_place(prompt) and "Do not mention or guess where it was taken." in prompt

    for visible in (location_visible, not location_visible):
        item.location_visible = visible
        shown = visible_description(item)
        assert shown is not None and shown["text"].startswith(bedrock.answer)
        assert (POSITION in shown["text"]) is visible


def test_the_shown_description_keeps_every_field_but_the_storage_marker() -> None:
    item = _photo(location_visible=False)
    _describe(item, _offline())
    shown = visible_description(item)
    assert shown is not None
    assert set(shown) == {"status", "text", "provider", "model", "generated_at"}


def test_no_description_and_no_gps_are_shown_as_they_are() -> None:
    assert visible_description(_photo(location_visible=True)) is None
    item = _photo(location_visible=True, gps=None)
    _describe(item, _offline())
    shown = visible_description(item)
    assert shown is not None and shown["text"] == item.ai_description["text"]


def test_a_failed_description_has_no_text_to_change() -> None:
    item = _photo(location_visible=False)
    item.ai_description = {"status": "failed", "error": "Bedrock Converse failed: ThrottlingException"}
    assert visible_description(item) == item.ai_description


# --- Descriptions stored before the place was kept apart ------------------------------------------------------------

LEGACY_OFFLINE = {
    "status": "ready",
    "text": (
        "A landscape-oriented photo, 24 megapixels (6000×4000). It was taken with a Canon EOS R5 on 14 July 2026 at "
        "18:32 (UTC+2) at coordinates 48.8584° N, 2.2945° E. Its dominant colours are blue and white."
    ),
    "provider": "offline",
    "model": "facts-v1",
    "generated_at": "2026-07-15T09:00:00+00:00",
}


def test_an_old_offline_description_loses_its_coordinates_while_hidden() -> None:
    item = _photo(location_visible=False)
    item.ai_description = dict(LEGACY_OFFLINE)
    shown = visible_description(item)
    assert shown is not None
    assert shown["text"] == (
        "A landscape-oriented photo, 24 megapixels (6000×4000). It was taken with a Canon EOS R5 on 14 July 2026 at "
        "18:32 (UTC+2). Its dominant colours are blue and white."
    )


def test_an_old_offline_description_of_only_a_place_loses_the_whole_sentence() -> None:
    item = _photo(location_visible=False)
    text = "A square image, 800×800. It was taken at coordinates 48.8584° N, 2.2945° E. Its dominant colour is red."
    item.ai_description = {**LEGACY_OFFLINE, "text": text}
    shown = visible_description(item)
    assert shown is not None and shown["text"] == "A square image, 800×800. Its dominant colour is red."


def test_an_old_model_description_is_withheld_while_hidden_since_its_place_cannot_be_cut_out() -> None:
    item = _photo(location_visible=False)
    item.ai_description = {**LEGACY_OFFLINE, "text": "The Eiffel Tower at dusk, in Paris.", "provider": "bedrock"}
    shown = visible_description(item)
    assert shown is not None and shown["text"] == "" and shown["status"] == "ready"
    item.location_visible = True
    assert visible_description(item) == item.ai_description


# --- Asking for a new description ------------------------------------------------------------------------------------


class _Inbox(AnalysisRequests):
    def request(self, media_id: str, tasks: list[Task]) -> None:
        pass


def test_the_pending_answer_to_a_describe_request_shows_no_hidden_place() -> None:
    item = _photo(location_visible=False)
    item.ai_description = dict(LEGACY_OFFLINE)
    owner = Principal(sub="u1", username="alice", role=Role.USER)
    answer = visible_description(DescriptionRequests(_Items(item), _Inbox()).request(owner, "m1"))
    assert answer is not None
    assert answer["status"] == "pending"
    assert _says_no_place(answer["text"])
