"""Moderation: NudeNet 320n on onnxruntime (pre/post-processing, offline load) and the Rekognition mapping."""

from __future__ import annotations

import importlib.util
import io
import socket
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.stub import Stubber
from PIL import Image, ImageDraw

from shared.domain.errors import Unavailable, UnreadableMedia
from shared.media import moderation
from shared.media.moderation import (
    NUDENET_LABELS,
    Detection,
    ModerationResult,
    NudeNetModerator,
    RekognitionModerator,
    decode,
    letterbox,
    merge_results,
    nms,
    nudenet_model_path,
    result_from_detections,
)

ANCHORS = 2100  # 40*40 + 20*20 + 10*10 cells at strides 8, 16, 32 of a 320 px input
CHANNELS = 4 + len(NUDENET_LABELS)


def _label(name: str) -> int:
    return NUDENET_LABELS.index(name)


def gradient(width: int = 1440, height: int = 960) -> Image.Image:
    """A smooth two-way colour gradient."""
    xs = np.linspace(0, 255, width, dtype=np.float32)[np.newaxis, :].repeat(height, axis=0)
    ys = np.linspace(0, 255, height, dtype=np.float32)[:, np.newaxis].repeat(width, axis=1)
    return Image.fromarray(np.stack([xs, ys, (xs + ys) / 2], axis=-1).astype(np.uint8), "RGB")


def landscape(width: int = 1440, height: int = 960) -> Image.Image:
    """Sky, sun, mountains, a lake and grass with a little noise: no people anywhere."""
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    horizon = height * 3 // 5
    for y in range(horizon):
        shade = y / horizon
        draw.line([(0, y), (width, y)], fill=(int(90 + 100 * shade), int(150 + 70 * shade), 235))
    draw.ellipse([width * 0.7, height * 0.08, width * 0.8, height * 0.08 + width * 0.1], fill=(255, 230, 140))
    peaks = [(0, horizon), (width * 0.2, height * 0.25), (width * 0.45, horizon * 0.9), (width * 0.65, height * 0.2)]
    draw.polygon([*peaks, (width, height * 0.45), (width, horizon)], fill=(105, 110, 125))
    draw.rectangle([0, horizon, width, height], fill=(70, 140, 60))
    draw.ellipse([width * 0.1, horizon + 20, width * 0.55, height * 0.85], fill=(60, 110, 170))
    noise = np.random.default_rng(3).normal(0, 8, (height, width, 3))
    return Image.fromarray(np.clip(np.asarray(image, dtype=np.float32) + noise, 0, 255).astype(np.uint8), "RGB")


def fake_output(*boxes: tuple[float, float, float, float, int, float], anchors: int = ANCHORS) -> np.ndarray:
    """A YOLOv8 head output (1, 4 + classes, anchors) holding (cx, cy, w, h, class id, score) rows."""
    output = np.zeros((1, CHANNELS, anchors), dtype=np.float32)
    # Background anchors: a weak score in every class, below any threshold.
    output[0, 4:, :] = 0.01
    for anchor, (cx, cy, w, h, class_id, score) in enumerate(boxes, start=100):
        output[0, :4, anchor] = (cx, cy, w, h)
        output[0, 4 + class_id, anchor] = score
    return output


class FakeSession:
    """Returns prepared outputs in turn and records the inputs it was fed."""

    def __init__(self, *outputs: np.ndarray) -> None:
        self._outputs = list(outputs)
        self.inputs: list[Mapping[str, Any]] = []

    def run(self, output_names: Sequence[str] | None, input_feed: Mapping[str, Any]) -> Sequence[Any]:
        self.inputs.append(input_feed)
        return [self._outputs[min(len(self.inputs), len(self._outputs)) - 1]]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any attempt to resolve a name or open a connection fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    yield


@pytest.fixture(scope="module")
def model() -> NudeNetModerator:
    """The real moderator (one session per process, as in Lambda)."""
    pytest.importorskip("onnxruntime")
    return NudeNetModerator()


# (a) the model comes from the installed wheel, offline, without nudenet's cv2-importing code


