"""Renditions carry nothing from the source but its RGB colour profile: no EXIF, GPS, XMP, comments, text, IPTC."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from shared.domain.media import MediaKind
from shared.media.images import render_image
from shared.media.pixels import jpeg_bytes
from shared.media.render import LocalRenderer

# Every piece of source metadata carries one of these words; none may appear in a rendition's bytes.
SECRET = b"vault-secret"
COMMENT = SECRET + b"-comment-Rue-de-Rivoli"
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:City="'
    + SECRET
    + b'-xmp-Paris"/></rdf:RDF></x:xmpmeta>'
)
CAPTION = SECRET + b"-iptc-Seine"
TEXT = SECRET + b"-png-text-Louvre"
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
# Segments a bare JPEG needs (JFIF, tables, frame, scan) plus APP2, which holds the ICC profile.
_JPEG_ALLOWED = {0xE0, 0xE2, 0xDB, 0xC4, 0xDD, 0xC0, 0xC1, 0xC2, 0xDA}
_WEBP_ALLOWED = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ICCP"}


def _exif_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = (SECRET + b"-make").decode()  # Make
    exif[0x0132] = "2026:11:25 12:00:00"  # DateTime
    exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    return exif.tobytes()


def _iptc_segment() -> bytes:
    """An APP13 Photoshop segment holding an IPTC caption, as cameras and editors write it."""
    iptc = b"\x1c\x02\x78" + struct.pack(">H", len(CAPTION)) + CAPTION
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iptc)) + iptc
    body = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + struct.pack(">H", len(body) + 2) + body


def _picture(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    picture = Image.linear_gradient("L").resize(size).convert("RGB")
    if mode == "RGBA":
        picture.putalpha(Image.linear_gradient("L").resize(size))
    return picture


def _jpeg(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    _picture(size).save(out, format="JPEG", comment=COMMENT, exif=_exif_with_gps(), xmp=XMP, icc_profile=SRGB)
    data = out.getvalue()
    return data[:2] + _iptc_segment() + data[2:]  # right after SOI


def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    text = PngImagePlugin.PngInfo()
    text.add_text("Description", TEXT.decode())
    text.add_text("Comment", TEXT.decode(), zip=True)
    text.add_itxt("Title", TEXT.decode())
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    out = io.BytesIO()
    _picture(size, mode).save(out, format="PNG", pnginfo=text, exif=_exif_with_gps(), icc_profile=SRGB)
    return out.getvalue()


def _webp(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    _picture(size).save(out, format="WEBP", exif=_exif_with_gps(), xmp=XMP, icc_profile=SRGB)
    return out.getvalue()


def _gif(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    _picture(size).convert("P").save(out, format="GIF", comment=COMMENT)
    return out.getvalue()


SOURCES: dict[str, Callable[[], bytes]] = {
    "jpeg-smaller-than-both": lambda: _jpeg((200, 150)),
    "jpeg-smaller-than-the-preview": lambda: _jpeg((800, 600)),
    "jpeg-larger-than-the-preview": lambda: _jpeg((2000, 1500)),
    "png-smaller-than-the-preview": lambda: _png((800, 600)),
    "png-larger-than-the-preview": lambda: _png((2000, 1500)),
    "transparent-png": lambda: _png((800, 600), "RGBA"),
    "webp-smaller-than-the-preview": lambda: _webp((800, 600)),
    "gif-smaller-than-the-preview": lambda: _gif((800, 600)),
    "gif-larger-than-the-preview": lambda: _gif((1600, 1200)),
}


def _jpeg_segments(data: bytes) -> list[int]:
    """The markers of every segment before the first scan (where a JPEG keeps all its metadata)."""
    assert data[:2] == b"\xff\xd8"
    markers, at = [], 2
    while True:
        assert data[at] == 0xFF, f"no marker at {at}"
        marker = data[at + 1]
        markers.append(marker)
        if marker == 0xDA:
            return markers
        at += 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]


def _webp_chunks(data: bytes) -> list[bytes]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    chunks, at = [], 12
    while at < len(data):
        kind, size = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])[0]
        chunks.append(kind)
        at += 8 + size + size % 2
    return chunks


def _assert_only_the_colour_profile(data: bytes, profile: bytes | None) -> None:
    assert SECRET not in data
    for signature in (b"Exif\x00\x00", b"http://ns.adobe.com/xap/1.0/", b"Photoshop 3.0", b"8BIM"):
        assert signature not in data
    if data[:2] == b"\xff\xd8":
        assert set(_jpeg_segments(data)) <= _JPEG_ALLOWED
    else:
        assert set(_webp_chunks(data)) <= _WEBP_ALLOWED
    with Image.open(io.BytesIO(data)) as rendition:
        assert not rendition.getexif()
        assert rendition.info.get("icc_profile") == profile
        assert not {"comment", "exif", "xmp", "photoshop", "XML:com.adobe.xmp"} & set(rendition.info)


@pytest.mark.parametrize("source", list(SOURCES), ids=list(SOURCES))
def test_renditions_keep_only_the_rgb_colour_profile(source: str) -> None:
    data = SOURCES[source]()
    result = render_image(data, max_pixels=10**8)
    assert {r.name for r in result.renditions} == {"preview", "thumbnail"}
    assert result.metadata.gps is not None or source.startswith("gif")  # the source did carry a location
    for rendition in result.renditions:
        _assert_only_the_colour_profile(rendition.data, None if source.startswith("gif") else SRGB)


@pytest.mark.parametrize("source", ["jpeg-smaller-than-the-preview", "png-larger-than-the-preview"])
def test_the_processors_renderer_stores_renditions_without_source_metadata(source: str, tmp_path: Path) -> None:
    original = tmp_path / "original"
    original.write_bytes(SOURCES[source]())
    analysis = LocalRenderer(max_image_pixels=10**8).render(str(original), MediaKind.IMAGE, str(tmp_path))
    assert analysis.metadata.get("gps")  # found and kept as a fact, never written into a rendition
    for rendition in analysis.renditions:
        _assert_only_the_colour_profile(rendition.data, SRGB)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_decoded_frame_with_metadata_becomes_renditions_without_it(threads: int) -> None:
    """A video's poster reaches the photo pipeline as a decoded image; whatever rode along in info stays out."""
    frame = _picture((640, 360))
    frame.info = {"comment": COMMENT, "exif": _exif_with_gps(), "xmp": XMP, "icc_profile": SRGB}
    for rendition in render_image(frame, max_pixels=10**8, threads=threads).renditions:
        _assert_only_the_colour_profile(rendition.data, SRGB)


def test_model_input_jpegs_carry_no_source_metadata() -> None:
    """The JPEG sent to Bedrock or Rekognition must not hand them a comment the owner's hidden location is in."""
    with Image.open(io.BytesIO(_jpeg((800, 600)))) as source:
        sent = jpeg_bytes(source, max_px=1568, quality=85)
    _assert_only_the_colour_profile(sent, None)
