"""Pillow thumbnails: size, orientation, format, and refusals."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image

from shared.domain.errors import UnreadableMedia
from shared.media.thumbnails import PillowThumbnailer
from tests.support.images import image_format, image_size, jpeg_bytes, png_bytes


def test_jpeg_thumbnail_is_webp_bounded_by_the_long_side() -> None:
    rendition, width, height = PillowThumbnailer(max_pixels=10**8).thumbnail(jpeg_bytes(1600, 1200), 256)
    assert (width, height) == (1600, 1200)
    assert image_format(rendition.data) == "WEBP"
    assert image_size(rendition.data) == (256, 192) == (rendition.width, rendition.height)


def test_exif_orientation_is_applied() -> None:
    rendition, width, height = PillowThumbnailer(max_pixels=10**8).thumbnail(jpeg_bytes(800, 400, orientation=6), 256)
    assert (width, height) == (400, 800)
    assert image_size(rendition.data) == (128, 256)


def test_png_with_alpha_is_accepted() -> None:
    rendition, _, _ = PillowThumbnailer(max_pixels=10**8).thumbnail(png_bytes(), 256)
    assert image_size(rendition.data) == (256, 160)


def _png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header declares a huge canvas (a decompression bomb's first bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not a readable image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "not a readable image"),
        (jpeg_bytes()[:200], "corrupt"),
        (_png_header_claiming(20_000, 20_000), "pixel"),
    ],
    ids=["empty", "svg", "truncated-jpeg", "pixel-bomb"],
)
def test_unreadable_or_hostile_bytes_raise_unreadable_media(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableMedia, match=reason):
        PillowThumbnailer(max_pixels=100_000_000).thumbnail(data, 256)


def test_formats_outside_the_allowlist_are_refused() -> None:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="BMP")
    with pytest.raises(UnreadableMedia):
        PillowThumbnailer(max_pixels=10**8).thumbnail(out.getvalue(), 256)
