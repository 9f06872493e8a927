"""Photos: bounded open, metadata, upright renditions (preview, thumbnail) and a placeholder, from one decode."""

from __future__ import annotations

import functools
import io
import itertools
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import cast

from PIL import Image, UnidentifiedImageError

from shared.domain.errors import RejectedMedia, UnreadableMedia
from shared.media.formats import image_formats
from shared.media.metadata import ImageMetadata, exif_orientation, read_image_metadata
from shared.media.pixels import has_alpha, without_metadata
from shared.media.placeholder import UPRIGHT, blurhash, dominant_colors

# (name, long side, format). The preview is JPEG: ~15x faster to encode than WebP at 1440 px and read by
# everything; a preview with transparency falls back to WebP. Thumbnails are small WebPs.
DEFAULT_RENDITIONS = (("preview", 1440, "JPEG"), ("thumbnail", 256, "WEBP"))
_SMALL = 512  # renditions up to this size keep the default encoder effort
_ENCODINGS: dict[str, tuple[str, str, dict[str, object]]] = {
    "JPEG": ("image/jpeg", "jpg", {"quality": 82}),
    "WEBP": ("image/webp", "webp", {"quality": 80, "method": 4}),
}
# A source this large (pixels) is resized in strips of rows on several threads: Pillow releases the GIL while
# it resamples.
_PARALLEL_FROM = 1_000_000
# Before LANCZOS, a source at least this many times the target is first box-reduced by a whole factor
# (Pillow's reducing_gap). At 3 the thumbnail made straight from a 12 MP photo's decode is within 0.1 dB of
# full LANCZOS; at 2 it lost 0.3 dB more, for 1.3 ms less.
_REDUCING_GAP = 3.0
_LANCZOS_SUPPORT = 3.0  # source pixels either side of a sample that LANCZOS (a=3) weighs, at scale 1


@dataclass(frozen=True)
class RenderedImage:
    """One encoded derivative."""

    name: str
    data: bytes
    width: int
    height: int
    content_type: str = "image/webp"
    extension: str = "webp"


@dataclass(frozen=True)
class ImageResult:
    """What rendering a photo produced."""

    metadata: ImageMetadata
    renditions: list[RenderedImage]
    placeholder: str
    colors: list[str]


def open_image(source: str | bytes | Image.Image, max_pixels: int) -> Image.Image:
    """Open (headers only) with the format allowlist; refuse images above max_pixels before any decoding.

    An already decoded image (a video's poster frame) is only held to max_pixels.
    """
    image = source if isinstance(source, Image.Image) else _opened(source, max_pixels)
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise RejectedMedia(f"image is {width}x{height}, above the {max_pixels}-pixel limit")
    return image


def _opened(source: str | bytes, max_pixels: int) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = max_pixels
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            # Opening a JPEG parses its EXIF (for DPI): malformed EXIF warns, and the metadata reader copes.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(stream, formats=image_formats())
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise RejectedMedia(f"image is larger than the {max_pixels}-pixel limit") from exc
    except UnidentifiedImageError as exc:
        raise UnreadableMedia("not a readable image") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise UnreadableMedia(f"image data is corrupt: {exc}") from exc


def _decode_mode(image: Image.Image, encoding: str) -> str:
    """The mode to decode in: YCbCr for a colour JPEG that becomes a JPEG preview, RGB otherwise.

    JPEG stores YCbCr, and a 4:2:0 JPEG or WebP rendition keeps chroma at half resolution: resizing the planes
    as they are skips two colour conversions, and chroma is resized at the size it is kept (see _resize_plan).
    An RGB-coded JPEG (libjpeg's rule: JFIF, else an Adobe transform of 0, else components named R, G, B) stays
    RGB, since the decoder cannot produce YCbCr from it.
    """
    if image.format != "JPEG" or image.mode != "RGB" or encoding != "JPEG":
        return "RGB"
    if "jfif" in image.info:
        return "YCbCr"
    if "adobe" in image.info:
        return "RGB" if image.info.get("adobe_transform") == 0 else "YCbCr"
    components = [layer[0] for layer in getattr(image, "layer", [])]
    return "RGB" if components == [ord("R"), ord("G"), ord("B")] else "YCbCr"


