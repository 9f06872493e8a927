"""BlurHash placeholder and colour summaries, checked against the format's published properties."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageOps

from shared.media.placeholder import average_color, blurhash, dominant_colors

BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


def decode83(text: str) -> int:
    value = 0
    for char in text:
        value = value * 83 + BASE83.index(char)
    return value


def components_of(hash_: str) -> tuple[int, int]:
    """(x, y) components from the size flag, the first character."""
    flag = decode83(hash_[0])
    return flag % 9 + 1, flag // 9 + 1


def dc_color(hash_: str) -> tuple[int, int, int]:
    """The DC (average) colour: characters 2-5 are 0xRRGGBB in base 83."""
    value = decode83(hash_[2:6])
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


def ac_digits(hash_: str) -> list[tuple[int, int, int]]:
    """Each AC component's three quantised base-19 digits (r, g, b), 9 meaning zero."""
    digits = []
    for start in range(6, len(hash_), 2):
        value = decode83(hash_[start : start + 2])
        digits.append((value // 361, value // 19 % 19, value % 19))
    return digits


def horizontal_gradient(width: int = 48, height: int = 36) -> Image.Image:
    return Image.linear_gradient("L").rotate(90).resize((width, height)).convert("RGB")


def test_given_a_4_by_3_photo_when_hashed_then_it_has_4x3_components_and_standard_length() -> None:
    hash_ = blurhash(horizontal_gradient(400, 300))

    assert components_of(hash_) == (4, 3)
    assert hash_[0] == "L"
    assert len(hash_) == 4 + 2 * 4 * 3
    assert set(hash_) <= set(BASE83)


@pytest.mark.parametrize(
    ("size", "components"),
    [((300, 400), (3, 4)), ((500, 500), (4, 4)), ((1600, 900), (4, 2)), ((3000, 500), (4, 2))],
)
def test_given_an_aspect_ratio_when_hashed_then_components_follow_it(
    size: tuple[int, int], components: tuple[int, int]
) -> None:
    hash_ = blurhash(horizontal_gradient(*size))

    assert components_of(hash_) == components
    assert len(hash_) == 4 + 2 * components[0] * components[1]


@pytest.mark.parametrize("components", [(1, 1), (9, 9), (5, 2), (1, 7)])
def test_given_explicit_components_when_hashed_then_length_is_4_plus_2xy(components: tuple[int, int]) -> None:
    hash_ = blurhash(horizontal_gradient(), components)

    assert components_of(hash_) == components
    assert len(hash_) == 4 + 2 * components[0] * components[1]


@pytest.mark.parametrize("components", [(0, 3), (4, 10)])
def test_given_out_of_range_components_when_hashed_then_value_error(components: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="components"):
        blurhash(horizontal_gradient(), components)


def test_given_a_black_image_when_hashed_then_it_is_the_canonical_black_hash() -> None:
    assert blurhash(Image.new("RGB", (40, 30))) == "L00000fQfQfQfQfQfQfQfQfQfQfQ"


@pytest.mark.parametrize("color", [(200, 100, 50), (0, 0, 0), (255, 255, 255), (17, 230, 128)])
def test_given_a_solid_colour_when_hashed_then_the_dc_decodes_back_to_it(color: tuple[int, int, int]) -> None:
    hash_ = blurhash(Image.new("RGB", (64, 48), color))

    assert dc_color(hash_) == color


def test_given_gradients_when_hashed_then_ac_components_are_row_major() -> None:
    dark_to_light = horizontal_gradient(32, 24)
    top_to_bottom = Image.linear_gradient("L").resize((32, 24)).convert("RGB")

    # The strongest (most negative: dark where the cosine is +1) component sits at (1, 0) for a
    # left-to-right ramp, and at (0, 1), the fourth AC of a 4x3 hash, for a top-to-bottom one.
    assert ac_digits(blurhash(dark_to_light))[0] == (0, 0, 0)
    assert ac_digits(blurhash(top_to_bottom))[3] == (0, 0, 0)


def test_given_a_transposed_image_when_hashed_then_components_swap_axes() -> None:
    # Square and 24 px: no resampling, and component (i, j) of one is component (j, i) of the other.
    image = horizontal_gradient(24, 24)
    image.paste((250, 30, 30), (0, 0, 6, 10))

    original, transposed = blurhash(image), blurhash(image.transpose(Image.Transpose.TRANSPOSE))

    assert components_of(original) == components_of(transposed) == (4, 4)
    assert original[:6] == transposed[:6]
    ac_positions = [(i, j) for j in range(4) for i in range(4)][1:]
    by_position = dict(zip(ac_positions, ac_digits(original), strict=True))
    swapped = dict(zip(ac_positions, ac_digits(transposed), strict=True))
    assert all(swapped[(j, i)] == digits for (i, j), digits in by_position.items())
    assert by_position[(1, 0)] != by_position[(0, 1)], "a left-to-right gradient is not symmetric"


def test_given_an_exif_orientation_when_hashed_then_the_upright_picture_is_hashed() -> None:
    image = horizontal_gradient(24, 16)
    exif = Image.Exif()
    exif[0x0112] = 6
    image.info["exif"] = exif.tobytes()

    hash_ = blurhash(image)

    assert components_of(hash_) == (3, 4)
    assert hash_ == blurhash(ImageOps.exif_transpose(image))


def test_given_an_opened_jpeg_when_hashed_then_the_callers_image_is_untouched() -> None:
    out = io.BytesIO()
    horizontal_gradient(800, 600).save(out, format="JPEG")
    image = Image.open(io.BytesIO(out.getvalue()), formats=["JPEG"])

    blurhash(image)
    average_color(image)
    dominant_colors(image)

    assert (image.size, image.mode) == ((800, 600), "RGB")


def test_given_a_solid_colour_when_averaged_then_it_is_that_colour() -> None:
    assert average_color(Image.new("RGB", (50, 20), (200, 100, 50))) == "#c86432"


def test_given_half_black_half_white_when_averaged_then_the_mean_is_in_linear_light() -> None:
    image = Image.new("RGB", (64, 32), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 32, 32))

    # 50 % linear light is sRGB 188, not the naive 128.
    assert average_color(image) == "#bcbcbc"
    assert dc_color(blurhash(image)) == (188, 188, 188)


def test_given_a_transparent_png_when_averaged_then_it_is_flattened_on_white() -> None:
    assert average_color(Image.new("RGBA", (20, 20), (255, 0, 0, 0))) == "#ffffff"


def test_given_a_palette_gif_with_transparency_when_hashed_then_it_is_flattened_on_white() -> None:
    image = Image.new("P", (20, 20), 0)
    image.putpalette([10, 20, 30] * 256)
    image.info["transparency"] = 0

    assert average_color(image) == "#ffffff"


def test_given_a_16_bit_grey_png_when_averaged_then_levels_are_scaled_not_clipped() -> None:
    out = io.BytesIO()
    Image.new("I;16", (10, 10), 200 * 257).save(out, format="PNG")

    assert average_color(Image.open(io.BytesIO(out.getvalue()))) == "#c8c8c8"


def test_given_three_colour_areas_when_summarised_then_dominant_colours_come_largest_first() -> None:
    # 60 px: under the quantiser's 64 px working size, so no blended edge pixels muddy the areas.
    image = Image.new("RGB", (60, 60), (255, 0, 0))
    image.paste((0, 0, 255), (36, 0, 60, 60))
    image.paste((0, 255, 0), (36, 42, 60, 60))

    assert dominant_colors(image) == ["#ff0000", "#0000ff", "#00ff00"]


def test_given_a_solid_image_when_summarised_then_one_colour_is_returned() -> None:
    assert dominant_colors(Image.new("RGB", (30, 30), (18, 52, 86)), n=5) == ["#123456"]


@pytest.mark.parametrize("n", [0, 257])
def test_given_a_bad_colour_count_when_summarised_then_value_error(n: int) -> None:
    with pytest.raises(ValueError, match="n must be"):
        dominant_colors(Image.new("RGB", (4, 4)), n=n)
