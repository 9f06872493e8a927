"""Image thumbnails with Pillow: bounded decode, EXIF orientation, WebP output."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from shared.domain.errors import UnreadableMedia
from shared.domain.ports import ImageRendition

# Formats the vault decodes; anything else is refused before a decoder runs.
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
_ORIENTATION_TAG = 0x0112


class PillowThumbnailer:
    """Thumbnailer on Pillow with a pixel cap checked before decoding."""

    def __init__(self, max_pixels: int) -> None:
        self._max_pixels = max_pixels

    def thumbnail(self, data: bytes, max_px: int) -> tuple[ImageRendition, int, int]:
        """A WebP of at most max_px on its long side, and the source's oriented dimensions."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                opened = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
            width, height = opened.size
            if width * height > self._max_pixels:
                raise UnreadableMedia(f"image is {width}x{height}, above the {self._max_pixels}-pixel limit")
            # JPEG can decode at 1/2, 1/4, 1/8 scale: far less work when the target is small.
            opened.draft("RGB", (max_px, max_px))
            # EXIF orientations 5-8 turn the picture a quarter: the viewer sees height x width.
            oriented = (height, width) if opened.getexif().get(_ORIENTATION_TAG, 1) in (5, 6, 7, 8) else (width, height)
            image = ImageOps.exif_transpose(opened)
            if image.mode not in ("RGB", "RGBA"):
                image = image.convert("RGBA" if "transparency" in image.info or image.mode in ("LA", "PA") else "RGB")
            image.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            image.save(out, format="WEBP", quality=80, method=4)
        except UnreadableMedia:
            raise
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise UnreadableMedia(f"not a readable image: {exc}") from exc
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise UnreadableMedia(f"image data is corrupt: {exc}") from exc
        rendition = ImageRendition(
            data=out.getvalue(),
            width=image.size[0],
            height=image.size[1],
            content_type="image/webp",
            extension="webp",
        )
        return rendition, oriented[0], oriented[1]