def _rgb_profile(image: Image.Image) -> bytes | None:
    """The source's ICC profile when it describes RGB, to embed in every rendition so that wide-gamut photos
    (Display P3, Adobe RGB) keep their colours. A CMYK or grey profile does not fit the RGB renditions."""
    profile = image.info.get("icc_profile")
    if isinstance(profile, bytes) and profile[16:20] == b"RGB ":
        return profile
    return None


def _web_mode(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "RGBA", "YCbCr"):
        return image
    return image.convert("RGBA" if has_alpha(image) else "RGB")


def render_image(
    source: str | bytes | Image.Image,
    *,
    max_pixels: int,
    renditions: tuple[tuple[str, int, str], ...] = DEFAULT_RENDITIONS,
    threads: int = 1,
) -> ImageResult:
    """Metadata plus every rendition, each resized from the one decode, on up to `threads` threads."""
    workers = _Workers(threads)
    targets = sorted(renditions, key=lambda target: -target[1])
    image = open_image(source, max_pixels)
    try:
        metadata = read_image_metadata(image)
        largest = targets[0][1]
        icc = _rgb_profile(image)
        # JPEG decodes at 1/2, 1/4 or 1/8 scale when the target allows: the costliest step gets far cheaper.
        image.draft(_decode_mode(image, targets[0][2]), (largest, largest))
        with warnings.catch_warnings():
            # Hostile EXIF makes Pillow warn ("tag data larger than file"); the orientation is all we use here.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            upright = UPRIGHT.get(exif_orientation(image))
            decoded = _web_mode(image)
        planes = _planes(decoded, targets[0][2])  # made once for every rendition
        resized = _Plan.run_all([_resize_plan(decoded, px, workers, planes) for _, px, _ in targets], workers)
        if upright is not None:
            # Turned upright after resizing, not before: the same pixels for a fraction of the work.
            resized = [rendition.transpose(upright) for rendition in resized]
            for rendition in resized:
                rendition.info = {}  # the source's EXIF/XMP orientation no longer applies to these pixels
        # The encoders and the placeholder (from the smallest rendition) run at once.
        tasks: list[Callable[[], object]] = [
            functools.partial(_encode, name, rendition, "WEBP" if rendition.mode == "RGBA" else encoding, px, icc)
            for (name, px, encoding), rendition in zip(targets, resized, strict=True)
        ]
        tasks.append(functools.partial(_placeholder, resized[-1]))
        *encoded, extras = workers.run_all(tasks)
        rendered = cast(list[RenderedImage], encoded)
        placeholder, colors = cast(tuple[str, list[str]], extras)
    except (RejectedMedia, UnreadableMedia):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise RejectedMedia(f"image is larger than the {max_pixels}-pixel limit") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise UnreadableMedia(f"image data is corrupt: {exc}") from exc
    finally:
        image.close()
    return ImageResult(metadata=metadata, renditions=rendered, placeholder=placeholder, colors=colors)


def _placeholder(image: Image.Image) -> tuple[str, list[str]]:
    return blurhash(image), dominant_colors(image)


def _encode(name: str, image: Image.Image, encoding: str, px: int, icc: bytes | None = None) -> RenderedImage:
    content_type, extension, options = _ENCODINGS[encoding]
    if encoding == "WEBP" and px > _SMALL:
        # A large WebP (a transparent preview) at method 2: ~40% faster for <1% more bytes.
        options = {**options, "method": 2}
    if icc:
        options = {**options, "icc_profile": icc}
    if encoding == "WEBP" and image.mode == "YCbCr":
        image = image.convert("RGB")  # at thumbnail size: next to nothing
    out = io.BytesIO()
    # A rendition carries the RGB profile passed above and nothing else from the source (an unresized one is the
    # decoded source itself, info and all). The copy costs ~0.5 ms for a 1440 px preview.
    without_metadata(image).save(out, format=encoding, **options)
    return RenderedImage(
        name=name,
        data=out.getvalue(),
        width=image.width,
        height=image.height,
        content_type=content_type,
        extension=extension,
    )


