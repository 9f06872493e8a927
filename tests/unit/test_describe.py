"""Descriptions: the facts-only offline describer, and Bedrock's Converse API under botocore's Stubber."""

# The descriptions write sizes with the multiplication sign; the expected texts must too.
# ruff: noqa: RUF001

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import ANY, Stubber
from PIL import Image

from shared.domain.errors import Unavailable
from shared.domain.media import MediaItem
from shared.media.describe import (
    BEDROCK_MAX_PX,
    NAMED_COLORS,
    BedrockDescriber,
    Description,
    DescriptionRefused,
    MediaFacts,
    OfflineDescriber,
    build_prompt,
    color_name,
    color_names,
    format_taken_at,
)
from shared.media.metadata import GpsPosition, ImageMetadata
from shared.media.moderation import ModerationResult

MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
FIXED_NOW = datetime(2026, 7, 15, 9, 0, 0, tzinfo=UTC)

# Things a facts-only description must never claim: it was told none of them.
OBJECT_WORDS = (
    "beach",
    "sea",
    "ocean",
    "mountain",
    "sky",
    "sunset",
    "tree",
    "dog",
    "cat",
    "car",
    "building",
    "tower",
    "eiffel",
    "paris",
    "person",
    "people",
    "man",
    "woman",
    "female",
    "male",
    "child",
    "girl",
    "boy",
    "smiling",
    "food",
    "nude",
)


def clock() -> datetime:
    """A fixed 'now', so generated_at is predictable."""
    return FIXED_NOW


def canon_meta(**changes: Any) -> ImageMetadata:
    """The metadata a Canon EOS R5 file with full EXIF gives."""
    values: dict[str, Any] = {
        "width": 6000,
        "height": 4000,
        "format": "JPEG",
        "camera_make": "Canon",
        "camera_model": "Canon EOS R5",
        "lens_model": "RF24-70mm F2.8 L IS USM",
        "taken_at": "2026-07-14T18:32:05+02:00",
        "gps": GpsPosition(lat=48.8584, lon=2.2945, alt_m=35.0),
    }
    values.update(changes)
    return ImageMetadata(**values)


def moderation(score: float = 0.0, *labels: tuple[str, float]) -> ModerationResult:
    """A NudeNet-shaped moderation result."""
    return ModerationResult(score=score, labels=tuple(labels), provider="nudenet-320n", model_version="3.4.2")


def photo_facts(**changes: Any) -> MediaFacts:
    """A landscape photo with every fact processing can find."""
    return MediaFacts.from_results(
        "image",
        canon_meta(**changes),
        None,
        colors=["#1e50d2", "#ffffff", "#8c8c8c", "#f4f4f4"],
        moderation=moderation(0.02, ("FACE_FEMALE", 0.81)),
        title="",
    )


def video_facts(**changes: Any) -> MediaFacts:
    """A 12-second portrait phone video with sound, as VideoMetadata.to_dict() describes it."""
    meta: dict[str, Any] = {
        "duration_s": 12.24,
        "width": 1080,
        "height": 1920,
        "rotation": 90,
        "fps": 29.97,
        "video_codec": "h264",
        "audio_codec": "aac",
        "container": "mov,mp4,m4a,3gp,3g2,mj2",
        "bitrate": 8_000_000,
        "frame_count": 367,
        "has_audio": True,
    }
    meta.update(changes)
    return MediaFacts.from_results("video", None, meta, colors=[], moderation=None, title="")


# --- Offline ----------------------------------------------------------------------------------------------------


def test_landscape_photo_with_full_exif() -> None:
    description = OfflineDescriber(clock=clock).describe(photo_facts(), None)

    assert description == Description(
        text=(
            "A landscape-oriented photo, 24 megapixels (6000×4000). "
            "It was taken with a Canon EOS R5 and an RF24-70mm F2.8 L IS USM lens on 14 July 2026 at 18:32 (UTC+2). "
            "Its dominant colours are blue, white and grey. "
            "At least one face was detected."
        ),
        provider="offline",
        model="facts-v1",
        generated_at="2026-07-15T09:00:00+00:00",
    )
    # Decimal points in "F2.8" are never followed by a space: only sentence ends are.
    assert description.text.count(". ") + 1 == 4


