"""Image metadata: camera fields, capture time, GPS, ICC names, animation, hostile EXIF."""

from __future__ import annotations

import io
import json
import random
import struct

import pytest
from PIL import Image, ImageCms
from PIL.TiffImagePlugin import IFDRational

from shared.domain.errors import UnreadableMedia
from shared.media import metadata
from shared.media.metadata import (
    GpsPosition,
    ImageMetadata,
    read_image_metadata,
    read_metadata,
)

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
MAKE, MODEL, ORIENTATION, DATETIME = 0x010F, 0x0110, 0x0112, 0x0132
EXPOSURE, F_NUMBER, ISO, FOCAL, FOCAL_35 = 0x829A, 0x829D, 0x8827, 0x920A, 0xA405
ORIGINAL, OFFSET, OFFSET_ORIGINAL, LENS, MAKER_NOTE, SERIAL = 0x9003, 0x9010, 0x9011, 0xA434, 0x927C, 0xA431


def camera_exif(*, orientation: int = 1, south_west: bool = False) -> Image.Exif:
    """EXIF as a phone writes it: camera, exposure, zoned capture time, GPS of the Eiffel Tower."""
    exif = Image.Exif()
    exif[MAKE] = "Canon"
    exif[MODEL] = "Canon EOS R6"
    exif[ORIENTATION] = orientation
    exif[DATETIME] = "2026:07:20 09:00:00"
    ifd = exif.get_ifd(EXIF_IFD)
    ifd[EXPOSURE] = IFDRational(1, 250)
    ifd[F_NUMBER] = IFDRational(28, 10)
    ifd[ISO] = 400
    ifd[FOCAL] = IFDRational(50, 1)
    ifd[FOCAL_35] = 75
    ifd[LENS] = "RF50mm F1.8 STM"
    ifd[ORIGINAL] = "2026:07:14 18:32:05"
    ifd[OFFSET_ORIGINAL] = "+02:00"
    ifd[MAKER_NOTE] = b"secret maker blob"
    ifd[SERIAL] = "123456789"
    gps = exif.get_ifd(GPS_IFD)
    gps[0x0001] = "S" if south_west else "N"
    gps[0x0002] = (IFDRational(48, 1), IFDRational(51, 1), IFDRational(3024, 100))  # 48.8584
    gps[0x0003] = "W" if south_west else "E"
    gps[0x0004] = (IFDRational(2, 1), IFDRational(17, 1), IFDRational(402, 10))  # 2.2945
    gps[0x0005] = b"\x01" if south_west else b"\x00"
    gps[0x0006] = IFDRational(35, 1)
    return exif


def jpeg(exif: Image.Exif | bytes | None = None, size: tuple[int, int] = (64, 48), icc: bytes | None = None) -> bytes:
    """A small JPEG carrying the given EXIF (an Exif object or raw APP1 bytes) and ICC profile."""
    out = io.BytesIO()
    options: dict[str, object] = {}
    if exif is not None:
        options["exif"] = exif.tobytes() if isinstance(exif, Image.Exif) else exif
    if icc is not None:
        options["icc_profile"] = icc
    Image.new("RGB", size, (90, 140, 200)).save(out, format="JPEG", **options)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    """The bytes opened the way the pipeline opens them: explicit formats."""
    return Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "WEBP", "GIF"])


# --- A tiny TIFF writer, for EXIF that Pillow refuses to write (wrong types on purpose) ----------

ASCII, SHORT, LONG, RATIONAL = 2, 3, 4, 5
Entry = tuple[int, int, int, bytes]


def ascii_entry(tag: int, text: str) -> Entry:
    raw = text.encode() + b"\x00"
    return (tag, ASCII, len(raw), raw)


def rational_entry(tag: int, *pairs: tuple[int, int]) -> Entry:
    return (tag, RATIONAL, len(pairs), b"".join(struct.pack("<II", num, den) for num, den in pairs))


def short_entry(tag: int, value: int) -> Entry:
    return (tag, SHORT, 1, struct.pack("<H", value))


def ifd_bytes(entries: list[Entry], start: int) -> bytes:
    """One little-endian IFD placed at `start`, its out-of-line values right after it."""
    entries = sorted(entries)
    data_at = start + 2 + 12 * len(entries) + 4
    head, tail = struct.pack("<H", len(entries)), b""
    for tag, kind, count, payload in entries:
        if len(payload) <= 4:
            head += struct.pack("<HHI", tag, kind, count) + payload.ljust(4, b"\x00")
        else:
            head += struct.pack("<HHII", tag, kind, count, data_at + len(tail))
            tail += payload + b"\x00" * (len(payload) % 2)
    return head + struct.pack("<I", 0) + tail


