"""Video probing, posters and transcoding on small clips made with PyAV in the test itself."""

from __future__ import annotations

import math
import os
import random
import struct
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageStat

# PyAV ships in the video layer (layers/video); without it these tests cannot run at all.
av = pytest.importorskip("av", reason="PyAV is installed from layers/video/requirements.txt")

from shared.domain.errors import RejectedMedia, UnreadableMedia  # noqa: E402
from shared.domain.media import MediaKind  # noqa: E402
from shared.media.video import (  # noqa: E402
    MP4_FAMILY,
    VideoMetadata,
    needs_transcode,
    probe,
    representative_frame,
    transcode_to_mp4,
)

LIMITS = {"max_duration_s": 60.0, "max_pixels": 4096 * 2160}
FPS = 25
SECONDS = 2


def _pattern(i: int, width: int, height: int) -> Image.Image:
    """Black for the first 0.6 s (a fade-in), then a bright, busy pattern: top half red, bottom half blue."""
    if i < FPS * 0.6:
        return Image.new("RGB", (width, height), (0, 0, 0))
    image = Image.new("RGB", (width, height), (230, 40, 40))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height // 2, width, height), fill=(40, 40, 230))
    for x in range(0, width, 40):
        draw.rectangle((x + i % 20, 10, x + i % 20 + 12, 30), fill=(255, 255, 255))
    return image


def _tone(rate: int, start: int, samples: int) -> bytes:
    """Mono s16 samples of a 440 Hz sine."""
    return b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * (start + n) / rate))) for n in range(samples)
    )


def _write(
    path: Path,
    *,
    fmt: str,
    video: str | None,
    audio: str | None,
    size: tuple[int, int] = (320, 240),
    rotate: Callable[[object], None] | None = None,
    video_options: dict[str, str] | None = None,
    audio_rate: int = 48000,
    faststart: bool = False,
    clock_start_s: int = 0,
) -> Path:
    """Encode SECONDS of the pattern (and a tone) into path."""
    out = av.open(str(path), "w", format=fmt, options={"movflags": "+faststart"} if faststart else None)
    vs = None
    if video is not None:
        vs = out.add_stream(video, rate=FPS, options=video_options or {})
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        if rotate is not None:
            rotate(vs)
    aus = None
    if audio is not None:
        aus = out.add_stream(audio, rate=audio_rate)
        aus.layout = "stereo" if audio != "aac" else "mono"
    if vs is not None:
        for i in range(FPS * SECONDS):
            frame = av.VideoFrame.from_image(_pattern(i, *size))
            frame.pts = i + clock_start_s * FPS
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
    if aus is not None:
        block = 960 if audio_rate == 48000 else 1024
        for start in range(0, audio_rate * SECONDS, block):
            frame = av.AudioFrame(format="s16", layout="mono", samples=block)
            frame.sample_rate = audio_rate
            frame.planes[0].update(_tone(audio_rate, start, block))
            frame.pts = start + clock_start_s * audio_rate
            out.mux(aus.encode(frame))
        out.mux(aus.encode(None))
    out.close()
    return path


