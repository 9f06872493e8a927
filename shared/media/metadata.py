"""Image metadata from headers and EXIF only: dimensions, camera, capture time, GPS, ICC name, animation."""

from __future__ import annotations

import io
import math
import re
import struct
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from numbers import Real

from PIL import Image, UnidentifiedImageError
from PIL.TiffImagePlugin import IFDRational

from shared.domain.errors import UnreadableMedia
from shared.media.formats import image_formats
from shared.media.pixels import has_alpha

try:
    from PIL import ImageCms
except ImportError:  # Pillow built without littlecms: the small parser below names the profile instead.
    ImageCms = None  # type: ignore[assignment]

# EXIF tags (TIFF/EXIF 2.32 numbering).
_ORIENTATION = 0x0112
_MAKE = 0x010F
_MODEL = 0x0110
_DATETIME = 0x0132
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_EXPOSURE_TIME = 0x829A
_F_NUMBER = 0x829D
_ISO = 0x8827
_ISO_SPEED = 0x8833
_RECOMMENDED_EXPOSURE_INDEX = 0x8832
_DATETIME_ORIGINAL = 0x9003
_DATETIME_DIGITIZED = 0x9004
_OFFSET_TIME = 0x9010
_OFFSET_TIME_ORIGINAL = 0x9011
_OFFSET_TIME_DIGITIZED = 0x9012
_FOCAL_LENGTH = 0x920A
_FOCAL_LENGTH_35MM = 0xA405
_LENS_MODEL = 0xA434
_GPS_LATITUDE_REF = 0x0001
_GPS_LATITUDE = 0x0002
_GPS_LONGITUDE_REF = 0x0003
_GPS_LONGITUDE = 0x0004
_GPS_ALTITUDE_REF = 0x0005
_GPS_ALTITUDE = 0x0006

# Orientations 5-8 turn the picture a quarter: the viewer sees height x width.
_QUARTER_TURNS = frozenset({5, 6, 7, 8})

# Everything Pillow's lazy TIFF/EXIF parser is known to raise on hostile bytes; caught so a bad
# field costs that field only. RecursionError covers self-referencing IFD chains.
_PARSE_ERRORS: tuple[type[BaseException], ...] = (
    ArithmeticError,
    AttributeError,
    EOFError,
    IndexError,
    KeyError,
    OSError,
    RecursionError,
    SyntaxError,
    TypeError,
    ValueError,
    struct.error,
)

# ImageCms imports without littlecms and raises ImportError on first use.
_CMS_ERRORS: tuple[type[BaseException], ...] = (ImportError, *_PARSE_ERRORS)

# EXIF text is attacker-controlled and ends up in a DynamoDB item and on screen: keep it short.
_MAX_TEXT = 256
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_EXIF_DATETIME = re.compile(r"(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")
# Civil time zones span UTC-12:00 to UTC+14:00; anything further out is a corrupt field.
_MAX_OFFSET = timedelta(hours=14)

# Plausibility bounds: a value outside them is a corrupt field, not a photograph's setting.
_MAX_EXPOSURE_S = 24 * 3600.0
_MAX_F_NUMBER = 1024.0
_MAX_ISO = 10_000_000
_MAX_FOCAL_MM = 100_000.0
_MIN_ALTITUDE_M = -12_000.0
_MAX_ALTITUDE_M = 100_000.0

# Exposures at or above this read as decimals ("0.5", "2.5"); shorter ones as fractions ("1/250").
_FRACTION_BELOW_S = 0.3


@dataclass(frozen=True)
class GpsPosition:
    """Where a picture was taken: WGS-84 degrees (south and west negative), metres above sea level."""

    lat: float
    lon: float
    alt_m: float | None = None

    def to_dict(self) -> dict[str, float]:
        """JSON-safe mapping; alt_m is left out when unknown."""
        out = {"lat": self.lat, "lon": self.lon}
        if self.alt_m is not None:
            out["alt_m"] = self.alt_m
        return out