def raw_exif(ifd0: list[Entry], exif: list[Entry] | None = None, gps: list[Entry] | None = None) -> bytes:
    """APP1 EXIF bytes with the given entries, typed exactly as written."""
    subs = [(tag, entries) for tag, entries in ((EXIF_IFD, exif), (GPS_IFD, gps)) if entries]

    def first_ifd(offsets: list[int]) -> bytes:
        pointers = [(tag, LONG, 1, struct.pack("<I", offset)) for (tag, _), offset in zip(subs, offsets, strict=True)]
        return ifd_bytes(ifd0 + pointers, 8)

    position = 8 + len(first_ifd([0] * len(subs)))
    offsets, blobs = [], []
    for _, entries in subs:
        blob = ifd_bytes(entries, position)
        offsets.append(position)
        blobs.append(blob)
        position += len(blob)
    return b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + first_ifd(offsets) + b"".join(blobs)


# --- Well-formed images -------------------------------------------------------------------------


def test_given_a_camera_jpeg_when_read_then_camera_settings_are_reported() -> None:
    meta = read_metadata(jpeg(camera_exif()))

    assert (meta.width, meta.height, meta.format, meta.mode) == (64, 48, "JPEG", "RGB")
    assert (meta.camera_make, meta.camera_model, meta.lens_model) == ("Canon", "Canon EOS R6", "RF50mm F1.8 STM")
    assert meta.exposure_time == pytest.approx(0.004)
    assert meta.exposure_time_text == "1/250"
    assert meta.f_number == pytest.approx(2.8)
    assert meta.iso == 400
    assert meta.focal_length_mm == pytest.approx(50.0)
    assert meta.focal_length_35mm == 75
    assert (meta.has_alpha, meta.animated, meta.frame_count) == (False, False, 1)


def test_given_offset_time_original_when_read_then_taken_at_carries_the_utc_offset() -> None:
    assert read_metadata(jpeg(camera_exif())).taken_at == "2026-07-14T18:32:05+02:00"


def test_given_only_offset_time_when_read_then_taken_at_borrows_it() -> None:
    exif = camera_exif()
    ifd = exif.get_ifd(EXIF_IFD)
    del ifd[OFFSET_ORIGINAL]
    ifd[OFFSET] = "-05:30"

    assert read_metadata(jpeg(exif)).taken_at == "2026-07-14T18:32:05-05:30"


def test_given_no_offset_when_read_then_taken_at_is_naive_local_time() -> None:
    exif = camera_exif()
    del exif.get_ifd(EXIF_IFD)[OFFSET_ORIGINAL]

    assert read_metadata(jpeg(exif)).taken_at == "2026-07-14T18:32:05"


def test_given_no_original_time_when_read_then_taken_at_falls_back_to_datetime() -> None:
    exif = camera_exif()
    ifd = exif.get_ifd(EXIF_IFD)
    del ifd[ORIGINAL], ifd[OFFSET_ORIGINAL]

    assert read_metadata(jpeg(exif)).taken_at == "2026-07-20T09:00:00"


def test_given_gps_north_east_when_read_then_position_is_positive_degrees() -> None:
    gps = read_metadata(jpeg(camera_exif())).gps

    assert gps is not None
    assert gps.lat == pytest.approx(48.8584, abs=1e-4)
    assert gps.lon == pytest.approx(2.2945, abs=1e-4)
    assert gps.alt_m == pytest.approx(35.0)


def test_given_gps_south_west_below_sea_level_when_read_then_all_three_are_negative() -> None:
    gps = read_metadata(jpeg(camera_exif(south_west=True))).gps

    assert gps is not None
    assert gps.lat == pytest.approx(-48.8584, abs=1e-4)
    assert gps.lon == pytest.approx(-2.2945, abs=1e-4)
    assert gps.alt_m == pytest.approx(-35.0)


def test_given_orientation_6_when_read_then_width_and_height_are_swapped() -> None:
    meta = read_metadata(jpeg(camera_exif(orientation=6), size=(80, 40)))

    assert (meta.orientation, meta.width, meta.height) == (6, 40, 80)


def test_given_an_srgb_icc_profile_when_read_then_its_description_is_reported() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

    assert read_metadata(jpeg(icc=icc)).color_profile == "sRGB built-in"