def test_portrait_video_with_sound() -> None:
    text = OfflineDescriber().text(video_facts())

    assert text == "A portrait-oriented video, 1080×1920, 12 seconds long, with sound."


def test_video_without_sound_and_longer_durations() -> None:
    describer = OfflineDescriber()

    assert "without sound" in describer.text(video_facts(has_audio=False))
    assert "2 minutes 5 seconds long" in describer.text(video_facts(duration_s=125.4))
    assert "1 hour 1 minute long" in describer.text(video_facts(duration_s=3671.0))
    assert "under a second long" in describer.text(video_facts(duration_s=0.3))


def test_stored_video_metadata_with_decimals_is_read() -> None:
    facts = video_facts(width=Decimal(1920), height=Decimal(1080), duration_s=Decimal("4.5"))

    assert (facts.width, facts.height, facts.duration_s, facts.has_audio) == (1920, 1080, 4.5, True)
    assert OfflineDescriber().text(facts).startswith("A landscape-oriented video, 1920×1080, 4 seconds long")


@pytest.mark.parametrize("location_visible", [True, False])
def test_the_place_is_never_written_even_when_the_owner_shows_it(location_visible: bool) -> None:
    """The owner may hide the location later: the place is added at display time, never written into the text."""
    item = MediaItem(
        media_id="m1",
        owner_id="u1",
        filename="tower.jpg",
        content_type="image/jpeg",
        size=1,
        object_key="k",
        taken_at="2026-07-14T18:32:05+02:00",
        location_visible=location_visible,
        metadata={"camera_model": "Canon EOS R5", "gps": {"lat": 48.8584, "lon": 2.2945, "alt_m": 35.0}},
    )
    facts = MediaFacts.from_item(item)

    text = OfflineDescriber().text(facts)
    prompt = build_prompt(facts, with_image=True)

    for said in (text, prompt):
        assert "°" not in said
        assert "48.8" not in said
        assert "2.29" not in said
        assert "coordinates" not in said
    assert "Do not mention or guess where it was taken." in prompt
    assert "on 14 July 2026 at 18:32 (UTC+2)." in text


def test_unknown_fields_are_simply_left_out() -> None:
    describer = OfflineDescriber()

    assert describer.text(MediaFacts(kind="image")) == "An image."
    assert describer.text(MediaFacts(kind="image", width=800, height=800)) == "A square image, 800×800."
    only_time = MediaFacts(kind="image", width=640, height=480, taken_at="2026-01-02T03:04:05")
    assert describer.text(only_time) == "A landscape-oriented image, 640×480. It was taken on 2 January 2026 at 03:04."


def test_no_invented_content_and_only_mapped_colour_names() -> None:
    palette = ["#0b3d91", "#f5deb3", "#228b22", "#ff6347", "#808080", "#fafafa", "#4b0082", "#ffd700"]
    facts = MediaFacts.from_results("image", canon_meta(), None, palette, moderation(0.01, ("FEET_EXPOSED", 0.9)), "")
    text = OfflineDescriber().text(facts)

    words = set(re.findall(r"[a-z]+", text.lower()))
    assert not words & set(OBJECT_WORDS), words & set(OBJECT_WORDS)
    assert "feet" not in words
    match = re.search(r"Its dominant colours are ([a-z ,]+)\.", text)
    assert match is not None
    named = re.split(r", | and ", match.group(1))
    assert named == color_names(palette)
    assert len(named) == 3
    assert set(named) <= set(NAMED_COLORS)


def test_colour_mapping_is_perceptual_and_total() -> None:
    assert color_name("#e74c3c") == "red"
    assert color_name("#2ecc71") == "green"
    assert color_name("#f1c40f") == "yellow"
    assert color_name("#87ceeb") == "sky blue"
    assert color_name("#0a1a5c") == "navy"
    assert color_name("#008b8b") == "teal"
    assert color_name("#7b4a1e") == "brown"
    assert color_name("#f5f5dc") == "beige"
    assert color_name("#111111") == "black"
    assert color_name("not a colour") is None
    assert color_names(["#ffffff", "#fefefe", "bogus", "#000000"]) == ["white", "black"]
    for value in range(0, 0x1000000, 0x0F0F0F):
        assert color_name(f"#{value:06x}") in NAMED_COLORS


