"""Which decoders the vault runs: anything else is refused before a decoder sees the bytes."""

from __future__ import annotations

from functools import lru_cache

BASE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")


@lru_cache(maxsize=1)
def heif_supported() -> bool:
    """Register the HEIC/HEIF decoder when its wheel (pillow-heif, in the imaging layer) is installed."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def image_formats() -> tuple[str, ...]:
    """Pillow format names the vault opens (HEIF only where its decoder is installed)."""
    return (*BASE_FORMATS, "HEIF") if heif_supported() else BASE_FORMATS