def test_given_no_littlecms_when_reading_an_icc_profile_then_the_builtin_parser_names_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    monkeypatch.setattr(metadata, "ImageCms", None)

    assert read_metadata(jpeg(icc=icc)).color_profile == "sRGB built-in"


def test_given_an_icc_v4_mluc_description_when_parsed_by_hand_then_the_english_name_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "Display P3".encode("utf-16-be")
    german = "Anzeige P3".encode("utf-16-be")
    mluc = b"mluc" + b"\x00" * 4 + struct.pack(">II", 2, 12)
    mluc += b"deDE" + struct.pack(">II", len(german), 40) + b"enUS" + struct.pack(">II", len(text), 40 + len(german))
    mluc += german + text
    icc = b"\x00" * 128 + struct.pack(">I", 1) + b"desc" + struct.pack(">II", 144, len(mluc)) + mluc
    monkeypatch.setattr(metadata, "ImageCms", None)

    assert read_metadata(jpeg(icc=icc)).color_profile == "Display P3"


def test_given_garbage_icc_bytes_when_read_then_color_profile_is_none() -> None:
    assert read_metadata(jpeg(icc=b"\x00" * 128 + b"\xff\xff\xff\xff" + b"desc")).color_profile is None


def test_given_a_png_with_alpha_and_exif_when_read_then_pixels_are_not_decoded() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (30, 20), (1, 2, 3, 100)).save(out, format="PNG", exif=camera_exif().tobytes())
    image = opened(out.getvalue())

    meta = read_image_metadata(image)

    assert (meta.format, meta.has_alpha, meta.camera_make) == ("PNG", True, "Canon")
    assert meta.gps is not None
    assert image.tile, "the pixel data was decoded"


def test_given_a_jpeg_when_read_then_pixels_are_not_decoded() -> None:
    image = opened(jpeg(camera_exif()))

    read_image_metadata(image)

    assert image.tile, "the pixel data was decoded"


def test_given_a_webp_with_exif_when_read_then_its_exif_is_used() -> None:
    out = io.BytesIO()
    Image.new("RGB", (20, 10)).save(out, format="WEBP", exif=camera_exif(orientation=8).tobytes())

    meta = read_metadata(out.getvalue())

    assert (meta.format, meta.camera_model, meta.width, meta.height) == ("WEBP", "Canon EOS R6", 10, 20)


def test_given_an_animated_gif_when_read_then_frames_are_counted() -> None:
    frames = [Image.new("RGB", (16, 16), color) for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    image = opened(out.getvalue())

    meta = read_image_metadata(image)

    assert (meta.format, meta.animated, meta.frame_count) == ("GIF", True, 3)
    assert image.tell() == 0


def test_given_a_plain_image_when_serialised_then_none_fields_are_left_out() -> None:
    data = read_metadata(jpeg()).to_dict()

    assert data == {
        "width": 64,
        "height": 48,
        "format": "JPEG",
        "orientation": 1,
        "mode": "RGB",
        "has_alpha": False,
        "animated": False,
        "frame_count": 1,
    }


def test_given_full_metadata_when_serialised_then_it_is_json_safe() -> None:
    data = read_metadata(jpeg(camera_exif())).to_dict()

    assert json.loads(json.dumps(data)) == data
    assert data["exposure_time_text"] == "1/250"
    assert data["gps"] == {
        "lat": pytest.approx(48.8584, abs=1e-4),
        "lon": pytest.approx(2.2945, abs=1e-4),
        "alt_m": 35.0,
    }


@pytest.mark.parametrize(
    ("seconds", "text"), [(1 / 8000, "1/8000"), (1 / 4, "1/4"), (0.5, "0.5"), (2.5, "2.5"), (30.0, "30")]
)
def test_given_an_exposure_when_rendered_then_it_reads_like_a_camera_display(seconds: float, text: str) -> None:
    assert ImageMetadata(width=1, height=1, format="JPEG", exposure_time=seconds).exposure_time_text == text


def test_given_a_position_without_altitude_when_serialised_then_alt_is_left_out() -> None:
    assert GpsPosition(lat=1.5, lon=-2.5).to_dict() == {"lat": 1.5, "lon": -2.5}


# --- Refusals -------------------------------------------------------------------------------------


def test_given_bytes_that_are_not_an_image_when_read_then_unreadable_media() -> None:
    with pytest.raises(UnreadableMedia):
        read_metadata(b"%PDF-1.7 definitely not a picture")


def test_given_a_format_outside_the_list_when_read_then_unreadable_media() -> None:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="BMP")

    with pytest.raises(UnreadableMedia):
        read_metadata(out.getvalue())