def test_moderation_note_only_at_or_above_the_threshold() -> None:
    describer = OfflineDescriber(sensitive_threshold=0.6)
    note = "flagged as possibly sensitive"

    def with_score(score: float) -> MediaFacts:
        return MediaFacts(kind="image", width=100, height=50, moderation=moderation(score))

    assert note not in describer.text(with_score(0.0))
    assert note not in describer.text(with_score(0.59))
    assert note in describer.text(with_score(0.6))
    assert note in describer.text(with_score(0.97))
    assert note not in OfflineDescriber(sensitive_threshold=0.99).text(with_score(0.97))
    assert note not in describer.text(MediaFacts(kind="image"))


def test_face_cue_never_passes_on_the_detectors_gender() -> None:
    describer = OfflineDescriber()

    def text_with(*labels: tuple[str, float]) -> str:
        return describer.text(MediaFacts(kind="image", width=100, height=50, moderation=moderation(0.0, *labels)))

    for labels in ((("FACE_FEMALE", 0.9),), (("FACE_MALE", 0.7),), (("FACE_FEMALE", 0.9), ("FACE_MALE", 0.6))):
        text = text_with(*labels)
        assert text.endswith("At least one face was detected.")
        assert not set(re.findall(r"[a-z]+", text.lower())) & {"female", "male", "woman", "man", "women", "men"}
    assert "face" not in text_with(("FACE_MALE", 0.3))
    assert "face" not in text_with(("BELLY_COVERED", 0.9))

    both = describer.text(
        MediaFacts(kind="image", width=10, height=5, moderation=moderation(0.8, ("FACE_FEMALE", 0.9)))
    )
    assert both.endswith(
        "At least one face was detected, and it was flagged as possibly sensitive by automatic moderation."
    )


def test_same_facts_give_the_same_text() -> None:
    first = OfflineDescriber().text(photo_facts())
    second = OfflineDescriber().text(photo_facts())

    assert first == second
    assert OfflineDescriber(clock=clock).describe(photo_facts(), Image.new("RGB", (8, 8))).text == first


def test_capture_time_formats() -> None:
    assert format_taken_at("2026-07-14T18:32:05+02:00") == "14 July 2026 at 18:32 (UTC+2)"
    assert format_taken_at("2026-07-14T18:32:05+05:30") == "14 July 2026 at 18:32 (UTC+5:30)"
    assert format_taken_at("2026-07-14T18:32:05-03:00") == "14 July 2026 at 18:32 (UTC-3)"
    assert format_taken_at("2026-07-14T18:32:05+00:00") == "14 July 2026 at 18:32 (UTC)"
    assert format_taken_at("2026-07-14T18:32:05") == "14 July 2026 at 18:32"
    assert format_taken_at("2026-07-14") == "14 July 2026"
    assert format_taken_at("yesterday") is None
    assert format_taken_at(None) is None


def test_camera_names_are_not_doubled_and_phone_lenses_are_dropped() -> None:
    phone = MediaFacts.from_results(
        "image",
        canon_meta(
            width=3024,
            height=4032,
            camera_make="Apple",
            camera_model="iPhone 15 Pro",
            lens_model="iPhone 15 Pro back triple camera 6.765mm f/1.78",
            gps=None,
        ),
        None,
    )
    nikon = MediaFacts.from_results(
        "image", canon_meta(camera_make="NIKON CORPORATION", camera_model="NIKON Z 6", lens_model="85mm f/1.8"), None
    )

    assert "taken with an Apple iPhone 15 Pro on" in OfflineDescriber().text(phone)
    assert "12.2 megapixels (3024×4032)" in OfflineDescriber().text(phone)
    assert "taken with a NIKON Z 6 and an 85mm f/1.8 lens on" in OfflineDescriber().text(nikon)


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="kind"):
        MediaFacts.from_results("audio", None, None)  # type: ignore[arg-type]


# --- Bedrock ----------------------------------------------------------------------------------------------------


class Capture:
    """Equal to anything, keeping what it was compared with (Stubber compares expected params with ==)."""

    def __init__(self) -> None:
        self.value: Any = None

    def __eq__(self, other: object) -> bool:
        self.value = other
        return True

    def __hash__(self) -> int:
        return 0


