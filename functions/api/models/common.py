"""Shared model pieces: strictness, bounded dates, path parameters, the error bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
)

from shared.domain.link_secrets import TOKEN_PATTERN

# Models build their validators on first use (defer_build): a cold container pays only for the routes it serves.

# Dates outside this range are typos or probes; the bound also keeps timezone arithmetic from overflowing.
MIN_YEAR, MAX_YEAR = 1900, 2200


class Body(BaseModel):
    """A JSON request body: strict types (no "5" for 5), no unknown fields, no NaN or Infinity."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, str_max_length=10_000, defer_build=True)


class Query(BaseModel):
    """A query string: every value arrives as text, so numbers and dates are parsed, junk is refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=1_000, defer_build=True)


class Reply(BaseModel):
    """A response body."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


def _instant(value: str) -> datetime:
    text = value.strip()
    if not 4 <= len(text) <= 40:
        raise ValueError("must be an ISO-8601 date or date-time")
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
    except ValueError:
        raise ValueError("must be an ISO-8601 date or date-time") from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return parsed


def _utc_text(value: str) -> str:
    parsed = _instant(value)
    # Creation times are UTC instants; a bare date or local time is read as UTC.
    aware = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return aware.isoformat()


def _local_text(value: str) -> str:
    # Capture times keep what was said: a wall-clock time without an offset stays one (EXIF has none).
    return _instant(value).isoformat()


_DATE_SCHEMA = {"type": "string", "format": "date-time", "examples": ["2024-07-14T19:00:00+02:00"]}
UtcInstant = Annotated[str, AfterValidator(_utc_text), WithJsonSchema(_DATE_SCHEMA)]
"""An ISO-8601 date or date-time (years 1900..2200), normalised to UTC; no offset means UTC."""
WallClock = Annotated[str, AfterValidator(_local_text), WithJsonSchema(_DATE_SCHEMA)]
"""An ISO-8601 date or date-time (years 1900..2200), kept in the offset given (or none)."""

Timestamp = Annotated[
    datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A stored instant, shown as ISO-8601 with its offset."""

MediaId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
ShareId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
AlbumId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
NotificationId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
JobId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
VersionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._+=-]{1,1024}$")]
UserId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._@-]{1,255}$")]
LinkToken = Annotated[str, StringConstraints(pattern=TOKEN_PATTERN)]

# Path parameters by name: a route's placeholders must all be here (checked when the route registers).
_DEFERRED = ConfigDict(defer_build=True)
PATH_PARAMETERS: dict[str, TypeAdapter[Any]] = {
    "media_id": TypeAdapter(MediaId, config=_DEFERRED),
    "version_id": TypeAdapter(VersionId, config=_DEFERRED),
    "user_id": TypeAdapter(UserId, config=_DEFERRED),
    "share_id": TypeAdapter(ShareId, config=_DEFERRED),
    "album_id": TypeAdapter(AlbumId, config=_DEFERRED),
    "token": TypeAdapter(LinkToken, config=_DEFERRED),
    "notification_id": TypeAdapter(NotificationId, config=_DEFERRED),
    "job_id": TypeAdapter(JobId, config=_DEFERRED),
}
PATH_DESCRIPTIONS = {
    "media_id": "a media item's id (32 hexadecimal characters)",
    "version_id": "a version id from GET /media/{media_id}/versions",
    "user_id": "a realm user's id",
    "share_id": "a grant's id (32 hexadecimal characters)",
    "album_id": "an album's id (32 hexadecimal characters)",
    "token": "a share link's token (43 URL-safe base64 characters)",
    "notification_id": "a notification's id (32 hexadecimal characters)",
    "job_id": "a maintenance job's id (32 hexadecimal characters)",
}


class ErrorBody(Reply):
    """Every error response."""

    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["no such media item"])


class FieldProblem(Reply):
    """One invalid input."""

    field: str = Field(description="dotted path of the input (body field, query or path parameter)")
    problem: str


class ValidationErrorBody(Reply):
    """A 400: the input does not match the documented schema."""

    code: str = Field(examples=["validation_error"])
    message: str = Field(examples=["size: Input should be greater than 0"])
    errors: list[FieldProblem] = Field(default_factory=list)


class Health(Reply):
    """Liveness."""

    status: str = Field(examples=["ok"])
