"""Video probing, poster frames and web MP4 transcoding with PyAV, on a local file."""

from __future__ import annotations

import math
import os
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

import av
import av.error
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.filter import Graph
from av.packet import Packet
from av.stream import Disposition
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image, ImageStat

from shared.domain.errors import RejectedMedia, UnreadableMedia

# Demuxers the vault opens; the rest (hls, concat, image2, tty, ...) are refused before probing,
# because some of them follow references to other files and some read plain text as "video".
VIDEO_CONTAINERS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,mpeg,flv,ogg"
# FFmpeg's name for the ISO-BMFF demuxer, which reads MP4 and MOV alike.
MP4_FAMILY = "mov,mp4,m4a,3gp,3g2,mj2"

DEFAULT_MAX_DURATION_S = 600.0
DEFAULT_MAX_PIXELS = 7680 * 4320
DEFAULT_TIME_BUDGET_S = 600.0
DEFAULT_VIDEO_BITRATE = 2_500_000
DEFAULT_AUDIO_BITRATE = 128_000

# Wall-clock limits on opening and on each read; PyAV enforces them with an interrupt callback.
_OPEN_TIMEOUT_S = 10.0
_READ_TIMEOUT_S = 10.0
# Packets demuxed while looking for the first decodable video frame.
_PROBE_PACKET_CAP = 600
# Packets demuxed to measure a file whose header states no duration (browser MediaRecorder WebM).
_SCAN_PACKET_CAP = 200_000
# Frames decoded after each seek while walking to a poster sample point.
_FRAMES_PER_SAMPLE = 24
# A poster candidate darker than this mean luma (0-255) only wins if nothing brighter exists.
_POSTER_MIN_LUMA = 28.0
_POSTER_MAX_LUMA = 235.0
_SCORE_SIZE = 64
# Browsers' H.264 decoders expect 8-bit 4:2:0.
_WEB_PIXEL_FORMATS = frozenset({"yuv420p", "yuvj420p"})
_AAC_FRAME_SIZE = 1024
# Damaged packets a transcode skips before it calls the whole file corrupt.
_MAX_BAD_PACKETS = 50