def _planes(image: Image.Image, encoding: str) -> tuple[Image.Image, ...]:
    """Luma, blue and red chroma planes to resize one by one, or () to resize the image as it is.

    A YCbCr decode is split. An opaque RGB image bound for a JPEG preview gets its luma from convert("L")
    (the same BT.601 weights as JPEG's Y) and its chroma from a half-size copy: chroma is linear in RGB, so
    halving first gives the same planes for a quarter of Pillow's slow RGB-to-YCbCr conversion.
    """
    if image.mode == "YCbCr":
        return tuple(image.split())
    if image.mode == "RGB" and encoding == "JPEG" and min(image.size) >= 2:
        _, blue, red = image.reduce(2).convert("YCbCr").split()
        return image.convert("L"), blue, red
    return ()


def _resize_plan(image: Image.Image, px: int, workers: _Workers, planes: tuple[Image.Image, ...] = ()) -> _Plan:
    """How to make image at most px on its long side, aspect kept, LANCZOS-resampled (smaller images are kept).

    With planes (see _planes) the result is YCbCr, resized plane by plane: luma at the target size, chroma
    at half of it (as a 4:2:0 JPEG or WebP keeps it), repeated 2x2 so the encoder's own 2x2 averaging gets
    those values back.
    """
    width, height = image.size
    if max(width, height) <= px:
        return _Plan([lambda: image], _only)
    scale = px / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if not planes:
        return _scaled(image, size, workers)
    luma_plane, blue, red = planes
    luma = _scaled(luma_plane, size, workers)
    count = len(luma.pieces)

    def join(parts: list[Image.Image]) -> Image.Image:
        return Image.merge("YCbCr", (luma.join(parts[:count]), *parts[count:]))

    return _Plan([*luma.pieces, *(functools.partial(_chroma, plane, size, workers) for plane in (blue, red))], join)


