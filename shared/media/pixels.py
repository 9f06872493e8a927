"""Pixel helpers shared by the photo pipeline, the placeholder and the analysis providers."""

from __future__ import annotations

import io

from PIL import Image

WHITE = (255, 255, 255)
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


def has_alpha(image: Image.Image) -> bool:
    """Whether the image has an alpha channel or a transparent palette entry."""
    return image.mode in _ALPHA_MODES or "transparency" in image.info


def flat_rgb(image: Image.Image, background: tuple[int, int, int] = WHITE) -> Image.Image:
    """The image as RGB, transparency flattened onto background (a plain convert would show stale colour)."""
    if has_alpha(image):
        rgba = image.convert("RGBA")
        flattened = Image.new("RGB", rgba.size, background)
        flattened.paste(rgba, mask=rgba.getchannel("A"))
        return flattened
    return image if image.mode == "RGB" else image.convert("RGB")


def without_metadata(image: Image.Image) -> Image.Image:
    """A copy of image's pixels with an empty info: no comment, EXIF, XMP, text chunks or colour profile.

    Encoders read some of info by themselves (JPEG writes info["comment"]), and save() records its options on
    the image it is given; encoding this private copy writes exactly the options the caller passes, even when
    other threads encode the same source at once.
    """
    bare = image.copy()
    bare.info = {}
    return bare


def jpeg_bytes(image: Image.Image, *, max_px: int, quality: int) -> bytes:
    """Metadata-free RGB JPEG bytes at most max_px on the long side (transparency on white); image is untouched."""
    rgb = flat_rgb(image)
    if max(rgb.size) > max_px:
        scale = max_px / max(rgb.size)
        size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        rgb = rgb.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    out = io.BytesIO()
    # Model providers get pixels only: a comment or caption could name the place the owner hid.
    without_metadata(rgb).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def srgb_to_linear(value: int) -> float:
    """An 8-bit sRGB channel as linear light in [0, 1]."""
    v = value / 255
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