@dataclass(frozen=True)
class VideoMetadata:
    """What probing learnt about a video; width and height are as displayed (rotation and pixel aspect applied)."""

    duration_s: float
    width: int
    height: int
    rotation: int
    fps: float
    video_codec: str
    audio_codec: str | None
    container: str
    bitrate: int
    frame_count: int | None
    has_audio: bool
    pixel_format: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields."""
        return asdict(self)


def probe(path: str, *, max_duration_s: float, max_pixels: int) -> VideoMetadata:
    """Metadata of the video at path; UnreadableMedia if it is not one the vault will process."""
    with _open_input(path) as container:
        video = _video_stream(container)
        coded_w, coded_h = video.codec_context.width, video.codec_context.height
        if coded_w <= 0 or coded_h <= 0:
            raise UnreadableMedia("video stream has no frame size")
        if coded_w * coded_h > max_pixels:
            raise RejectedMedia(f"video is {coded_w}x{coded_h}, above the {max_pixels}-pixel limit")
        duration = _duration_s(container, video, max_duration_s)
        if duration > max_duration_s:
            raise RejectedMedia(f"video lasts {duration:.2f} s, above the {max_duration_s:g} s limit")
        _check_not_truncated(container, path)
        first = _first_frame(container, video)
        meta = _metadata(container, video, duration, path, first)
    return meta


def needs_transcode(meta: VideoMetadata, *, max_long_side: int = 1280, max_bitrate: int = 8_000_000) -> bool:
    """Whether the original needs a web MP4 rendition: False when browsers can play it as it is."""
    return not (
        meta.container == MP4_FAMILY
        and meta.video_codec == "h264"
        and meta.audio_codec in (None, "aac")
        and (meta.pixel_format is None or meta.pixel_format in _WEB_PIXEL_FORMATS)
        and max(meta.width, meta.height) <= max_long_side
        and (meta.bitrate <= 0 or meta.bitrate <= max_bitrate)
    )


def representative_frame(path: str, *, sample_count: int = 5, max_px: int = 1440) -> Image.Image:
    """A poster: the liveliest of a few frames sampled across the video, upright RGB, at most max_px."""
    count = max(1, sample_count)
    with _open_input(path) as container:
        video = _video_stream(container)
        video.thread_type = "AUTO"
        rotation, sar = _rotation(video), _sample_aspect(video)
        best = _liveliest(_sample_frames(container, video, _stated_duration_s(container, video), count))
    if best is None:
        # Seeking found nothing to decode (no index, keyframes far apart): read from the start instead.
        with _open_input(path) as container:
            video = _video_stream(container)
            best = _liveliest(_sample_frames(container, video, None, count))
    if best is None:
        raise UnreadableMedia("video data is corrupt: no frame could be decoded")
    return _to_image(best, rotation, sar, max_px)


def transcode_to_mp4(
    src: str,
    dst: str,
    *,
    max_long_side: int = 1280,
    video_bitrate: int = DEFAULT_VIDEO_BITRATE,
    audio_bitrate: int = DEFAULT_AUDIO_BITRATE,
    max_duration_s: float = DEFAULT_MAX_DURATION_S,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    time_budget_s: float = DEFAULT_TIME_BUDGET_S,
    source: VideoMetadata | None = None,
) -> VideoMetadata:
    """Write a faststart H.264/AAC MP4 of src to dst, upright and within max_long_side; its metadata.

    source is src's probe when the caller already has it (probing may read the whole file).
    """
    deadline = time.monotonic() + time_budget_s
    source = source or probe(src, max_duration_s=max_duration_s, max_pixels=max_pixels)
    # PyAV creates the output only on the first packet: a stale file must not pass for the result.
    _remove(dst)
    try:
        with _open_input(src) as inp, av.open(dst, "w", format="mp4", options={"movflags": "+faststart"}) as out:
            _Transcoder(inp, out, source, max_long_side, video_bitrate, audio_bitrate, deadline).run(max_duration_s)
    except BaseException as exc:
        # A half-written MP4 has no moov atom: never leave it where the caller might upload it.
        _remove(dst)
        if isinstance(exc, av.error.FFmpegError):
            raise UnreadableMedia(f"video could not be transcoded: {_reason(exc)}") from exc
        raise
    try:
        return probe(dst, max_duration_s=max_duration_s + 1.0, max_pixels=max_pixels)
    except UnreadableMedia:
        _remove(dst)
        raise


class _Transcoder:
    """One transcode: decode, filter (scale, rotate, pixel format), encode and mux, frame by frame."""

    def __init__(
        self,
        inp: InputContainer,
        out: OutputContainer,
        source: VideoMetadata,
        max_long_side: int,
        video_bitrate: int,
        audio_bitrate: int,
        deadline: float,
    ) -> None:
        self._inp, self._out, self._deadline = inp, out, deadline
        self._in_v = _video_stream(inp)
        self._in_v.thread_type = "AUTO"
        self._rotation = source.rotation
        # Target size as displayed, even (4:2:0 halves both axes), then the size before rotation.
        scale = min(1.0, max_long_side / max(source.width, source.height))
        self._width = max(2, 2 * round(source.width * scale / 2))
        self._height = max(2, 2 * round(source.height * scale / 2))
        pre_w, pre_h = (self._height, self._width) if self._rotation in (90, 270) else (self._width, self._height)
        self._pre_size = (pre_w, pre_h)
        fps = Fraction(source.fps).limit_denominator(1001) if source.fps > 0 else Fraction(30)
        self._out_v = out.add_stream(
            "libx264",
            rate=fps,
            options={
                "preset": "veryfast",
                "crf": "23",
                # Capped CRF: constant quality, but never above the bitrate budget.
                "maxrate": str(video_bitrate),
                "bufsize": str(video_bitrate * 2),
                "profile": "high",
            },
        )
        self._out_v.width, self._out_v.height, self._out_v.pix_fmt = self._width, self._height, "yuv420p"
        # Keep the source's clock so variable-frame-rate input keeps its timing.
        self._out_v.codec_context.time_base = self._in_v.time_base
        self._graph: Graph | None = None
        self._graph_key: tuple[int, int, str] | None = None
        self._last_pts: int | None = None
        self._video_shift = 0
        self._bad_packets = 0
        self._in_a: AudioStream | None = None
        self._resampler: AudioResampler | None = None
        self._out_a: AudioStream | None = None
        audio = [s for s in inp.streams.audio if s.codec_context is not None]
        if audio:
            self._in_a = audio[0]
            rate = 44100 if self._in_a.codec_context.sample_rate == 44100 else 48000
            self._out_a = out.add_stream("aac", rate=rate)
            self._out_a.layout = "stereo"
            self._out_a.format = "fltp"
            self._out_a.bit_rate = audio_bitrate
            self._resampler = AudioResampler(format="fltp", layout="stereo", rate=rate, frame_size=_AAC_FRAME_SIZE)

    def run(self, max_duration_s: float) -> None:
        """Transcode until the end of the input or max_duration_s of it, whichever is first."""
        streams: list[VideoStream | AudioStream] = [self._in_v]
        if self._in_a is not None:
            streams.append(self._in_a)
        # MPEG-TS and cut files start at an arbitrary clock: limit and write times from the first frame.
        origin = _start_s(self._in_v)
        self._video_shift = round(origin / self._in_v.time_base)
        ended = False
        for packet in self._inp.demux(*streams):
            self._check_deadline()
            if packet.stream is self._in_v:
                for frame in self._decode(self._in_v, packet):
                    if frame.time is not None and frame.time - origin > max_duration_s:
                        ended = True
                        break
                    self._video_frame(frame)
            elif self._in_a is not None and packet.stream is self._in_a:
                for aframe in self._decode(self._in_a, packet):
                    if aframe.time is not None and aframe.time - origin > max_duration_s:
                        break
                    if aframe.pts is not None and aframe.time_base:
                        aframe.pts -= round(origin / aframe.time_base)
                    self._audio_frame(aframe)
            if ended:
                break
        self._flush()

    def _decode(self, stream: VideoStream | AudioStream, packet: Packet[Any]) -> list[Any]:
        """The packet's frames; a damaged packet is skipped (as ffmpeg does), a damaged file is not."""
        try:
            return stream.decode(packet)
        except (av.error.FFmpegError, ValueError):
            self._bad_packets += 1
            if self._bad_packets > _MAX_BAD_PACKETS:
                raise UnreadableMedia(f"video data is corrupt: over {_MAX_BAD_PACKETS} undecodable packets") from None
            return []

    def _check_deadline(self) -> None:
        if time.monotonic() > self._deadline:
            raise UnreadableMedia("transcoding took longer than its time budget")

    def _video_frame(self, frame: VideoFrame) -> None:
        graph = self._graph_for(frame)
        graph.push(frame)
        self._drain_graph(graph)

    def _graph_for(self, frame: VideoFrame) -> Graph:
        """The filter graph for this frame's size and format; rebuilt if the stream changes mid-way."""
        key = (frame.width, frame.height, frame.format.name)
        if self._graph is not None and key == self._graph_key:
            return self._graph
        if self._graph is not None:
            self._graph.push(None)
            self._drain_graph(self._graph)
        graph = Graph()
        chain = [
            graph.add_buffer(
                width=frame.width, height=frame.height, format=frame.format, time_base=self._in_v.time_base
            ),
            graph.add("scale", f"{self._pre_size[0]}:{self._pre_size[1]}"),
        ]
        # Turning the pixels (rather than copying the display matrix) plays upright in every player.
        if self._rotation == 90:
            chain.append(graph.add("transpose", "clock"))
        elif self._rotation == 270:
            chain.append(graph.add("transpose", "cclock"))
        elif self._rotation == 180:
            chain += [graph.add("hflip"), graph.add("vflip")]
        chain += [graph.add("format", "yuv420p"), graph.add("setsar", "1"), graph.add("buffersink")]
        graph.link_nodes(*chain)
        graph.configure()
        self._graph, self._graph_key = graph, key
        return graph

    def _drain_graph(self, graph: Graph) -> None:
        while True:
            try:
                out = graph.vpull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return
            self._encode_video(out)

    def _encode_video(self, frame: VideoFrame | None) -> None:
        if frame is not None:
            # x264 refuses a timestamp that does not increase: drop duplicates, number missing ones.
            if frame.pts is None:
                frame.pts = 0 if self._last_pts is None else self._last_pts + 1
            else:
                frame.pts -= self._video_shift
                if self._last_pts is not None and frame.pts <= self._last_pts:
                    return
            self._last_pts = frame.pts
            frame.time_base = self._in_v.time_base
        self._out.mux(self._out_v.encode(frame))

    def _audio_frame(self, frame: AudioFrame | None) -> None:
        if self._resampler is None or self._out_a is None:
            return
        for resampled in self._resampler.resample(frame):
            self._out.mux(self._out_a.encode(resampled))

    def _flush(self) -> None:
        if self._graph is not None:
            self._graph.push(None)
            self._drain_graph(self._graph)
        if self._last_pts is None:
            raise UnreadableMedia("video data is corrupt: no frame could be decoded")
        self._encode_video(None)
        if self._out_a is not None:
            self._audio_frame(None)
            self._out.mux(self._out_a.encode(None))