@dataclass(frozen=True)
class ImageMetadata:
    """What the headers and EXIF of an image say; None means absent or unreadable.

    width/height are as displayed (after EXIF orientation). exposure_time is in seconds (float);
    exposure_time_text renders it the way cameras do ("1/250", "2.5"). taken_at is ISO-8601 with a
    UTC offset when the EXIF carries one, otherwise naive camera-local time.
    """

    width: int
    height: int
    format: str
    orientation: int = 1
    mode: str = ""
    camera_make: str | None = None
    camera_model: str | None = None
    lens_model: str | None = None
    exposure_time: float | None = None
    f_number: float | None = None
    iso: int | None = None
    focal_length_mm: float | None = None
    focal_length_35mm: int | None = None
    taken_at: str | None = None
    gps: GpsPosition | None = None
    color_profile: str | None = None
    has_alpha: bool = False
    animated: bool = False
    frame_count: int = 1

    @property
    def exposure_time_text(self) -> str | None:
        """Exposure as photographers write it: "1/250" below 0.3 s, else seconds ("0.5", "30")."""
        if self.exposure_time is None:
            return None
        if self.exposure_time < _FRACTION_BELOW_S:
            return f"1/{round(1 / self.exposure_time)}"
        return f"{self.exposure_time:.1f}".removesuffix(".0")

    def to_dict(self) -> dict[str, object]:
        """JSON-safe mapping; fields that are None are left out so stored items stay small."""
        values: dict[str, object] = {
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "orientation": self.orientation,
            "mode": self.mode,
            "camera_make": self.camera_make,
            "camera_model": self.camera_model,
            "lens_model": self.lens_model,
            "exposure_time": self.exposure_time,
            "exposure_time_text": self.exposure_time_text,
            "f_number": self.f_number,
            "iso": self.iso,
            "focal_length_mm": self.focal_length_mm,
            "focal_length_35mm": self.focal_length_35mm,
            "taken_at": self.taken_at,
            "gps": self.gps.to_dict() if self.gps is not None else None,
            "color_profile": self.color_profile,
            "has_alpha": self.has_alpha,
            "animated": self.animated,
            "frame_count": self.frame_count,
        }
        return {key: value for key, value in values.items() if value is not None}


def read_metadata(data: bytes, formats: Sequence[str] | None = None) -> ImageMetadata:
    """Open image bytes (headers only) and read their metadata; UnreadableMedia if Pillow can't identify them."""
    try:
        with _quiet():
            # Only headers are read here; the decoding step enforces the pixel cap.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(formats or image_formats())) as image:
                return read_image_metadata(image)
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise UnreadableMedia(f"not a readable image: {exc}") from exc
    except (OSError, ValueError, SyntaxError, EOFError, struct.error) as exc:
        raise UnreadableMedia(f"image header is corrupt: {exc}") from exc


def read_image_metadata(image: Image.Image) -> ImageMetadata:
    """Metadata of an opened image without decoding its pixels; malformed EXIF fields become None."""
    exif = _exif_of(image)
    orientation = exif_orientation(image, exif)
    width, height = image.size
    if orientation in _QUARTER_TURNS:
        width, height = height, width
    exif_ifd = _sub_ifd(exif, _EXIF_IFD)
    gps_ifd = _sub_ifd(exif, _GPS_IFD)
    frame_count = _frame_count(image)
    return ImageMetadata(
        width=width,
        height=height,
        format=image.format or "",
        orientation=orientation,
        mode=image.mode,
        camera_make=_text(_get(exif, _MAKE)),
        camera_model=_text(_get(exif, _MODEL)),
        lens_model=_text(_get(exif_ifd, _LENS_MODEL)),
        exposure_time=_bounded(_number(_get(exif_ifd, _EXPOSURE_TIME)), _MAX_EXPOSURE_S),
        f_number=_bounded(_number(_get(exif_ifd, _F_NUMBER)), _MAX_F_NUMBER),
        iso=_iso(exif_ifd),
        focal_length_mm=_bounded(_number(_get(exif_ifd, _FOCAL_LENGTH)), _MAX_FOCAL_MM),
        focal_length_35mm=_whole(_get(exif_ifd, _FOCAL_LENGTH_35MM), int(_MAX_FOCAL_MM)),
        taken_at=_taken_at(exif, exif_ifd),
        gps=_gps(gps_ifd),
        color_profile=_color_profile(image),
        has_alpha=has_alpha(image),
        # An MPO's extra pictures (depth maps, gain maps, stereo pairs) are not an animation.
        animated=frame_count > 1 and image.format != "MPO",
        frame_count=frame_count,
    )


def exif_orientation(image: Image.Image, exif: Mapping[int, object] | None = None) -> int:
    """The EXIF orientation (1-8) of an opened image; 1 when absent or invalid."""
    value = _first(_get(_exif_of(image) if exif is None else exif, _ORIENTATION))
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 8:
        return value
    return 1


# --- EXIF access -------------------------------------------------------------------------------


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence Pillow's corrupt-EXIF warnings: hostile uploads would otherwise flood the logs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _exif_of(image: Image.Image) -> Mapping[int, object]:
    """The image's EXIF as a mapping, empty when absent or unparsable."""
    with _quiet():
        try:
            if image.format == "PNG":
                # PngImageFile.getexif() decodes the whole image to look for a late eXIf chunk;
                # only the chunks before the pixel data are read here.
                exif = Image.Exif()
                raw = image.info.get("exif")
                if isinstance(raw, bytes):
                    exif.load(raw)
                return exif
            return image.getexif()
        except _PARSE_ERRORS:
            return {}


