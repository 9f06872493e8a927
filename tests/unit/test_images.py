"""Photo rendering: sizes, orientation, formats, placeholder, and refusals."""

from __future__ import annotations

import io
import math
import threading
import zlib

import pytest
from PIL import Image, ImageCms

from shared.domain.errors import RejectedMedia, UnreadableMedia
from shared.media import images
from shared.media.formats import heif_supported
from shared.media.images import render_image
from shared.media.placeholder import blurhash
from tests.support.images import image_format, image_size, jpeg_bytes, photo_bytes, png_bytes


def _by_name(result: images.ImageResult) -> dict[str, images.RenderedImage]:
    return {r.name: r for r in result.renditions}


def test_jpeg_gets_a_jpeg_preview_and_a_webp_thumbnail_bounded_by_the_long_side() -> None:
    result = render_image(jpeg_bytes(4000, 3000), max_pixels=10**8)
    assert (result.metadata.width, result.metadata.height) == (4000, 3000)
    renditions = _by_name(result)
    preview, thumbnail = renditions["preview"], renditions["thumbnail"]
    assert image_format(preview.data) == "JPEG" and image_size(preview.data) == (1440, 1080)
    assert image_format(thumbnail.data) == "WEBP" and image_size(thumbnail.data) == (256, 192)
    assert len(result.placeholder) == 4 + 2 * 4 * 3
    assert all(c.startswith("#") for c in result.colors)


def test_small_images_are_not_upscaled() -> None:
    result = render_image(jpeg_bytes(200, 100), max_pixels=10**8)
    assert {r.name: (r.width, r.height) for r in result.renditions} == {"preview": (200, 100), "thumbnail": (200, 100)}


def test_exif_orientation_is_applied() -> None:
    result = render_image(jpeg_bytes(800, 400, orientation=6), max_pixels=10**8)
    assert (result.metadata.width, result.metadata.height) == (400, 800)
    assert image_size(_by_name(result)["thumbnail"].data) == (128, 256)


def test_transparency_keeps_a_webp_preview() -> None:
    result = render_image(png_bytes(), max_pixels=10**8)
    assert image_format(_by_name(result)["preview"].data) == "WEBP"


def test_renditions_carry_no_gps() -> None:
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    out = io.BytesIO()
    Image.new("RGB", (600, 400), "teal").save(out, format="JPEG", exif=exif.tobytes())
    result = render_image(out.getvalue(), max_pixels=10**8)
    assert result.metadata.gps is not None
    for rendition in result.renditions:
        with Image.open(io.BytesIO(rendition.data)) as image:
            assert not image.getexif().get_ifd(0x8825)


@pytest.mark.skipif(not heif_supported(), reason="pillow-heif is not installed")
def test_heic_is_converted_to_web_formats() -> None:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), "orange").save(out, format="HEIF")
    result = render_image(out.getvalue(), max_pixels=10**8)
    assert result.metadata.format == "HEIF"
    assert image_format(_by_name(result)["preview"].data) == "JPEG"


def _png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header declares a huge canvas (a decompression bomb's first bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("data", "error", "reason"),
    [
        (b"", UnreadableMedia, "not a readable image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", UnreadableMedia, "not a readable image"),
        (jpeg_bytes()[:200], UnreadableMedia, "corrupt"),
        (_png_header_claiming(20_000, 20_000), RejectedMedia, "pixel"),
    ],
    ids=["empty", "svg", "truncated-jpeg", "pixel-bomb"],
)
def test_unreadable_or_hostile_bytes_raise(data: bytes, error: type[Exception], reason: str) -> None:
    with pytest.raises(error, match=reason):
        render_image(data, max_pixels=100_000_000)


def test_formats_outside_the_allowlist_are_refused() -> None:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="BMP")
    with pytest.raises(UnreadableMedia):
        render_image(out.getvalue(), max_pixels=10**8)


# --- resizing: strips, threads, planes ----------------------------------------------------------------


def _psnr(got: Image.Image, want: Image.Image) -> float:
    a, b = got.convert("RGB").tobytes(), want.convert("RGB").tobytes()
    mse = sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) / len(a)
    return 99.0 if mse == 0 else 10 * math.log10(255**2 / mse)


def _max_difference(got: Image.Image, want: Image.Image) -> int:
    assert got.mode == want.mode and got.size == want.size
    return max(abs(x - y) for x, y in zip(got.tobytes(), want.tobytes(), strict=True))


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
@pytest.mark.parametrize(("size", "px"), [((900, 700), 640), ((1200, 300), 256), ((333, 1001), 200)])
def test_a_resize_cut_into_strips_on_threads_matches_pillows_one_piece_resize(
    monkeypatch: pytest.MonkeyPatch, mode: str, size: tuple[int, int], px: int
) -> None:
    monkeypatch.setattr(images, "_PARALLEL_FROM", 1)  # strips even for these small images
    workers = images._Workers(3)
    source = Image.effect_noise(size, 60).convert(mode) if mode == "L" else _noisy(size, mode)
    got = images._resize_plan(source, px, workers).run(workers)
    scale = px / max(size)
    target = (round(size[0] * scale), round(size[1] * scale))
    assert len(images._resize_plan(source, px, workers).pieces) == 3
    want = source.resize(target, Image.Resampling.LANCZOS, reducing_gap=images._REDUCING_GAP)
    if mode == "RGBA":  # compared as seen: colour where alpha is 0 is arbitrary, and tiny alpha amplifies it
        got, want = got.convert("RGBa"), want.convert("RGBa")
    # The same source rows and weights as one piece; a strip boundary may round one level differently (and
    # RGBA's trip back from premultiplied alpha one more).
    assert _max_difference(got, want) <= (2 if mode == "RGBA" else 1)