def _chroma(plane: Image.Image, size: tuple[int, int], workers: _Workers) -> Image.Image:
    """A chroma plane resized to half of size, then repeated 2x2 up to size."""
    half = ((size[0] + 1) // 2, (size[1] + 1) // 2)
    # Box-reduced by whole factors first (reducing gap 1): from a JPEG decode, that averaging only undoes the
    # decoder's interpolation of the stored chroma. A triangle filter does the rest: on chroma it is within
    # 0.01 dB of LANCZOS (12 MP bench photos) at half the cost.
    small = _scaled(plane, half, workers, gap=1.0, kernel=Image.Resampling.BILINEAR).run(workers)
    doubled = small.resize((2 * half[0], 2 * half[1]), Image.Resampling.NEAREST)
    return doubled if doubled.size == size else doubled.crop((0, 0, *size))


def _only(parts: list[Image.Image]) -> Image.Image:
    return parts[0]


@dataclass(frozen=True)
class _Plan:
    """A resize cut into independent pieces (strips of rows, planes) and how to join what they make."""

    pieces: list[Callable[[], Image.Image]]
    join: Callable[[list[Image.Image]], Image.Image]

    def run(self, workers: _Workers) -> Image.Image:
        return _Plan.run_all([self], workers)[0]

    @staticmethod
    def run_all(plans: list[_Plan], workers: _Workers) -> list[Image.Image]:
        """Every piece of every plan, spread over the workers, then each plan's pieces joined."""
        results = workers.run_all([piece for plan in plans for piece in plan.pieces])
        joined = []
        for plan in plans:
            joined.append(plan.join(results[: len(plan.pieces)]))
            results = results[len(plan.pieces) :]
        return joined


def _scaled(
    image: Image.Image,
    size: tuple[int, int],
    workers: _Workers,
    gap: float = _REDUCING_GAP,
    kernel: Image.Resampling = Image.Resampling.LANCZOS,
) -> _Plan:
    """Resampled to size: a box reduce by whole factors first when gap allows, in strips of rows when large.

    A strip is the horizontal pass over the source rows its output rows draw on, then the vertical pass: each
    output row is computed from the same source rows with the same weights as in a one-piece resize.
    """
    width, height = image.size
    factor = (int(width / size[0] / gap) or 1, int(height / size[1] / gap) or 1)
    # What resize(reducing_gap=...) does: a whole-block box filter, then LANCZOS from the exact (fractional) box.
    x1, y1 = width / factor[0], height / factor[1]
    reduced = (-(-width // factor[0]), -(-height // factor[1]))

    def prepared() -> Image.Image:
        # Alpha is premultiplied once for all strips.
        source = image.convert("RGBa") if image.mode == "RGBA" else image
        return source if factor == (1, 1) else source.reduce(factor)

    def finished(resized: Image.Image) -> Image.Image:
        return resized.convert("RGBA") if image.mode == "RGBA" else resized

    strips = workers.threads if reduced[0] * reduced[1] >= _PARALLEL_FROM else 1
    if strips == 1:
        # One piece, all of it on whichever thread runs it.
        return _Plan([lambda: finished(prepared().resize(size, kernel, box=(0.0, 0.0, x1, y1)))], _only)
    source = prepared()
    step = y1 / size[1]
    # Source rows the kernel reads either side of an output row (LANCZOS's reach covers the others), and a margin.
    reach = _LANCZOS_SUPPORT * max(step, 1.0) + 2

    def strip(top: int, bottom: int) -> Image.Image:
        first, last = max(0, int(top * step - reach)), min(source.height, int(bottom * step + reach) + 1)
        rows = source.crop((0, first, source.width, last))
        across = rows.resize((size[0], last - first), kernel, box=(0.0, 0.0, x1, float(last - first)))
        down = (0.0, top * step - first, float(size[0]), min(bottom * step - first, float(last - first)))
        return across.resize((size[0], bottom - top), kernel, box=down)

    bounds = [round(size[1] * i / strips) for i in range(strips + 1)]
    bands = [(top, bottom) for top, bottom in itertools.pairwise(bounds) if bottom > top]

    def join(parts: list[Image.Image]) -> Image.Image:
        joined = Image.new(source.mode, size)
        for (top, _), part in zip(bands, parts, strict=True):
            joined.paste(part, (0, top))
        return finished(joined)

    return _Plan([functools.partial(strip, top, bottom) for top, bottom in bands], join)


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


@dataclass(frozen=True)
class _Workers:
    """Up to `threads` threads for one photo: the caller's own, and threads - 1 from a pool shared by all."""

    threads: int

    def submit[**P, T](self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """fn on the pool; with a single thread there is none, and fn runs here, now."""
        if self.threads < 2:
            future: Future[T] = Future()
            try:
                future.set_result(fn(*args, **kwargs))
            except Exception as exc:  # noqa: BLE001 - handed to whoever reads the result, as the pool does
                future.set_exception(exc)
            return future
        with _pools_lock:
            pool = _pools.get(self.threads)
            if pool is None:
                pool = _pools[self.threads] = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="image")
        return pool.submit(fn, *args, **kwargs)

    def run_all[T](self, tasks: list[Callable[[], T]]) -> list[T]:
        """Every task's result: the first run on this thread, the rest queued on the pool.

        Then the tasks no worker has begun are taken back and run here, from the end of the queue (the workers
        take from its front), and the ones already running are waited for. Nothing is left running on return,
        even when a task raises.
        """
        queued = [self.submit(task) for task in tasks[1:]]
        try:
            first = tasks[0]()
            here = {index: tasks[index]() for index in range(len(queued), 0, -1) if queued[index - 1].cancel()}
            return [first, *(here[i] if i in here else queued[i - 1].result() for i in range(1, len(tasks)))]
        finally:
            # Only running tasks are waited for: a cancelled one counts as done only once a worker dequeues it,
            # and that worker may be the one running the task that called this (pieces can nest).
            wait([future for future in queued if not future.cancel()])