def test_model_loads_from_the_installed_wheel_without_network_or_opencv(
    no_network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime")
    monkeypatch.setattr(moderation, "_SESSIONS", {})  # force a cold load inside the no-network guard
    path = nudenet_model_path()
    assert path.endswith("nudenet/320n.onnx") or path.endswith("nudenet\\320n.onnx")
    result = NudeNetModerator().moderate(gradient(640, 480))
    assert result.provider == "nudenet-320n"
    assert result.model_version == "3.4.2"
    assert "nudenet" not in sys.modules  # its __init__ imports cv2, which the ml layer does not ship
    assert "cv2" not in sys.modules


def test_the_models_own_class_names_match_the_label_list(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnxruntime")
    monkeypatch.setattr(moderation, "_SESSIONS", {})
    session = moderation.load_session(nudenet_model_path(), 1)
    assert session is moderation.load_session(nudenet_model_path(), 1)  # one per process
    inputs = session.get_inputs()  # type: ignore[attr-defined]
    assert inputs[0].name == moderation.INPUT_NAME
    assert inputs[0].shape[1] == 3
    output = session.run(None, {moderation.INPUT_NAME: np.zeros((1, 3, 320, 320), np.float32)})[0]
    assert output.shape == (1, CHANNELS, ANCHORS)


def test_a_missing_wheel_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(Unavailable):
        nudenet_model_path()


# (b) neutral images score low


@pytest.mark.parametrize("make", [gradient, landscape], ids=["gradient", "landscape"])
def test_neutral_images_score_low(model: NudeNetModerator, make: Any) -> None:
    result = model.moderate(make())
    assert result.score < 0.2
    assert all(label not in moderation.NUDENET_EXPLICIT for label, _ in result.labels)


def test_any_mode_is_accepted(model: NudeNetModerator) -> None:
    assert model.moderate(landscape(300, 500).convert("RGBA")).score < 0.2
    assert model.moderate(gradient(64, 64).convert("L")).score < 0.2


# (c) preprocessing


def test_letterbox_of_a_landscape_image_pads_the_bottom_with_black() -> None:
    image = Image.new("RGB", (800, 400), (255, 0, 0))
    image.paste((0, 0, 255), (700, 0, 800, 100))  # a blue block in the top-right corner
    boxed = letterbox(image)
    tensor = boxed.tensor
    assert tensor.shape == (1, 3, 320, 320)
    assert tensor.dtype == np.float32
    assert tensor.flags.c_contiguous
    assert tensor.min() >= 0.0 and tensor.max() <= 1.0
    assert (boxed.scale, boxed.width, boxed.height) == (2.5, 800, 400)
    # 800x400 -> 320x160 at the top-left; rows 160.. are padding.
    assert np.all(tensor[0, :, 160:, :] == 0.0)
    assert np.allclose(tensor[0, :, 100:158, :270], [[[1.0]], [[0.0]], [[0.0]]])  # RGB order: red is channel 0
    assert np.allclose(tensor[0, :, 0:38, 285:318], [[[0.0]], [[0.0]], [[1.0]]])  # the blue block, scaled by 1/2.5


def test_letterbox_of_a_portrait_image_pads_the_right() -> None:
    boxed = letterbox(Image.new("RGB", (300, 960), (0, 255, 0)))
    assert boxed.scale == 3.0
    assert np.all(boxed.tensor[0, :, :, 100:] == 0.0)
    assert np.allclose(boxed.tensor[0, 1, :, :99], 1.0)


def test_letterbox_enlarges_a_small_image_to_the_input_size() -> None:
    boxed = letterbox(Image.new("RGB", (32, 16), (128, 128, 128)))
    assert boxed.scale == 0.1
    assert np.allclose(boxed.tensor[0, :, :160, :], 128 / 255)
    assert np.all(boxed.tensor[0, :, 160:, :] == 0.0)


def test_the_session_is_fed_the_letterboxed_tensor() -> None:
    session = FakeSession(fake_output())
    NudeNetModerator(session=session).moderate(Image.new("RGB", (640, 480), (10, 20, 30)))
    (fed,) = session.inputs
    tensor = fed[moderation.INPUT_NAME]
    assert tensor.shape == (1, 3, 320, 320)
    assert np.allclose(tensor[0, :, 0, 0], np.array([10, 20, 30]) / 255)


# (d) decoding and NMS on a hand-built output (the positive path, with no model and no imagery)


def test_decode_keeps_the_best_of_overlapping_boxes_per_class_and_maps_back_to_source_pixels() -> None:
    exposed = _label("FEMALE_BREAST_EXPOSED")
    covered = _label("BUTTOCKS_COVERED")
    face = _label("FACE_FEMALE")
    output = fake_output(
        (100, 100, 40, 40, exposed, 0.90),
        (102, 101, 40, 42, exposed, 0.80),  # same object, lower score: suppressed
        (101, 100, 40, 40, covered, 0.60),  # overlaps, but another class: kept
        (250, 60, 30, 30, face, 0.70),
        (200, 200, 20, 20, _label("ANUS_EXPOSED"), 0.10),  # below the threshold: dropped
        (312, 100, 20, 20, exposed, 0.50),  # same class, far away: kept (and clipped at the right edge)
    )
    boxed = letterbox(Image.new("RGB", (800, 400)))  # scale 2.5
    detections = decode(output, boxed)
    assert [(d.label, round(d.confidence, 2)) for d in detections] == [
        ("FEMALE_BREAST_EXPOSED", 0.9),
        ("FACE_FEMALE", 0.7),
        ("BUTTOCKS_COVERED", 0.6),
        ("FEMALE_BREAST_EXPOSED", 0.5),
    ]
    assert detections[0].box == pytest.approx((200.0, 200.0, 100.0, 100.0))  # (100-20)*2.5, 40*2.5
    assert detections[3].box == pytest.approx((755.0, 225.0, 45.0, 50.0))  # 805 clipped to the 800 px width

    result = result_from_detections(detections, "3.4.2")
    assert result.score == pytest.approx(0.9)
    assert [label for label, _ in result.labels] == ["FEMALE_BREAST_EXPOSED", "FACE_FEMALE", "BUTTOCKS_COVERED"]


def test_covered_and_harmless_labels_do_not_raise_the_score() -> None:
    detections = [
        Detection(label, 0.95, (0.0, 0.0, 1.0, 1.0))
        for label in ("FACE_MALE", "FEET_EXPOSED", "BELLY_EXPOSED", "MALE_BREAST_EXPOSED", "FEMALE_BREAST_COVERED")
    ]
    assert result_from_detections(detections, "3.4.2").score == 0.0


def test_the_moderator_scores_a_fake_positive_output() -> None:
    output = fake_output((160, 160, 50, 80, _label("MALE_GENITALIA_EXPOSED"), 0.77))
    result = NudeNetModerator(session=FakeSession(output)).moderate(Image.new("RGB", (320, 320)))
    assert result.score == pytest.approx(0.77)
    assert [(label, round(confidence, 2)) for label, confidence in result.labels] == [("MALE_GENITALIA_EXPOSED", 0.77)]


def test_nms_suppresses_by_iou_only_within_a_class() -> None:
    corners = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [5, 0, 15, 10]], dtype=np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6], dtype=np.float32)
    same = np.zeros(4, dtype=np.intp)
    # IoU(0,1) = 81/119 ~ 0.68 > 0.45; IoU(0,3) = 50/150 = 0.33 kept.
    assert nms(corners, scores, same, 0.45) == [0, 3]
    assert nms(corners, scores, np.array([0, 0, 1, 0], dtype=np.intp), 0.45) == [0, 2, 3]
    assert nms(corners, scores, same, 0.7) == [0, 1, 3]  # box 2 duplicates box 0 exactly (IoU 1)
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.intp), 0.45) == []