class _Sink:
    """A write-only file: the muxer cannot go back to fill in the duration, as with a browser recording."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("wb")

    def write(self, data: bytes) -> int:
        return self._file.write(data)

    def close(self) -> None:
        self._file.close()


def _write_unseekable(path: Path) -> Path:
    sink = _Sink(path)
    out = av.open(sink, "w", format="webm")
    vs = out.add_stream("libvpx-vp9", rate=FPS, options={"deadline": "realtime", "cpu-used": "8"})
    vs.width, vs.height, vs.pix_fmt = 320, 240, "yuv420p"
    for i in range(FPS * SECONDS):
        frame = av.VideoFrame.from_image(_pattern(i, 320, 240))
        frame.pts = i
        out.mux(vs.encode(frame))
    out.mux(vs.encode(None))
    out.close()
    sink.close()
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The test clips, made once for the module."""
    root = tmp_path_factory.mktemp("video")
    made: dict[str, Path] = {}
    made["h264"] = _write(
        root / "clip.mp4", fmt="mp4", video="libx264", audio="aac", video_options={"preset": "ultrafast"}
    )
    if "libvpx-vp9" in av.codecs_available and "libopus" in av.codecs_available:
        made["webm"] = _write(
            root / "clip.webm",
            fmt="webm",
            video="libvpx-vp9",
            audio="libopus",
            video_options={"deadline": "realtime", "cpu-used": "8"},
        )
        made["no_duration"] = _write_unseekable(root / "recorded.webm")

    def quarter_turn(stream: object) -> None:
        # A phone held upright: the pixels are landscape, the display matrix turns them a quarter clockwise.
        stream.set_display_rotation(-90)  # type: ignore[attr-defined]

    made["rotated"] = _write(
        root / "portrait.mp4",
        fmt="mp4",
        video="libx264",
        audio=None,
        rotate=quarter_turn,
        video_options={"preset": "ultrafast"},
    )
    # MPEG-TS (camcorders' .mts, broadcast cuts) rarely starts its clock at 0.
    made["ts"] = _write(
        root / "camera.ts",
        fmt="mpegts",
        video="libx264",
        audio="aac",
        video_options={"preset": "ultrafast"},
        clock_start_s=10,
    )
    data = made["h264"].read_bytes()
    (root / "truncated.mp4").write_bytes(data[: len(data) // 2])
    made["truncated"] = root / "truncated.mp4"
    # With the index first, a cut-short upload still opens: only its index gives it away.
    whole = _write(root / "fast.mp4", fmt="mp4", video="libx264", audio="aac", faststart=True)
    data = whole.read_bytes()
    (root / "truncated_fast.mp4").write_bytes(data[: len(data) // 2])
    made["truncated_fast"] = root / "truncated_fast.mp4"
    (root / "notes.mp4").write_text("these are my holiday notes, not a video\n" * 200)
    made["text"] = root / "notes.mp4"
    made["audio_only"] = _write(root / "song.m4a", fmt="mp4", video=None, audio="aac", audio_rate=44100)
    (root / "empty.mp4").write_bytes(b"")
    made["empty"] = root / "empty.mp4"
    return made


def _luma(image: Image.Image) -> float:
    return float(ImageStat.Stat(image.convert("L")).mean[0])


def test_probe_h264_mp4(clips: dict[str, Path]) -> None:
    meta = probe(str(clips["h264"]), **LIMITS)
    assert meta.container == MP4_FAMILY
    assert (meta.video_codec, meta.audio_codec, meta.has_audio) == ("h264", "aac", True)
    assert (meta.width, meta.height, meta.rotation) == (320, 240, 0)
    assert meta.fps == pytest.approx(FPS)
    assert meta.duration_s == pytest.approx(SECONDS, abs=0.15)
    assert meta.frame_count == FPS * SECONDS
    assert meta.bitrate > 0
    assert meta.pixel_format == "yuv420p"
    assert meta.to_dict()["video_codec"] == "h264"
    assert needs_transcode(meta) is False


def test_probe_webm_needs_transcode(clips: dict[str, Path]) -> None:
    if "webm" not in clips:
        pytest.skip("this PyAV wheel has no VP9/Opus encoder")
    meta = probe(str(clips["webm"]), **LIMITS)
    assert meta.container.startswith("matroska")
    assert (meta.video_codec, meta.audio_codec) == ("vp9", "opus")
    assert meta.duration_s == pytest.approx(SECONDS, abs=0.15)
    assert needs_transcode(meta) is True


def test_duration_is_measured_when_the_header_has_none(clips: dict[str, Path]) -> None:
    if "no_duration" not in clips:
        pytest.skip("this PyAV wheel has no VP9/Opus encoder")
    path = str(clips["no_duration"])
    with av.open(path) as container:
        assert container.duration is None
    meta = probe(path, **LIMITS)
    assert meta.duration_s == pytest.approx(SECONDS, abs=0.15)
    assert meta.frame_count is None
    with pytest.raises(RejectedMedia, match="above the 1 s limit"):
        probe(path, max_duration_s=1.0, max_pixels=10**8)
    assert _luma(representative_frame(path)) > 60


def test_probe_rotated_reports_display_size(clips: dict[str, Path]) -> None:
    meta = probe(str(clips["rotated"]), **LIMITS)
    assert (meta.rotation, meta.width, meta.height) == (90, 240, 320)
    assert meta.has_audio is False
    assert meta.audio_codec is None


def test_needs_transcode_for_large_or_odd_mp4() -> None:
    base = VideoMetadata(
        duration_s=2.0,
        width=1920,
        height=1080,
        rotation=0,
        fps=30.0,
        video_codec="h264",
        audio_codec="aac",
        container=MP4_FAMILY,
        bitrate=4_000_000,
        frame_count=60,
        has_audio=True,
        pixel_format="yuv420p",
    )
    assert needs_transcode(base) is True
    assert needs_transcode(base, max_long_side=1920) is False
    assert needs_transcode(base, max_long_side=1920, max_bitrate=1_000_000) is True
    assert needs_transcode(VideoMetadata(**{**base.to_dict(), "width": 640, "height": 360})) is False
    ten_bit = VideoMetadata(**{**base.to_dict(), "width": 640, "height": 360, "pixel_format": "yuv420p10le"})
    assert needs_transcode(ten_bit) is True
    hevc = VideoMetadata(**{**base.to_dict(), "width": 640, "height": 360, "video_codec": "hevc"})
    assert needs_transcode(hevc) is True


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("truncated", "not a video container"),
        ("truncated_fast", "truncated"),
        ("text", "not a video container"),
        ("audio_only", "no video stream"),
        ("empty", "not a video container"),
    ],
)
def test_hostile_files_are_unreadable(clips: dict[str, Path], name: str, reason: str) -> None:
    with pytest.raises(UnreadableMedia, match=reason):
        probe(str(clips[name]), **LIMITS)


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableMedia):
        probe(str(tmp_path / "gone.mp4"), **LIMITS)


def test_limits_are_enforced(clips: dict[str, Path]) -> None:
    with pytest.raises(RejectedMedia, match="above the 1 s limit"):
        probe(str(clips["h264"]), max_duration_s=1.0, max_pixels=10**8)
    with pytest.raises(RejectedMedia, match="320x240, above the 10000-pixel limit"):
        probe(str(clips["h264"]), max_duration_s=60.0, max_pixels=10_000)


def test_poster_is_not_the_black_first_frame(clips: dict[str, Path]) -> None:
    poster = representative_frame(str(clips["h264"]))
    assert poster.mode == "RGB"
    assert poster.size == (320, 240)
    assert _luma(poster) > 60


def test_poster_is_downscaled_and_upright(clips: dict[str, Path]) -> None:
    poster = representative_frame(str(clips["rotated"]), max_px=160)
    assert poster.size == (120, 160)
    assert _luma(poster) > 60
    # Turned a quarter clockwise, the red top of the pixels is on the right of the picture.
    left = poster.crop((0, 40, 40, 120)).convert("RGB")
    right = poster.crop((80, 40, 120, 120)).convert("RGB")
    left_r, _, left_b = ImageStat.Stat(left).mean
    right_r, _, right_b = ImageStat.Stat(right).mean
    assert right_r > right_b + 80
    assert left_b > left_r + 80


def test_poster_of_webm(clips: dict[str, Path]) -> None:
    if "webm" not in clips:
        pytest.skip("this PyAV wheel has no VP9/Opus encoder")
    assert _luma(representative_frame(str(clips["webm"]), sample_count=3)) > 60


def test_transcode_webm_to_web_mp4(clips: dict[str, Path], tmp_path: Path) -> None:
    if "webm" not in clips:
        pytest.skip("this PyAV wheel has no VP9/Opus encoder")
    dst = tmp_path / "web.mp4"
    meta = transcode_to_mp4(str(clips["webm"]), str(dst), max_long_side=200, max_duration_s=60.0)
    assert (meta.container, meta.video_codec, meta.audio_codec) == (MP4_FAMILY, "h264", "aac")
    assert (meta.width, meta.height) == (200, 150)
    assert meta.duration_s == pytest.approx(SECONDS, abs=0.2)
    assert needs_transcode(meta) is False
    assert probe(str(dst), **LIMITS) == meta
    # faststart: the index (moov) precedes the media data, so playback starts before the download ends.
    head = dst.read_bytes()[:4096]
    assert 0 <= head.find(b"moov") < max(head.find(b"mdat"), 4096)


def test_transcode_turns_rotated_video_upright(clips: dict[str, Path], tmp_path: Path) -> None:
    dst = tmp_path / "upright.mp4"
    meta = transcode_to_mp4(str(clips["rotated"]), str(dst), max_long_side=161)
    assert (meta.rotation, meta.width, meta.height) == (0, 120, 160)
    assert meta.width % 2 == 0
    assert meta.height % 2 == 0
    assert meta.has_audio is False
    assert meta.duration_s == pytest.approx(SECONDS, abs=0.2)
    poster = representative_frame(str(dst))
    right_r, _, right_b = ImageStat.Stat(poster.crop((80, 40, 120, 120))).mean
    assert right_r > right_b + 80


def test_transcode_keeps_audio_and_small_size(clips: dict[str, Path], tmp_path: Path) -> None:
    dst = tmp_path / "same.mp4"
    meta = transcode_to_mp4(str(clips["h264"]), str(dst))
    assert (meta.width, meta.height, meta.audio_codec) == (320, 240, "aac")
    assert meta.frame_count == FPS * SECONDS


def test_transcode_aborts_over_time_budget(clips: dict[str, Path], tmp_path: Path) -> None:
    dst = tmp_path / "slow.mp4"
    with pytest.raises(UnreadableMedia, match="time budget"):
        transcode_to_mp4(str(clips["h264"]), str(dst), time_budget_s=0.0)
    assert not dst.exists()


def test_transcode_refuses_hostile_input_and_leaves_nothing(clips: dict[str, Path], tmp_path: Path) -> None:
    dst = tmp_path / "out.mp4"
    with pytest.raises(UnreadableMedia):
        transcode_to_mp4(str(clips["text"]), str(dst))
    assert not dst.exists()


def test_timings_are_reported(clips: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Not a benchmark: prints what the 2 s clip costs, so regressions show up in -s runs."""
    src = str(clips["h264"])
    started = time.perf_counter()
    probe(src, **LIMITS)
    probed = time.perf_counter()
    representative_frame(src)
    postered = time.perf_counter()
    transcode_to_mp4(src, str(tmp_path / "t.mp4"))
    done = time.perf_counter()
    with capsys.disabled():
        print(
            f"\n2 s 320x240 clip: probe {1000 * (probed - started):.0f} ms, "
            f"poster {1000 * (postered - probed):.0f} ms, transcode {1000 * (done - postered):.0f} ms, "
            f"output {os.path.getsize(tmp_path / 't.mp4')} bytes"
        )
    assert done - started < 10


def test_transport_stream_with_a_late_clock(clips: dict[str, Path], tmp_path: Path) -> None:
    meta = probe(str(clips["ts"]), **LIMITS)
    assert (meta.container, meta.video_codec, meta.audio_codec) == ("mpegts", "h264", "aac")
    assert needs_transcode(meta) is True
    assert _luma(representative_frame(str(clips["ts"]))) > 60
    dst = tmp_path / "camera.mp4"
    # The limit counts from the first frame (at 10 s), and the output starts at zero.
    out = transcode_to_mp4(str(clips["ts"]), str(dst), max_duration_s=2.1)
    assert out.duration_s == pytest.approx(SECONDS, abs=0.2)
    assert out.frame_count == FPS * SECONDS
    with av.open(str(dst)) as container:
        assert container.streams.video[0].start_time in (0, None)


def test_damaged_files_fail_only_as_unreadable(clips: dict[str, Path], tmp_path: Path) -> None:
    """Bytes overwritten at random (seeded): every outcome is a result or UnreadableMedia, never a crash."""
    rng = random.Random(7)
    for name in ("h264", "truncated_fast", "ts"):
        data = clips[name].read_bytes()
        for attempt in range(4):
            damaged = bytearray(data)
            for _ in range(rng.randint(1, 12)):
                at = rng.randrange(len(damaged))
                damaged[at : at + 64] = rng.randbytes(len(damaged[at : at + 64]))
            path = tmp_path / f"{name}-{attempt}.bin"
            path.write_bytes(bytes(damaged))
            dst = tmp_path / f"{name}-{attempt}.mp4"
            for run in (
                lambda p=path: probe(str(p), **LIMITS),
                lambda p=path: representative_frame(str(p)),
                lambda p=path, d=dst: transcode_to_mp4(str(p), str(d), time_budget_s=10),
            ):
                try:
                    run()
                except UnreadableMedia as exc:
                    assert exc.message


def test_a_browser_ready_original_is_its_own_web_rendition(clips: dict[str, Path], tmp_path: Path) -> None:
    # GIVEN an H.264/AAC MP4 browsers play as it is; WHEN the processor's renderer renders it
    from shared.media.render import LocalRenderer

    analysis = LocalRenderer(max_image_pixels=100_000_000).render(str(clips["h264"]), MediaKind.VIDEO, str(tmp_path))
    # THEN its web rendition is the original's bytes (stored under renditions/ like a transcode), so anyone who
    # may view the video can play it without a download link
    web = {r.name: r for r in analysis.renditions}["web"]
    assert (web.path, web.content_type, web.extension) == (str(clips["h264"]), "video/mp4", "mp4")
    assert (web.width, web.height) == (analysis.width, analysis.height)
    assert analysis.metadata["web"]["source"] == "original"


def test_an_original_browsers_cannot_play_gets_a_transcoded_web_rendition(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    if "webm" not in clips:
        pytest.skip("this PyAV build cannot write VP9/Opus")
    from shared.media.render import LocalRenderer

    analysis = LocalRenderer(max_image_pixels=100_000_000).render(str(clips["webm"]), MediaKind.VIDEO, str(tmp_path))
    web = {r.name: r for r in analysis.renditions}["web"]
    assert web.path != str(clips["webm"]) and web.path.endswith("web.mp4")
    assert "source" not in analysis.metadata["web"]