@contextmanager
def _open_input(path: str) -> Iterator[InputContainer]:
    """The file opened with the vault's demuxer whitelist and timeouts; UnreadableMedia if it can't be."""
    # A FIFO or device would block in the kernel, where no FFmpeg timeout reaches.
    if not os.path.isfile(path):
        raise UnreadableMedia("video file is missing or not a regular file")
    try:
        container = av.open(
            path,
            "r",
            options={"format_whitelist": VIDEO_CONTAINERS, "protocol_whitelist": "file"},
            timeout=(_OPEN_TIMEOUT_S, _READ_TIMEOUT_S),
        )
    except av.error.FFmpegError as exc:
        raise UnreadableMedia(f"not a video container the vault can read: {_reason(exc)}") from exc
    except OSError as exc:
        raise UnreadableMedia(f"video file cannot be read: {exc.strerror or exc}") from exc
    try:
        yield container
    except av.error.FFmpegError as exc:
        raise UnreadableMedia(f"video data is corrupt: {_reason(exc)}") from exc
    finally:
        container.close()


def _video_stream(container: InputContainer) -> VideoStream:
    """The first real video stream; cover art (an attached picture) does not count."""
    pictures = [s for s in container.streams.video if not s.disposition & Disposition.attached_pic]
    for stream in pictures:
        if stream.codec_context is not None:
            return stream
    if pictures:
        raise UnreadableMedia("video codec is not one the vault can decode")
    raise UnreadableMedia("file has no video stream")


