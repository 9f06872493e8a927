"""Real image bytes made on the fly (no binary fixtures in the repo)."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image


def jpeg_bytes(width: int = 640, height: int = 480, *, orientation: int | None = None, quality: int = 85) -> bytes:
    """A gradient JPEG, optionally with an EXIF orientation tag."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    image.save(out, format="JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def png_bytes(width: int = 320, height: int = 200) -> bytes:
    """A small RGBA PNG."""
    image = Image.new("RGBA", (width, height), (30, 120, 200, 128))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of encoded image bytes."""
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def image_format(data: bytes) -> str:
    """Pillow's format name of encoded image bytes."""
    with Image.open(io.BytesIO(data)) as image:
        return str(image.format)


def photo_bytes(width: int = 4000, height: int = 3000, *, seed: int = 7) -> bytes:
    """A camera-like JPEG: noisy detail over a gradient (compresses like a photo, not a flat fill), with EXIF."""
    noise = Image.effect_noise((width, height), 40 + seed % 5).convert("L")
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", (noise, gradient, Image.blend(noise, gradient, 0.5)))
    exif = Image.Exif()
    exif[0x010F] = "Media Vault Test Camera"  # Make
    exif[0x0132] = "2026:11:25 12:00:00"  # DateTime
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def noise_png(path: Path, width: int = 2700, height: int = 2000) -> Path:
    """A real, decodable PNG of random noise (it does not compress; ~16 MB at the default size), written to path."""
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    image.save(path, format="PNG", compress_level=1)
    return path


def mpeg4_clip() -> bytes:
    """A 1-second 96x64 MPEG-4 Part 2 video in an MP4 container (browsers cannot play it: processing transcodes)."""
    import tempfile

    import av

    with tempfile.TemporaryDirectory(prefix="clip-") as workdir:
        path = os.path.join(workdir, "clip.mp4")
        with av.open(path, "w", format="mp4") as out:
            stream = out.add_stream("mpeg4", rate=10)
            stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
            for i in range(10):
                frame = av.VideoFrame.from_image(Image.new("RGB", (96, 64), (20 * i, 140, 220 - 15 * i)))
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        return Path(path).read_bytes()
