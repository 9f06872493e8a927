"""Image moderation: NudeNet's 320n detector run on onnxruntime (no OpenCV), or Amazon Rekognition."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from PIL import Image

from shared.domain.errors import Unavailable, UnreadableMedia
from shared.media.pixels import jpeg_bytes

if TYPE_CHECKING:
    # numpy and onnxruntime live in the ml layer: imported where used, so that importing this
    # module (e.g. for RekognitionModerator) works in functions that do not load that layer.
    import numpy as np
    import onnxruntime
    from numpy.typing import NDArray

# Class ids of the 320n model, in order (NudeNet 3.4's label list; the model's own metadata agrees).
NUDENET_LABELS: tuple[str, ...] = (
    "FEMALE_GENITALIA_COVERED",
    "FACE_FEMALE",
    "BUTTOCKS_EXPOSED",
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_BREAST_EXPOSED",
    "ANUS_EXPOSED",
    "FEET_EXPOSED",
    "BELLY_COVERED",
    "FEET_COVERED",
    "ARMPITS_COVERED",
    "ARMPITS_EXPOSED",
    "FACE_MALE",
    "BELLY_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "ANUS_COVERED",
    "FEMALE_BREAST_COVERED",
    "BUTTOCKS_COVERED",
)
# What makes an image explicit; faces, feet, bellies, armpits, male chests and covered parts do not.
NUDENET_EXPLICIT: frozenset[str] = frozenset(
    {
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "BUTTOCKS_EXPOSED",
        "ANUS_EXPOSED",
    }
)
# Rekognition labels that are explicit themselves or whose parent is: "Explicit" and its children are
# taxonomy v7; "Explicit Nudity" was v6's top level and is v7's parent of the Exposed-* labels.
REKOGNITION_EXPLICIT: frozenset[str] = frozenset(
    {"Explicit", "Explicit Nudity", "Explicit Sexual Activity", "Sex Toys"}
)

NUDENET_PROVIDER = "nudenet-320n"
REKOGNITION_PROVIDER = "rekognition"
MODEL_FILE = "320n.onnx"
INPUT_NAME = "images"
INPUT_SIZE = 320
DEFAULT_MIN_CONFIDENCE = 0.25
DEFAULT_IOU_THRESHOLD = 0.45
# Rekognition takes at most 5 MB of image bytes; a 1920 px JPEG stays far below and loses nothing it needs.
REKOGNITION_MAX_PX = 1920


@dataclass(frozen=True)
class ModerationResult:
    """How explicit an image (or the worst of a video's frames) looks, and what was seen."""

    score: float  # 0..1: the highest confidence among explicit labels, 0.0 when none was found
    labels: tuple[tuple[str, float], ...]  # (label, confidence) at or above the reporting floor, surest first
    provider: str
    model_version: str


@dataclass(frozen=True)
class Detection:
    """One box the detector kept, in the source image's pixels (x, y = top-left corner)."""

    label: str
    confidence: float
    box: tuple[float, float, float, float]  # x, y, width, height


@dataclass(frozen=True)
class Letterboxed:
    """The model's input tensor and how to map its coordinates back to the source image."""

    tensor: NDArray[np.float32]  # (1, 3, size, size), RGB, 0..1
    scale: float  # source pixels per model pixel
    width: int
    height: int


class Moderator(Protocol):
    """Scores images for explicit content."""

    def moderate(self, image: Image.Image) -> ModerationResult:
        """The result for one image."""

    def moderate_frames(self, images: Iterable[Image.Image]) -> ModerationResult:
        """The worst frame's score and every frame's labels; ValueError when there is no frame."""


class _Session(Protocol):
    """The part of onnxruntime.InferenceSession this module uses (tests pass a fake)."""

    def run(self, output_names: Sequence[str] | None, input_feed: Mapping[str, Any]) -> Sequence[Any]:
        """Run the model."""


class _RekognitionClient(Protocol):
    """The part of a boto3 Rekognition client this module uses."""

    def detect_moderation_labels(self, **kwargs: Any) -> Mapping[str, Any]:
        """DetectModerationLabels."""


def merge_results(results: Iterable[ModerationResult]) -> ModerationResult:
    """The highest score, and each label once at its highest confidence; ValueError when empty."""
    results = list(results)
    if not results:
        raise ValueError("no frames to moderate")
    best: dict[str, float] = {}
    for result in results:
        for label, confidence in result.labels:
            best[label] = max(confidence, best.get(label, 0.0))
    return ModerationResult(
        score=max(result.score for result in results),
        labels=_sorted_labels(best),
        provider=results[0].provider,
        model_version=results[0].model_version,
    )


def _sorted_labels(best: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    return tuple(sorted(best.items(), key=lambda item: (-item[1], item[0])))


# --- NudeNet on onnxruntime ---------------------------------------------------------------------------------------


def nudenet_model_path() -> str:
    """Where the installed nudenet wheel keeps 320n.onnx, found without importing nudenet (it imports cv2)."""
    # find_spec locates a top-level package without running its __init__; importlib.resources.files would run it.
    spec = importlib.util.find_spec("nudenet")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = os.path.join(location, MODEL_FILE)
        if os.path.isfile(path):
            return path
    raise Unavailable(f"the nudenet package with {MODEL_FILE} is not installed (the ml layer ships it)")


def nudenet_version() -> str:
    """The installed nudenet distribution's version, read from its metadata."""
    try:
        return importlib.metadata.version("nudenet")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def default_threads() -> int:
    """Intra-op threads: Lambda gives at most 2 vCPUs below 3 GB, and more threads only contend."""
    return max(1, min(2, os.cpu_count() or 1))


_SESSIONS: dict[tuple[str, int], _Session] = {}
_SESSIONS_LOCK = threading.Lock()


def load_session(model_path: str, threads: int) -> _Session:
    """The process's one InferenceSession for this model (created on first use, ~0.1 s; reused warm)."""
    key = (model_path, threads)
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = _create_session(model_path, threads)
            _SESSIONS[key] = session
        return session


def _create_session(model_path: str, threads: int) -> onnxruntime.InferenceSession:
    try:
        import onnxruntime
    except ImportError as exc:
        raise Unavailable(f"onnxruntime is not installed (the ml layer ships it): {exc}") from exc
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Spinning workers would burn the CPU the rest of the pipeline (decode, encode) needs between images.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(model_path, sess_options=options, providers=["CPUExecutionProvider"])
    _check_labels(session, model_path)
    return session


def _check_labels(session: onnxruntime.InferenceSession, model_path: str) -> None:
    """Refuse a model whose embedded class names differ from NUDENET_LABELS (a changed wheel would mislabel)."""
    names = session.get_modelmeta().custom_metadata_map.get("names")
    if names is None:
        return
    declared = ast.literal_eval(names)
    if tuple(declared[i] for i in sorted(declared)) != NUDENET_LABELS:
        raise Unavailable(f"{model_path} declares classes {declared}, not NudeNet 3.4's")


def letterbox(image: Image.Image, size: int = INPUT_SIZE) -> Letterboxed:
    """Scale the long side to `size`, pad right/bottom with black to a square, as an RGB NCHW float tensor."""
    import numpy as np

    # RGB, as Ultralytics trains YOLOv8. (NudeNet 3.4.2's own OpenCV path ends up feeding BGR: its
    # cvtColor(RGBA2BGR) on a BGR image swaps to RGB and blobFromImage(swapRB=True) swaps back.)
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    width, height = rgb.size
    if width < 1 or height < 1:
        raise UnreadableMedia("image has no pixels")
    scale = max(width, height) / size
    target = (max(1, min(size, round(width / scale))), max(1, min(size, round(height / scale))))
    # Antialiased bilinear: close to the INTER_AREA downscale the model saw in training; reducing_gap
    # first shrinks by an integer factor (cheap box filter) so a 4000 px photo does not cost 50 ms.
    resized = rgb.resize(target, Image.Resampling.BILINEAR, reducing_gap=3.0) if target != rgb.size else rgb
    canvas = np.zeros((size, size, 3), dtype=np.uint8)
    canvas[: target[1], : target[0]] = np.asarray(resized, dtype=np.uint8)
    tensor = np.ascontiguousarray(canvas.transpose(2, 0, 1)[np.newaxis], dtype=np.float32)
    tensor *= np.float32(1.0 / 255.0)
    return Letterboxed(tensor=tensor, scale=scale, width=width, height=height)


def decode(
    output: NDArray[np.float32],
    letterboxed: Letterboxed,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    iou_threshold: float = DEFAULT_IOU_THRESHOLD,
) -> list[Detection]:
    """Detections from a YOLOv8 head output (1, 4 + classes, anchors): cx, cy, w, h then per-class scores."""
    import numpy as np

    rows = np.asarray(output, dtype=np.float32)[0].T  # (anchors, 4 + classes)
    if rows.shape[1] != 4 + len(NUDENET_LABELS):
        raise ValueError(f"model output has {rows.shape[1]} channels, expected {4 + len(NUDENET_LABELS)}")
    class_scores = rows[:, 4:]
    # One class per anchor (its best), as NudeNet and Ultralytics' single-label NMS do.
    class_ids = class_scores.argmax(axis=1)
    confidences = class_scores[np.arange(len(rows)), class_ids]
    keep = confidences >= min_confidence
    rows, class_ids, confidences = rows[keep], class_ids[keep], confidences[keep]
    if not len(rows):
        return []
    centre_x, centre_y, box_w, box_h = (rows[:, i] * letterboxed.scale for i in range(4))
    corners = np.stack(
        [
            np.clip(centre_x - box_w / 2, 0, letterboxed.width),
            np.clip(centre_y - box_h / 2, 0, letterboxed.height),
            np.clip(centre_x + box_w / 2, 0, letterboxed.width),
            np.clip(centre_y + box_h / 2, 0, letterboxed.height),
        ],
        axis=1,
    )
    detections = []
    for index in nms(corners, confidences, class_ids, iou_threshold):
        x1, y1, x2, y2 = (float(v) for v in corners[index])
        detections.append(
            Detection(
                label=NUDENET_LABELS[int(class_ids[index])],
                confidence=float(confidences[index]),
                box=(x1, y1, x2 - x1, y2 - y1),
            )
        )
    return detections


def nms(
    corners: NDArray[np.float32], scores: NDArray[np.float32], class_ids: NDArray[np.intp], iou_threshold: float
) -> list[int]:
    """Greedy per-class non-maximum suppression on (x1, y1, x2, y2) boxes; kept indices, best first."""
    import numpy as np

    # Per class (Ultralytics' default): an EXPOSED box must never be swallowed by an overlapping COVERED one,
    # and a class's best confidence then survives NMS unchanged.
    order = np.argsort(-scores, kind="stable")
    areas = (corners[:, 2] - corners[:, 0]) * (corners[:, 3] - corners[:, 1])
    suppressed = np.zeros(len(scores), dtype=bool)
    kept: list[int] = []
    for position, index in enumerate(order):
        if suppressed[index]:
            continue
        kept.append(int(index))
        rest = order[position + 1 :]
        rest = rest[~suppressed[rest] & (class_ids[rest] == class_ids[index])]
        if not len(rest):
            continue
        x1, y1, x2, y2 = corners[index]
        inter_w = np.clip(np.minimum(corners[rest, 2], x2) - np.maximum(corners[rest, 0], x1), 0, None)
        inter_h = np.clip(np.minimum(corners[rest, 3], y2) - np.maximum(corners[rest, 1], y1), 0, None)
        intersection = inter_w * inter_h
        union = areas[rest] + areas[index] - intersection
        iou = np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)
        suppressed[rest[iou > iou_threshold]] = True
    return kept


def result_from_detections(detections: Iterable[Detection], model_version: str) -> ModerationResult:
    """Score = the surest explicit detection; labels = each detected label once, at its best confidence."""
    best: dict[str, float] = {}
    for detection in detections:
        best[detection.label] = max(detection.confidence, best.get(detection.label, 0.0))
    score = max((confidence for label, confidence in best.items() if label in NUDENET_EXPLICIT), default=0.0)
    return ModerationResult(
        score=score, labels=_sorted_labels(best), provider=NUDENET_PROVIDER, model_version=model_version
    )


class NudeNetModerator:
    """NudeNet's shipped 320n ONNX detector on onnxruntime's CPU provider, with Pillow/numpy pre/post-processing."""

    def __init__(
        self,
        model_path: str | None = None,
        *,
        threads: int | None = None,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
        iou_threshold: float = DEFAULT_IOU_THRESHOLD,
        session: _Session | None = None,
    ) -> None:
        self._model_path = model_path
        self._threads = threads or default_threads()
        self._min_confidence = min_confidence
        self._iou_threshold = iou_threshold
        self._session = session
        self.model_version = nudenet_version() if model_path is None else os.path.basename(model_path)

    def _loaded(self) -> _Session:
        # Lazy: constructing a moderator (e.g. at import of a handler) costs nothing until an image arrives.
        if self._session is None:
            self._session = load_session(self._model_path or nudenet_model_path(), self._threads)
        return self._session

    def detect(self, image: Image.Image) -> list[Detection]:
        """Every box the model keeps for `image`, in its pixels."""
        letterboxed = letterbox(image)
        outputs = self._loaded().run(None, {INPUT_NAME: letterboxed.tensor})
        return decode(outputs[0], letterboxed, self._min_confidence, self._iou_threshold)

    def moderate(self, image: Image.Image) -> ModerationResult:
        """The result for one image."""
        return result_from_detections(self.detect(image), self.model_version)

    def moderate_frames(self, images: Iterable[Image.Image]) -> ModerationResult:
        """The worst frame's score and every frame's labels; ValueError when there is no frame."""
        return merge_results(self.moderate(image) for image in images)


# --- Amazon Rekognition ---------------------------------------------------------------------------------------------

# Rekognition's answers about the image itself, as opposed to throttling or a service fault.
_REKOGNITION_BAD_IMAGE = frozenset(
    {"InvalidImageFormatException", "ImageTooLargeException", "InvalidParameterException"}
)


class RekognitionModerator:
    """DetectModerationLabels on the image's JPEG bytes, mapped to the same result as NudeNet's."""

    def __init__(self, client: _RekognitionClient, min_confidence: float = 0.5) -> None:
        self._client = client
        self._min_confidence = min_confidence

    def moderate(self, image: Image.Image) -> ModerationResult:
        """The result for one image; UnreadableMedia if Rekognition refuses it, Unavailable if it fails."""
        try:
            response = self._client.detect_moderation_labels(
                Image={"Bytes": _jpeg_bytes(image)}, MinConfidence=self._min_confidence * 100.0
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _REKOGNITION_BAD_IMAGE:
                raise UnreadableMedia(f"Rekognition refused the image: {code}") from exc
            raise Unavailable(f"Rekognition DetectModerationLabels failed: {code or exc}") from exc
        except BotoCoreError as exc:
            raise Unavailable(f"Rekognition DetectModerationLabels failed: {exc}") from exc
        best: dict[str, float] = {}
        score = 0.0
        for label in response.get("ModerationLabels", []):
            name = str(label.get("Name", ""))
            confidence = min(1.0, max(0.0, float(label.get("Confidence", 0.0)) / 100.0))
            if not name:
                continue
            best[name] = max(confidence, best.get(name, 0.0))
            if name in REKOGNITION_EXPLICIT or label.get("ParentName") in REKOGNITION_EXPLICIT:
                score = max(score, confidence)
        return ModerationResult(
            score=score,
            labels=_sorted_labels(best),
            provider=REKOGNITION_PROVIDER,
            model_version=str(response.get("ModerationModelVersion", "")),
        )

    def moderate_frames(self, images: Iterable[Image.Image]) -> ModerationResult:
        """The worst frame's score and every frame's labels; ValueError when there is no frame."""
        return merge_results(self.moderate(image) for image in images)


def _jpeg_bytes(image: Image.Image) -> bytes:
    """The image as a JPEG Rekognition accepts: RGB, at most REKOGNITION_MAX_PX on its long side."""
    return jpeg_bytes(image, max_px=REKOGNITION_MAX_PX, quality=90)