def _stated_duration_s(container: InputContainer, video: VideoStream) -> float | None:
    """Duration from the container or stream header, if either states one."""
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    if video.duration is not None and video.duration > 0:
        return float(video.duration * video.time_base)
    return None


def _start_s(stream: VideoStream | AudioStream) -> float:
    """When the stream's first frame is due, in seconds of its own clock."""
    return float(stream.start_time * stream.time_base) if stream.start_time else 0.0


def _duration_s(container: InputContainer, video: VideoStream, max_duration_s: float) -> float:
    """Stated duration, or measured by demuxing (not decoding) packets, stopping past the limit."""
    stated = _stated_duration_s(container, video)
    if stated is not None:
        return stated
    start = video.start_time or 0
    last = 0.0
    for count, packet in enumerate(container.demux(video)):
        if count >= _SCAN_PACKET_CAP:
            raise UnreadableMedia("video duration could not be measured")
        if packet.pts is not None:
            last = max(last, float((packet.pts - start + (packet.duration or 0)) * video.time_base))
            if last > max_duration_s:
                break
    container.seek(0)
    return last


def _check_not_truncated(container: InputContainer, path: str) -> None:
    """Refuse a file whose index points past its end (an upload cut short)."""
    size = os.path.getsize(path)
    for stream in container.streams:
        entries = stream.index_entries
        for i in range(max(0, len(entries) - 8), len(entries)):
            entry = entries[i]
            if entry.pos + max(entry.size, 0) > size:
                raise UnreadableMedia("video file is truncated: its index points past the end of the file")