def test_decode_rejects_an_output_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match="channels"):
        decode(np.zeros((1, 84, 2100), np.float32), letterbox(Image.new("RGB", (10, 10))))


# (e) Rekognition


class JpegBytes:
    """Matches any JPEG byte string (Stubber compares expected params with ==)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, bytes) and other.startswith(b"\xff\xd8") and other.endswith(b"\xff\xd9")

    def __hash__(self) -> int:
        return 0


def _rekognition() -> tuple[Any, Stubber]:
    client = boto3.client("rekognition", region_name="us-east-1")
    return client, Stubber(client)


def test_rekognition_labels_map_to_the_same_result() -> None:
    client, stubber = _rekognition()
    stubber.add_response(
        "detect_moderation_labels",
        {
            "ModerationLabels": [
                {"Name": "Swimwear or Underwear", "ParentName": "", "Confidence": 97.5, "TaxonomyLevel": 1},
                {"Name": "Explicit", "ParentName": "", "Confidence": 81.25, "TaxonomyLevel": 1},
                {"Name": "Explicit Nudity", "ParentName": "Explicit", "Confidence": 81.25, "TaxonomyLevel": 2},
                {
                    "Name": "Exposed Buttocks or Anus",
                    "ParentName": "Explicit Nudity",
                    "Confidence": 64.0,
                    "TaxonomyLevel": 3,
                },
            ],
            "ModerationModelVersion": "7.0",
        },
        {"Image": {"Bytes": JpegBytes()}, "MinConfidence": 60.0},
    )
    with stubber:
        result = RekognitionModerator(client, min_confidence=0.6).moderate(landscape(2400, 1600).convert("RGBA"))
    stubber.assert_no_pending_responses()
    assert result == ModerationResult(
        score=0.8125,  # the explicit labels' best; "Swimwear or Underwear" is reported but not explicit
        labels=(
            ("Swimwear or Underwear", 0.975),
            ("Explicit", 0.8125),
            ("Explicit Nudity", 0.8125),
            ("Exposed Buttocks or Anus", 0.64),
        ),
        provider="rekognition",
        model_version="7.0",
    )


def test_rekognition_with_no_labels_scores_zero() -> None:
    client, stubber = _rekognition()
    stubber.add_response("detect_moderation_labels", {"ModerationLabels": [], "ModerationModelVersion": "7.0"})
    with stubber:
        result = RekognitionModerator(client).moderate(gradient(200, 100))
    assert (result.score, result.labels) == (0.0, ())


@pytest.mark.parametrize(
    ("code", "error"),
    [("InvalidImageFormatException", UnreadableMedia), ("ThrottlingException", Unavailable)],
)
def test_rekognition_errors_become_domain_errors(code: str, error: type[Exception]) -> None:
    client, stubber = _rekognition()
    stubber.add_client_error("detect_moderation_labels", service_error_code=code, http_status_code=400)
    with stubber, pytest.raises(error):
        RekognitionModerator(client).moderate(gradient(64, 64))


def test_rekognition_jpeg_is_bounded() -> None:
    data = moderation._jpeg_bytes(gradient(4000, 1000))
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size) == ("JPEG", (1920, 480))


# (f) frames


def test_moderate_frames_takes_the_worst_frame_and_merges_labels() -> None:
    frames = [
        fake_output((100, 100, 40, 40, _label("FACE_FEMALE"), 0.8)),
        fake_output(
            (100, 100, 40, 40, _label("BUTTOCKS_EXPOSED"), 0.66), (200, 200, 30, 30, _label("FACE_FEMALE"), 0.5)
        ),
        fake_output((100, 100, 40, 40, _label("FEMALE_BREAST_EXPOSED"), 0.4)),
    ]
    session = FakeSession(*frames)
    result = NudeNetModerator(session=session).moderate_frames(Image.new("RGB", (320, 240)) for _ in frames)
    assert len(session.inputs) == 3
    assert result.score == pytest.approx(0.66)
    assert [(label, round(confidence, 2)) for label, confidence in result.labels] == [
        ("FACE_FEMALE", 0.8),
        ("BUTTOCKS_EXPOSED", 0.66),
        ("FEMALE_BREAST_EXPOSED", 0.4),
    ]


def test_moderate_frames_on_real_neutral_frames(model: NudeNetModerator) -> None:
    assert model.moderate_frames([gradient(640, 360), landscape(640, 360)]).score < 0.2


def test_merge_refuses_no_frames() -> None:
    with pytest.raises(ValueError, match="no frames"):
        merge_results([])
