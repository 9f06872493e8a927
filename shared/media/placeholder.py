"""Blur placeholder (BlurHash) and colour summaries of an image, computed on a tiny copy.

Every function leaves the image it is given untouched (no draft(), no thumbnail() in place), so the
same opened image can go on to the thumbnailer. The work is a box-reduction to a few dozen pixels,
but that reduction needs the pixels: pass the smallest image at hand (the decoded thumbnail, or a
JPEG opened with draft()) rather than a freshly opened full-size photo.
"""

from __future__ import annotations

import math
from operator import mul

from PIL import Image

from shared.media.metadata import exif_orientation
from shared.media.pixels import flat_rgb, has_alpha, srgb_to_linear

# BlurHash's alphabet: 83 URL- and JSON-safe characters, digit value = position.
_BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
# Long side, in pixels, of the copy the hash is computed on: enough for 9 components, still fast in pure Python.
_HASH_SIDE = 32
# The quantiser sees a bit more detail so small but vivid regions can win a palette slot.
_PALETTE_SIDE = 64
_LONG_SIDE_COMPONENTS = 4
_MIN_COMPONENTS = 2
_MAX_COMPONENTS = 9
# Transparent areas are shown on the page background; white is the common one.
_BACKGROUND = (255, 255, 255)

# EXIF orientation -> the transpose that turns the pixels upright (as ImageOps.exif_transpose does).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


_LINEAR = tuple(srgb_to_linear(value) for value in range(256))


def blurhash(image: Image.Image, components: tuple[int, int] | None = None) -> str:
    """The BlurHash of the upright image; components (x, y) default to 4 on the long side, fewer across."""
    small = _small_rgb(image, _HASH_SIDE)
    width, height = small.size
    x_components, y_components = components or _components_for(width, height)
    if not (1 <= x_components <= _MAX_COMPONENTS and 1 <= y_components <= _MAX_COMPONENTS):
        raise ValueError(f"BlurHash components must be 1-9 each, got {x_components}x{y_components}")
    factors = _factors(small, x_components, y_components)
    dc, ac = factors[0], factors[1:]

    parts = [_encode83((x_components - 1) + (y_components - 1) * 9, 1)]
    if ac:
        actual_max = max(abs(channel) for factor in ac for channel in factor)
        quantised_max = max(0, min(82, math.floor(actual_max * 166 - 0.5)))
        maximum = (quantised_max + 1) / 166
        parts.append(_encode83(quantised_max, 1))
    else:
        maximum = 1.0
        parts.append(_encode83(0, 1))
    parts.append(_encode83(_pack_srgb(dc), 4))
    parts.extend(_encode83(_pack_ac(factor, maximum), 2) for factor in ac)
    return "".join(parts)


def average_color(image: Image.Image) -> str:
    """The mean colour of the upright image, averaged in linear light, as "#rrggbb" (the BlurHash DC)."""
    small = _small_rgb(image, _HASH_SIDE)
    data = small.tobytes()
    count = len(data) // 3
    mean = tuple(sum(_LINEAR[value] for value in data[channel::3]) / count for channel in range(3))
    return "#{:02x}{:02x}{:02x}".format(*(_linear_to_srgb(value) for value in mean))


def dominant_colors(image: Image.Image, n: int = 3) -> list[str]:
    """Up to n "#rrggbb" colours from a median-cut palette, the most widespread first."""
    if not 1 <= n <= 256:
        raise ValueError(f"n must be 1-256, got {n}")
    small = _small_rgb(image, _PALETTE_SIDE)
    quantised = small.quantize(colors=n, method=Image.Quantize.MEDIANCUT)
    palette = quantised.getpalette() or []
    counts = quantised.getcolors(256) or []
    colors: list[str] = []
    for _, index in sorted(counts, key=lambda entry: -entry[0]):
        if not isinstance(index, int):
            continue
        red, green, blue = palette[3 * index : 3 * index + 3]
        color = f"#{red:02x}{green:02x}{blue:02x}"
        if color not in colors:
            colors.append(color)
    return colors[:n]