def _first_frame(container: InputContainer, video: VideoStream) -> VideoFrame:
    """Decode the first frame, reading a bounded number of packets: proof the data is video.

    Called inside _open_input, which turns FFmpeg's errors into UnreadableMedia.
    """
    for count, packet in enumerate(container.demux(video)):
        if count >= _PROBE_PACKET_CAP:
            break
        for frame in video.decode(packet):
            return frame
    raise UnreadableMedia("video data is corrupt: no frame could be decoded")


def _metadata(
    container: InputContainer, video: VideoStream, duration: float, path: str, first: VideoFrame
) -> VideoMetadata:
    rotation = _rotation(video)
    if rotation == 0 and first.rotation:
        # Some streams carry orientation only in the bitstream; the decoder reports it per frame.
        rotation = _snap(-first.rotation)
    width, height = _display_size(video.codec_context.width, video.codec_context.height, _sample_aspect(video))
    if rotation in (90, 270):
        width, height = height, width
    audio = next((s for s in container.streams.audio), None)
    bitrate = container.bit_rate or 0
    if bitrate <= 0 and duration > 0:
        bitrate = int(os.path.getsize(path) * 8 / duration)
    rate = video.average_rate or video.guessed_rate or video.base_rate
    return VideoMetadata(
        duration_s=round(duration, 3),
        width=width,
        height=height,
        rotation=rotation,
        fps=round(float(rate), 3) if rate else 0.0,
        video_codec=video.codec_context.name,
        audio_codec=audio.codec_context.name if audio is not None and audio.codec_context is not None else None,
        container=container.format.name,
        bitrate=int(bitrate),
        frame_count=video.frames or None,
        has_audio=audio is not None,
        pixel_format=video.codec_context.pix_fmt,
    )


def _rotation(video: VideoStream) -> int:
    """Clockwise degrees (0, 90, 180, 270) to turn decoded frames to display them upright."""
    matrix = video.codec_context.coded_side_data.get("display_matrix")
    if matrix is not None and len(matrix) >= 36:
        # A 3x3 int32 matrix (16.16 fixed point); its first row gives the angle. Flips are ignored.
        a, b = struct.unpack("=2i", matrix[:8])
        return _snap(math.degrees(math.atan2(b, a)))
    tag = video.metadata.get("rotate")
    if tag:
        try:
            return _snap(float(tag))
        except ValueError:
            return 0
    return 0


def _snap(degrees: float) -> int:
    return round(degrees / 90.0) * 90 % 360


def _sample_aspect(video: VideoStream) -> Fraction:
    sar = video.sample_aspect_ratio
    return Fraction(sar.numerator, sar.denominator) if sar else Fraction(1)


def _display_size(width: int, height: int, sar: Fraction) -> tuple[int, int]:
    """Square-pixel size of a frame: anamorphic sources widen (or narrow) by their pixel aspect."""
    if sar <= 0 or sar == 1:
        return width, height
    return max(1, round(width * sar)), height