def _sub_ifd(exif: Mapping[int, object], tag: int) -> Mapping[int, object]:
    """A nested IFD (Exif, GPS) as a mapping, empty when absent or unparsable."""
    if not isinstance(exif, Image.Exif):
        return {}
    with _quiet():
        try:
            return exif.get_ifd(tag)
        except _PARSE_ERRORS:
            return {}


def _get(mapping: Mapping[int, object], tag: int) -> object:
    """One tag's value, None when absent or its bytes cannot be decoded."""
    with _quiet():
        try:
            return mapping.get(tag)
        except _PARSE_ERRORS:
            return None


def _first(value: object) -> object:
    """The first element of a multi-valued field, the value itself otherwise."""
    if isinstance(value, tuple | list):
        return value[0] if value else None
    return value


def _text(value: object) -> str | None:
    """A printable, trimmed, length-capped string; None for non-text or blank values."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    cleaned = _CONTROL_CHARS.sub("", value).strip()
    return cleaned[:_MAX_TEXT] or None


def _number(value: object) -> float | None:
    """A finite float from an EXIF number or rational; None for text, zero denominators, NaN."""
    value = _first(value)
    if isinstance(value, bool) or not isinstance(value, Real):
        return None
    if isinstance(value, IFDRational) and value.denominator == 0:
        return None
    try:
        number = float(value)
    except _PARSE_ERRORS:
        return None
    return number if math.isfinite(number) else None


def _bounded(number: float | None, maximum: float) -> float | None:
    """The number if it lies in (0, maximum]."""
    if number is None or not 0 < number <= maximum:
        return None
    return number


def _whole(value: object, maximum: int) -> int | None:
    """A positive integer no larger than maximum (0 means "unknown" in EXIF)."""
    number = _number(value)
    if number is None or not number.is_integer() or not 0 < number <= maximum:
        return None
    return int(number)


def _iso(exif_ifd: Mapping[int, object]) -> int | None:
    """ISO sensitivity; 65535 in the 16-bit tag means "see the 32-bit ISOSpeed/REI tags"."""
    iso = _whole(_get(exif_ifd, _ISO), _MAX_ISO)
    if iso is None or iso == 0xFFFF:
        for tag in (_ISO_SPEED, _RECOMMENDED_EXPOSURE_INDEX):
            wide = _whole(_get(exif_ifd, tag), _MAX_ISO)
            if wide is not None:
                return wide
    return iso


def _taken_at(exif: Mapping[int, object], exif_ifd: Mapping[int, object]) -> str | None:
    """Capture time: DateTimeOriginal, else DateTimeDigitized, else DateTime, each with its offset.

    An original/digitised time without its own offset borrows OffsetTime: cameras write all
    three with the same zone, and a zoned time is worth more than a naive one.
    """
    fallback_offset = _get(exif_ifd, _OFFSET_TIME)
    candidates = (
        (_get(exif_ifd, _DATETIME_ORIGINAL), _get(exif_ifd, _OFFSET_TIME_ORIGINAL)),
        (_get(exif_ifd, _DATETIME_DIGITIZED), _get(exif_ifd, _OFFSET_TIME_DIGITIZED)),
        (_get(exif, _DATETIME), fallback_offset),
    )
    for stamp, offset in candidates:
        moment = _parse_datetime(stamp)
        if moment is None:
            continue
        zone = _parse_offset(offset) or _parse_offset(fallback_offset)
        return (moment.replace(tzinfo=zone) if zone is not None else moment).isoformat()
    return None


def _parse_datetime(value: object) -> datetime | None:
    """An EXIF "YYYY:MM:DD HH:MM:SS" as a naive datetime; None for blanks and impossible dates."""
    text = _text(value)
    match = _EXIF_DATETIME.match(text) if text else None
    if match is None:
        return None
    try:
        # EXIF stores camera-local wall time; the zone, if any, comes from the separate offset tag.
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _parse_offset(value: object) -> timezone | None:
    """An EXIF "+HH:MM" offset as a timezone; None when absent or outside civil time zones."""
    text = _text(value)
    match = _EXIF_OFFSET.fullmatch(text) if text else None
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    if int(minutes) >= 60:
        return None
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta > _MAX_OFFSET:
        return None
    return timezone(-delta if sign == "-" else delta)


def _gps(gps_ifd: Mapping[int, object]) -> GpsPosition | None:
    """The GPS position, or None when missing, malformed, out of range or a no-fix 0,0."""
    lat = _coordinate(_get(gps_ifd, _GPS_LATITUDE), _get(gps_ifd, _GPS_LATITUDE_REF), "N", "S", 90.0)
    lon = _coordinate(_get(gps_ifd, _GPS_LONGITUDE), _get(gps_ifd, _GPS_LONGITUDE_REF), "E", "W", 180.0)
    if lat is None or lon is None:
        return None
    # Receivers without a fix write zeros; nobody photographs the exact null island.
    if lat == 0.0 and lon == 0.0:
        return None
    return GpsPosition(lat=lat, lon=lon, alt_m=_altitude(gps_ifd))


def _coordinate(value: object, ref: object, positive: str, negative: str, limit: float) -> float | None:
    """Degrees from (deg[, min[, sec]]) and a hemisphere letter; None if either is unusable."""
    hemisphere = _text(ref)
    if hemisphere is None or hemisphere[0].upper() not in (positive, negative):
        # Without a hemisphere the sign is a guess; a wrong-continent pin is worse than none.
        return None
    parts = value if isinstance(value, tuple | list) else (value,)
    if not 1 <= len(parts) <= 3:
        return None
    numbers: list[float] = []
    for part in parts:
        number = _number(part)
        if number is None or number < 0:
            return None
        numbers.append(number)
    degrees, minutes, seconds = [*numbers, 0.0, 0.0][:3]
    # Writers round 59.9999 to 60; more than that is corruption.
    if minutes > 60 or seconds > 60:
        return None
    total = degrees + minutes / 60 + seconds / 3600
    if total > limit:
        return None
    # Seven decimals is about a centimetre; further digits are only float noise.
    total = round(total, 7)
    return -total if hemisphere[0].upper() == negative else total


def _altitude(gps_ifd: Mapping[int, object]) -> float | None:
    """Metres above sea level (negative below), None when absent or implausible."""
    altitude = _number(_get(gps_ifd, _GPS_ALTITUDE))
    if altitude is None or altitude < 0:
        return None
    ref = _first(_get(gps_ifd, _GPS_ALTITUDE_REF))
    if isinstance(ref, bytes):
        ref = ref[0] if ref else 0
    if isinstance(ref, str):
        ref = 1 if ref.strip("\x00 ") == "1" else 0
    if ref == 1:
        altitude = -altitude
    return altitude if _MIN_ALTITUDE_M <= altitude <= _MAX_ALTITUDE_M else None


# --- Everything else ---------------------------------------------------------------------------


def _frame_count(image: Image.Image) -> int:
    """Frames (or an MPO's pictures), 1 for stills; GIF frames are counted by skipping, not decoding."""
    try:
        count = getattr(image, "n_frames", 1)
    except _PARSE_ERRORS:
        # A truncated animation still has its first frame.
        return 1
    return count if isinstance(count, int) and count >= 1 else 1


def _color_profile(image: Image.Image) -> str | None:
    """The embedded ICC profile's description, None without a profile or a readable name."""
    icc = image.info.get("icc_profile")
    if not isinstance(icc, bytes) or not icc:
        return None
    if ImageCms is not None:
        try:
            with _quiet():
                name = _text(ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile.profile_description)
            if name is not None:
                return name
        except _CMS_ERRORS:
            pass
    return _icc_description(icc)


_ICC_HEADER = 128
_ICC_MAX_TAGS = 1024


def _icc_description(icc: bytes) -> str | None:
    """The 'desc' tag of an ICC profile (v2 textDescriptionType or v4 mluc), parsed bounds-checked."""
    try:
        (count,) = struct.unpack_from(">I", icc, _ICC_HEADER)
        for index in range(min(count, _ICC_MAX_TAGS)):
            signature, offset, size = struct.unpack_from(">4sII", icc, _ICC_HEADER + 4 + 12 * index)
            if signature == b"desc":
                return _icc_text(icc[offset : offset + size])
    except struct.error:
        pass
    return None


def _icc_text(tag: bytes) -> str | None:
    """Text of an ICC 'desc' (ASCII) or 'mluc' (UTF-16BE records, English preferred) tag."""
    kind = tag[:4]
    if kind == b"desc":
        (length,) = struct.unpack_from(">I", tag, 8)
        return _text(tag[12 : 12 + length].split(b"\x00", 1)[0].decode("latin-1"))
    if kind == b"mluc":
        records, record_size = struct.unpack_from(">II", tag, 8)
        if record_size < 12:
            return None
        chosen: tuple[int, int] | None = None
        for index in range(min(records, _ICC_MAX_TAGS)):
            language, length, offset = struct.unpack_from(">2s2xII", tag, 16 + record_size * index)
            if chosen is None or language == b"en":
                chosen = (offset, length)
            if language == b"en":
                break
        if chosen is None:
            return None
        offset, length = chosen
        return _text(tag[offset : offset + length].decode("utf-16-be", "replace"))
    return None