@pytest.fixture
def bedrock() -> Iterator[tuple[Any, Stubber]]:
    """A real bedrock-runtime client whose calls the Stubber answers (nothing reaches the network)."""
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def converse_response(text: str, stop_reason: str = "end_turn") -> dict[str, Any]:
    """A Converse answer of the documented shape."""
    content = [{"text": text}] if text else []
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason,
        "usage": {"inputTokens": 1200, "outputTokens": 60, "totalTokens": 1260},
        "metrics": {"latencyMs": 900},
    }


def expect_converse(stubber: Stubber, response: dict[str, Any]) -> Capture:
    """Queue one answer; the returned Capture holds the messages that were sent."""
    messages = Capture()
    stubber.add_response(
        "converse",
        response,
        {
            "modelId": MODEL_ID,
            "messages": messages,
            "system": ANY,
            "inferenceConfig": {"maxTokens": 300, "temperature": 0.2},
        },
    )
    return messages


def big_photo() -> Image.Image:
    """A 4000 by 3000 RGB picture."""
    return Image.new("RGB", (4000, 3000), (30, 80, 210))


def test_bedrock_sends_jpeg_model_id_and_facts_and_returns_the_text(bedrock: tuple[Any, Stubber]) -> None:
    client, stubber = bedrock
    answer = "A wide view under a blue sky. It was taken with a Canon EOS R5 on 14 July 2026."
    sent = expect_converse(stubber, converse_response(answer))

    description = BedrockDescriber(client, MODEL_ID, clock=clock).describe(photo_facts(), big_photo())

    assert description == Description(
        text=answer, provider="bedrock", model=MODEL_ID, generated_at="2026-07-15T09:00:00+00:00"
    )
    [message] = sent.value
    assert message["role"] == "user"
    image_block, text_block = message["content"]
    assert image_block["image"]["format"] == "jpeg"
    jpeg = image_block["image"]["source"]["bytes"]
    assert jpeg[:3] == b"\xff\xd8\xff"
    with Image.open(io.BytesIO(jpeg)) as decoded:
        assert decoded.format == "JPEG"
        assert decoded.mode == "RGB"
        assert max(decoded.size) <= BEDROCK_MAX_PX
        assert decoded.size == (1568, 1176)
    prompt = text_block["text"]
    for fact in ("Canon EOS R5", "RF24-70mm", "14 July 2026 at 18:32 (UTC+2)", "blue"):
        assert fact in prompt
    assert "°" not in prompt  # the GPS position processing found is not for the model
    assert "Do not identify or guess who anyone is." in prompt


def test_bedrock_system_prompt_and_no_location(bedrock: tuple[Any, Stubber]) -> None:
    client, stubber = bedrock
    system = Capture()
    messages = Capture()
    stubber.add_response(
        "converse",
        converse_response("A photo."),
        {"modelId": MODEL_ID, "messages": messages, "system": system, "inferenceConfig": ANY},
    )

    BedrockDescriber(client, MODEL_ID).describe(photo_facts(), Image.new("RGB", (64, 48)))

    [block] = system.value
    assert "Never identify people" in block["text"]
    prompt = messages.value[0]["content"][-1]["text"]
    assert "°" not in prompt
    assert "Do not mention or guess where it was taken." in prompt


def test_bedrock_without_a_picture_describes_from_the_facts(bedrock: tuple[Any, Stubber]) -> None:
    client, stubber = bedrock
    sent = expect_converse(stubber, converse_response("A 12-second portrait video with sound."))

    description = BedrockDescriber(client, MODEL_ID).describe(video_facts(), None)

    assert description.text == "A 12-second portrait video with sound."
    [block] = sent.value[0]["content"]
    assert "No picture of this video is available." in block["text"]
    assert "12 seconds long, with sound" in block["text"]


def test_bedrock_flattens_transparency_to_rgb(bedrock: tuple[Any, Stubber]) -> None:
    client, stubber = bedrock
    sent = expect_converse(stubber, converse_response("A logo."))

    BedrockDescriber(client, MODEL_ID).describe(MediaFacts(kind="image"), Image.new("RGBA", (2000, 500), (0, 0, 0, 0)))

    jpeg = sent.value[0]["content"][0]["image"]["source"]["bytes"]
    with Image.open(io.BytesIO(jpeg)) as decoded:
        assert decoded.size == (1568, 392)
        assert decoded.getpixel((10, 10)) == pytest.approx((255, 255, 255), abs=2)