def _noisy(size: tuple[int, int], mode: str) -> Image.Image:
    bands = [Image.effect_noise(size, 40 + 10 * i) for i in range(len(mode))]
    if mode == "RGBA":  # alpha that is not flat, so premultiplication matters
        bands[3] = Image.linear_gradient("L").resize(size)
    return Image.merge(mode, bands)


def test_renditions_are_the_same_with_one_thread_or_several() -> None:
    data = photo_bytes(2400, 1800, seed=3)
    outputs = {}
    for threads in (1, 2, 4):
        result = render_image(data, max_pixels=10**8, threads=threads)
        outputs[threads] = [Image.open(io.BytesIO(r.data)).convert("RGB") for r in result.renditions]
        assert result.placeholder == render_image(data, max_pixels=10**8, threads=threads).placeholder
    for threads in (2, 4):
        for got, want in zip(outputs[threads], outputs[1], strict=True):
            assert _psnr(got, want) > 50


def _as_png(data: bytes) -> bytes:
    out = io.BytesIO()
    with Image.open(io.BytesIO(data)) as image:
        image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


@pytest.mark.parametrize("source_format", ["JPEG", "PNG"])
def test_a_preview_resized_as_ycbcr_planes_is_as_good_as_an_rgb_lanczos_resize(source_format: str) -> None:
    """Luma at full size, chroma at half: colours land where they should, as sharp as an RGB resize."""
    data = photo_bytes(2400, 1800, seed=5)
    data = data if source_format == "JPEG" else _as_png(data)
    preview = _by_name(render_image(data, max_pixels=10**8))["preview"]
    with Image.open(io.BytesIO(data)) as source:
        reference = source.convert("RGB").resize((1440, 1080), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    reference.save(out, format="JPEG", quality=82)  # the same resize done in RGB, then the same encoder
    with Image.open(io.BytesIO(out.getvalue())) as rgb_preview:
        baseline = _psnr(rgb_preview, reference)
    with Image.open(io.BytesIO(preview.data)) as got:
        assert _psnr(got, reference) > baseline - 0.3


@pytest.mark.parametrize(
    "options", [{}, {"keep_rgb": True}, {"format": "PNG"}], ids=["ycbcr-coded-jpeg", "rgb-coded-jpeg", "png"]
)
def test_colours_survive_every_way_a_picture_can_be_stored(options: dict[str, object]) -> None:
    image = Image.new("RGB", (1600, 1200), (200, 30, 40))
    image.paste((20, 60, 210), (800, 0, 1600, 1200))
    out = io.BytesIO()
    image.save(out, **{"format": "JPEG", "quality": 95, **options})  # type: ignore[arg-type]
    result = render_image(out.getvalue(), max_pixels=10**8)
    for rendition in result.renditions:
        with Image.open(io.BytesIO(rendition.data)) as got:
            rgb = got.convert("RGB")
            left, right = rgb.getpixel((rgb.width // 5, rgb.height // 2)), rgb.getpixel((4 * rgb.width // 5, 10))
        assert all(abs(a - b) <= 12 for a, b in zip(left, (200, 30, 40), strict=True)), left
        assert all(abs(a - b) <= 12 for a, b in zip(right, (20, 60, 210), strict=True)), right


@pytest.mark.parametrize(("space", "kept"), [("sRGB", True), ("LAB", False)])
def test_renditions_carry_the_source_rgb_colour_profile(space: str, kept: bool) -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile(space)).tobytes()
    out = io.BytesIO()
    Image.new("RGB", (1600, 900), "olive").save(out, format="JPEG", icc_profile=profile)
    for rendition in render_image(out.getvalue(), max_pixels=10**8).renditions:
        with Image.open(io.BytesIO(rendition.data)) as got:
            assert got.info.get("icc_profile") == (profile if kept else None)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_the_placeholder_and_thumbnail_are_upright_when_the_source_is_turned(orientation: int) -> None:
    upright = Image.new("RGB", (1200, 1600), "black")
    upright.paste("white", (0, 0, 1200, 400))  # white band along the top of the upright picture
    turned = upright.transpose(
        {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}[orientation]
    )
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    turned.save(out, format="JPEG", quality=95, exif=exif.tobytes())
    result = render_image(out.getvalue(), max_pixels=10**8)
    thumbnail = _by_name(result)["thumbnail"]
    with Image.open(io.BytesIO(thumbnail.data)) as got:
        assert got.size == (192, 256)
        top, bottom = got.convert("L").getpixel((96, 20)), got.convert("L").getpixel((96, 236))
    assert top > 200 and bottom < 50
    assert result.placeholder == blurhash(upright.resize((192, 256), Image.Resampling.LANCZOS))


@pytest.mark.parametrize("threads", [1, 2])
def test_errors_inside_worker_threads_still_reach_the_caller(threads: int) -> None:
    truncated = photo_bytes(2400, 1800)[:60_000]
    with pytest.raises(UnreadableMedia, match="corrupt"):
        render_image(truncated, max_pixels=10**8, threads=threads)


@pytest.mark.parametrize("threads", [2, 3])
def test_nested_pieces_on_a_small_pool_never_wait_on_each_other(monkeypatch: pytest.MonkeyPatch, threads: int) -> None:
    """Every plan split (chroma planes then split again inside their pieces): no piece waits on a queued one."""
    monkeypatch.setattr(images, "_PARALLEL_FROM", 1)
    sources = [photo_bytes(1600, 1200, seed=2), _as_png(photo_bytes(1600, 1200, seed=4))]
    finished: list[images.ImageResult] = []

    def render_all() -> None:
        for _ in range(3):
            finished.extend(render_image(data, max_pixels=10**8, threads=threads) for data in sources)

    worker = threading.Thread(target=render_all, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "rendering deadlocked"
    assert len(finished) == 6
