"""Photo rendering: sizes, orientation, formats, placeholder, and refusals."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image

from shared.domain.errors import RejectedMedia, UnreadableMedia
from shared.media.formats import heif_supported
from shared.media.images import render_image
from tests.support.images import image_format, image_size, jpeg_bytes, png_bytes


def _by_name(result: object) -> dict[str, object]:
    return {r.name: r for r in result.renditions}  # type: ignore[attr-defined]


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