@pytest.mark.parametrize("code", ["ThrottlingException", "ServiceUnavailableException", "ModelNotReadyException"])
def test_bedrock_transient_errors_are_retryable_unavailable(bedrock: tuple[Any, Stubber], code: str) -> None:
    client, stubber = bedrock
    stubber.add_client_error("converse", service_error_code=code, service_message="slow down", http_status_code=429)

    with pytest.raises(Unavailable, match=code) as raised:
        BedrockDescriber(client, MODEL_ID).describe(photo_facts(), big_photo())

    assert not isinstance(raised.value, DescriptionRefused)


@pytest.mark.parametrize("code", ["ValidationException", "AccessDeniedException", "ResourceNotFoundException"])
def test_bedrock_refusals_are_not_retryable(bedrock: tuple[Any, Stubber], code: str) -> None:
    client, stubber = bedrock
    stubber.add_client_error("converse", service_error_code=code, service_message="no", http_status_code=400)

    with pytest.raises(DescriptionRefused, match=code) as raised:
        BedrockDescriber(client, MODEL_ID).describe(photo_facts(), big_photo())

    assert isinstance(raised.value, Unavailable)
    assert raised.value.retryable is False
    assert MODEL_ID in raised.value.message


def test_bedrock_connection_failure_is_unavailable() -> None:
    class Unreachable:
        def converse(self, **kwargs: Any) -> dict[str, Any]:
            raise EndpointConnectionError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")

    with pytest.raises(Unavailable, match="Could not connect"):
        BedrockDescriber(Unreachable(), MODEL_ID).describe(photo_facts(), None)


@pytest.mark.parametrize("stop_reason", ["content_filtered", "guardrail_intervened"])
def test_bedrock_filtered_answer_falls_back_to_the_facts(bedrock: tuple[Any, Stubber], stop_reason: str) -> None:
    client, stubber = bedrock
    expect_converse(stubber, converse_response("Sorry, the model cannot answer.", stop_reason))

    description = BedrockDescriber(client, MODEL_ID, clock=clock).describe(photo_facts(), big_photo())

    assert description == Description(
        text=OfflineDescriber().text(photo_facts()),
        provider="offline",
        model="facts-v1",
        generated_at="2026-07-15T09:00:00+00:00",
        fallback_reason=stop_reason,
    )
    assert description.to_dict()["fallback_reason"] == stop_reason


def test_bedrock_empty_answer_falls_back(bedrock: tuple[Any, Stubber]) -> None:
    client, stubber = bedrock
    expect_converse(stubber, converse_response("   "))

    description = BedrockDescriber(client, MODEL_ID).describe(video_facts(), None)

    assert description.provider == "offline"
    assert description.fallback_reason == "empty_answer"
    assert description.text == OfflineDescriber().text(video_facts())


def test_bedrock_cut_short_answer_keeps_complete_sentences(bedrock: tuple[Any, Stubber]) -> None:
    client, stubber = bedrock
    expect_converse(stubber, converse_response("A wide view at dusk. The light is warm and the", "max_tokens"))
    expect_converse(stubber, converse_response("A wide view at dusk with", "max_tokens"))
    describer = BedrockDescriber(client, MODEL_ID)

    assert describer.describe(photo_facts(), None).text == "A wide view at dusk."
    truncated = describer.describe(photo_facts(), None)
    assert truncated.fallback_reason == "max_tokens"
    assert truncated.provider == "offline"


def test_bedrock_answer_is_cleaned(bedrock: tuple[Any, Stubber]) -> None:
    client, stubber = bedrock
    expect_converse(stubber, converse_response("  A quiet\n\nstreet.\x07  " + "Long. " * 400))

    text = BedrockDescriber(client, MODEL_ID).describe(photo_facts(), None).text

    assert text.startswith("A quiet street. Long.")
    assert len(text) <= 1200
    assert "\x07" not in text and "\n" not in text


def test_flagged_items_ask_for_neutral_wording() -> None:
    flagged = MediaFacts(kind="image", width=10, height=5, moderation=moderation(0.9))

    assert "keep the wording neutral" in build_prompt(flagged, with_image=True)
    assert "keep the wording neutral" not in build_prompt(photo_facts(), with_image=True)