# --- Hostile EXIF ---------------------------------------------------------------------------------


def test_given_gps_with_zero_denominators_when_read_then_gps_is_none_and_the_rest_survives() -> None:
    exif = camera_exif()
    exif.get_ifd(GPS_IFD)[0x0002] = (IFDRational(48, 0), IFDRational(0, 0), IFDRational(1, 1))

    meta = read_metadata(jpeg(exif))

    assert meta.gps is None
    assert meta.camera_make == "Canon"


def test_given_latitude_200_degrees_when_read_then_gps_is_none() -> None:
    exif = camera_exif()
    exif.get_ifd(GPS_IFD)[0x0002] = (IFDRational(200, 1), IFDRational(0, 1), IFDRational(0, 1))

    assert read_metadata(jpeg(exif)).gps is None


def test_given_a_zero_zero_position_when_read_then_gps_is_none() -> None:
    exif = camera_exif()
    gps = exif.get_ifd(GPS_IFD)
    gps[0x0002] = gps[0x0004] = (IFDRational(0, 1), IFDRational(0, 1), IFDRational(0, 1))

    assert read_metadata(jpeg(exif)).gps is None


def test_given_a_missing_hemisphere_when_read_then_gps_is_none() -> None:
    exif = camera_exif()
    del exif.get_ifd(GPS_IFD)[0x0001]

    assert read_metadata(jpeg(exif)).gps is None


def test_given_an_all_zero_datetime_when_read_then_taken_at_is_none() -> None:
    exif = camera_exif()
    del exif[DATETIME]
    exif.get_ifd(EXIF_IFD)[ORIGINAL] = "0000:00:00 00:00:00"

    assert read_metadata(jpeg(exif)).taken_at is None


def test_given_an_impossible_offset_when_read_then_taken_at_is_naive() -> None:
    exif = camera_exif()
    exif.get_ifd(EXIF_IFD)[OFFSET_ORIGINAL] = "+25:00"

    assert read_metadata(jpeg(exif)).taken_at == "2026-07-14T18:32:05"


def test_given_strings_where_numbers_belong_when_read_then_those_fields_are_none() -> None:
    exif = raw_exif(
        [ascii_entry(MAKE, "Nikon"), ascii_entry(ORIENTATION, "six")],
        exif=[
            ascii_entry(EXPOSURE, "1/250"),
            ascii_entry(F_NUMBER, "f/2.8"),
            ascii_entry(ISO, "fast"),
            ascii_entry(FOCAL_35, "35mm"),
            rational_entry(FOCAL, (4_294_967_295, 1)),
            short_entry(LENS, 7),
            ascii_entry(ORIGINAL, "yesterday"),
        ],
        gps=[ascii_entry(0x0001, "N"), ascii_entry(0x0002, "48 51 30"), short_entry(0x0003, 69)],
    )

    meta = read_metadata(jpeg(exif))

    assert meta.camera_make == "Nikon"
    assert meta.orientation == 1
    assert (meta.exposure_time, meta.f_number, meta.iso, meta.focal_length_35mm) == (None, None, None, None)
    assert (meta.focal_length_mm, meta.lens_model, meta.taken_at, meta.gps) == (None, None, None, None)


def test_given_a_sub_ifd_pointer_past_the_end_when_read_then_no_error() -> None:
    exif = raw_exif([ascii_entry(MAKE, "Nikon"), (EXIF_IFD, LONG, 1, struct.pack("<I", 0x7FFF_FFFF))])

    meta = read_metadata(jpeg(exif))

    assert (meta.camera_make, meta.exposure_time) == ("Nikon", None)


def test_given_a_truncated_exif_block_when_read_then_no_error() -> None:
    whole = camera_exif().tobytes()

    for cut in (7, 12, 20, 40, len(whole) // 2, len(whole) - 3):
        meta = read_metadata(jpeg(whole[:cut]))
        assert (meta.width, meta.height) == (64, 48)


# Pillow's own open() warns about the corruption; what matters here is that nothing raises.
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_given_randomly_corrupted_exif_when_read_then_never_raises() -> None:
    whole = bytearray(camera_exif().tobytes())
    rng = random.Random(20260714)

    for _ in range(300):
        corrupt = bytearray(whole)
        for _ in range(rng.randint(1, 8)):
            corrupt[rng.randrange(6, len(corrupt))] = rng.randrange(256)
        meta = read_image_metadata(opened(jpeg(bytes(corrupt))))
        assert meta.orientation in range(1, 9)
        json.dumps(meta.to_dict())