def _sample_frames(
    container: InputContainer, video: VideoStream, duration: float | None, count: int
) -> Iterator[VideoFrame]:
    """One frame near each of count points spread across the video; at most _FRAMES_PER_SAMPLE decodes each."""
    if duration is None or duration <= 0:
        yield from _frames_from_here(container, video, None, _FRAMES_PER_SAMPLE * count, every=_FRAMES_PER_SAMPLE)
        return
    start = _start_s(video)
    for i in range(count):
        target = start + duration * (i + 0.5) / count
        try:
            container.seek(int(target / video.time_base), stream=video, backward=True)
        except av.error.FFmpegError:
            # Unseekable input: fall back to the frames from the current position on.
            yield from _frames_from_here(container, video, None, _FRAMES_PER_SAMPLE, every=_FRAMES_PER_SAMPLE)
            return
        yield from _frames_from_here(container, video, target, _FRAMES_PER_SAMPLE, every=0)


def _frames_from_here(
    container: InputContainer, video: VideoStream, target: float | None, cap: int, *, every: int
) -> Iterator[VideoFrame]:
    """Decode up to cap frames; yield the first at or after target, or every `every`-th, or the last."""
    last: VideoFrame | None = None
    decoded = 0
    try:
        for packets, packet in enumerate(container.demux(video)):
            # After a seek the decoder may drop packets until a keyframe: bound those reads too.
            if packets >= cap * 4:
                break
            for frame in video.decode(packet):
                decoded += 1
                last = frame
                if target is not None and frame.time is not None and frame.time >= target:
                    yield frame
                    return
                if every and decoded % every == 1:
                    yield frame
                if decoded >= cap:
                    if target is not None:
                        yield frame
                    return
    except av.error.FFmpegError:
        # A damaged tail must not cost the frames already decoded.
        pass
    if target is not None and last is not None:
        yield last


def _liveliest(frames: Iterator[VideoFrame]) -> VideoFrame | None:
    """The best-scoring frame; only it is kept, so memory stays at one decoded frame."""
    best: VideoFrame | None = None
    best_score: tuple[bool, float, float] | None = None
    for frame in frames:
        score = _poster_score(frame)
        if best_score is None or score > best_score:
            best, best_score = frame, score
    return best


def _poster_score(frame: VideoFrame) -> tuple[bool, float, float]:
    """Higher is a better poster: not near-black or blown out first, then contrast, then brightness."""
    small = frame.reformat(width=_SCORE_SIZE, height=_SCORE_SIZE, format="gray")
    plane = small.planes[0]
    gray = Image.frombuffer("L", (_SCORE_SIZE, _SCORE_SIZE), bytes(plane), "raw", "L", plane.line_size, 1)
    stat = ImageStat.Stat(gray)
    mean, stddev = stat.mean[0], stat.stddev[0]
    return (_POSTER_MIN_LUMA <= mean <= _POSTER_MAX_LUMA, stddev, mean)


def _to_image(frame: VideoFrame, rotation: int, sar: Fraction, max_px: int) -> Image.Image:
    """The frame as an upright RGB image no larger than max_px on its long side."""
    width, height = _display_size(frame.width, frame.height, sar)
    scale = min(1.0, max_px / max(width, height))
    out_w, out_h = max(1, round(width * scale)), max(1, round(height * scale))
    rgb = frame.reformat(width=out_w, height=out_h, format="rgb24", interpolation="AREA")
    plane = rgb.planes[0]
    image = Image.frombuffer("RGB", (out_w, out_h), bytes(plane), "raw", "RGB", plane.line_size, 1)
    if rotation == 90:
        image = image.transpose(Image.Transpose.ROTATE_270)
    elif rotation == 180:
        image = image.transpose(Image.Transpose.ROTATE_180)
    elif rotation == 270:
        image = image.transpose(Image.Transpose.ROTATE_90)
    # frombuffer shares the bytes read-only; a copy is an ordinary, writable image.
    return image.copy() if rotation == 0 else image


def _reason(exc: av.error.FFmpegError) -> str:
    """FFmpeg's message without the file path (the path is a temp name, of no use to the user)."""
    return exc.strerror or type(exc).__name__


def _remove(path: str) -> None:
    with suppress(FileNotFoundError):
        os.remove(path)