def _components_for(width: int, height: int) -> tuple[int, int]:
    """4 components along the long side and proportionally fewer (at least 2) across: 4x3 for 4:3."""
    ratio = min(width, height) / max(width, height)
    across = max(_MIN_COMPONENTS, min(_LONG_SIDE_COMPONENTS, round(_LONG_SIDE_COMPONENTS * ratio)))
    return (_LONG_SIDE_COMPONENTS, across) if width >= height else (across, _LONG_SIDE_COMPONENTS)


def _small_rgb(image: Image.Image, side: int) -> Image.Image:
    """An upright RGB copy at most side pixels long, transparency flattened onto the background."""
    source = image
    if source.mode in ("I", "F") or source.mode.startswith("I;16"):
        # 16-bit greyscale: scale to 8 bits instead of letting convert() clip everything above 255.
        source = source.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    elif source.mode not in ("RGB", "RGBA", "L", "LA"):
        source = source.convert("RGBA" if has_alpha(source) else "RGB")
    width, height = source.size
    scale = side / max(width, height)
    if scale < 1:
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
        # A box filter averages every source pixel into its cell: the mean colour survives intact.
        source = source.resize(target, Image.Resampling.BOX)
    transpose = UPRIGHT.get(exif_orientation(image))
    if transpose is not None:
        source = source.transpose(transpose)
    return flat_rgb(source, _BACKGROUND)


def _factors(small: Image.Image, x_components: int, y_components: int) -> list[tuple[float, float, float]]:
    """BlurHash cosine-transform coefficients in linear light, row-major over (y, x) components."""
    width, height = small.size
    linear = [_LINEAR[value] for value in small.tobytes()]
    cos_x = [[math.cos(math.pi * i * x / width) for x in range(width)] for i in range(x_components)]
    cos_y = [[math.cos(math.pi * j * y / height) for y in range(height)] for j in range(y_components)]
    # The basis is separable: sum each row against every horizontal cosine once, then the rows.
    row_sums: list[list[tuple[float, float, float]]] = []
    for y in range(height):
        row = linear[y * width * 3 : (y + 1) * width * 3]
        reds, greens, blues = row[0::3], row[1::3], row[2::3]
        row_sums.append(
            [(sum(map(mul, cx, reds)), sum(map(mul, cx, greens)), sum(map(mul, cx, blues))) for cx in cos_x]
        )
    factors: list[tuple[float, float, float]] = []
    for j in range(y_components):
        for i in range(x_components):
            scale = (1 if i == j == 0 else 2) / (width * height)
            red = green = blue = 0.0
            for y in range(height):
                weight = cos_y[j][y]
                row_red, row_green, row_blue = row_sums[y][i]
                red += weight * row_red
                green += weight * row_green
                blue += weight * row_blue
            factors.append((red * scale, green * scale, blue * scale))
    return factors


def _linear_to_srgb(value: float) -> int:
    """Linear light back to an 8-bit sRGB channel, clamped."""
    v = min(1.0, max(0.0, value))
    if v <= 0.0031308:
        return int(v * 12.92 * 255 + 0.5)
    return int((1.055 * v ** (1 / 2.4) - 0.055) * 255 + 0.5)


def _pack_srgb(color: tuple[float, float, float]) -> int:
    """The DC colour as a 24-bit 0xRRGGBB integer."""
    red, green, blue = (_linear_to_srgb(channel) for channel in color)
    return (red << 16) | (green << 8) | blue


def _pack_ac(color: tuple[float, float, float], maximum: float) -> int:
    """One AC coefficient as three base-19 digits (square-root companded, relative to maximum)."""
    red, green, blue = (
        max(0, min(18, math.floor(math.copysign(abs(channel / maximum) ** 0.5, channel) * 9 + 9.5)))
        for channel in color
    )
    return red * 19 * 19 + green * 19 + blue


def _encode83(value: int, length: int) -> str:
    """value as length base-83 digits, most significant first."""
    digits = []
    for _ in range(length):
        value, digit = divmod(value, 83)
        digits.append(_BASE83[digit])
    return "".join(reversed(digits))
