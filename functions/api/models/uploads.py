"""Upload declarations, multipart parts, versions: requests and responses."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from functions.api.models.common import Body, ErrorBody, Reply
from shared.domain import uploads as domain
from shared.domain.ports import PresignedPost, PresignedPut
from shared.domain.uploads import MAX_FILES_PER_BATCH, MAX_PARTS_PER_REQUEST, UploadRequest

# S3's own ceilings: one object is at most 5 TiB, a multipart upload at most 10,000 parts.
MAX_OBJECT_BYTES = 5 * 1024**4
MAX_PART_NUMBER = 10_000
MAX_FILENAME = 1024

ContentType = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=3, max_length=255, pattern=r"^[\w.+-]+/[\w.+-]+$"
    ),
]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$"), AfterValidator(str.lower)]
Filename = Annotated[str, StringConstraints(max_length=MAX_FILENAME)]
PartNumber = Annotated[int, Field(ge=1, le=MAX_PART_NUMBER)]
SingleRequestMethod = Annotated[
    Literal["POST", "PUT"],
    Field(
        description="how to send a file below the multipart threshold: POST, a browser form pinned to type and "
        "size range; or PUT, whose signed headers pin type, exact size and (with sha256) the checksum, so storage "
        "refuses other bytes. Larger files get a multipart plan either way."
    ),
]


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class UploadDeclaration(Body):
    """A file the client is about to upload."""

    filename: Annotated[Filename, AfterValidator(_non_blank)] = Field(
        description="shown name; paths and control characters are removed"
    )
    content_type: ContentType = Field(examples=["image/jpeg"])
    size: int = Field(gt=0, le=MAX_OBJECT_BYTES, description="exact size in bytes")
    sha256: Sha256 | None = Field(default=None, description="hex SHA-256 of the bytes: enables deduplication")
    force: bool = Field(default=False, description="upload even if a ready item with this sha256 exists")
    method: SingleRequestMethod = "POST"

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"filename": "cat.jpg", "content_type": "image/jpeg", "size": 959308}]}
    )

    def to_domain(self) -> UploadRequest:
        """The domain's declaration."""
        return UploadRequest(self.filename, self.content_type, self.size, self.sha256 or "", self.force, self.method)


class UploadBatch(Body):
    """Files the client is about to upload, declared together."""

    files: list[UploadDeclaration] = Field(min_length=1, max_length=MAX_FILES_PER_BATCH)

    def to_domain(self) -> list[UploadRequest]:
        """The domain's declarations, in order."""
        return [declaration.to_domain() for declaration in self.files]


class VersionDeclaration(Body):
    """A replacement original for an existing item (its filename stays unless a new one is given)."""

    filename: Filename | None = None
    content_type: ContentType = Field(examples=["image/jpeg"])
    size: int = Field(gt=0, le=MAX_OBJECT_BYTES)
    sha256: Sha256 | None = None
    method: SingleRequestMethod = "POST"

    def to_domain(self) -> UploadRequest:
        """The domain's declaration."""
        return UploadRequest(self.filename or "", self.content_type, self.size, self.sha256 or "", method=self.method)


class PartNumbers(Body):
    """Which parts of a multipart upload to sign."""

    part_numbers: list[PartNumber] = Field(min_length=1, max_length=MAX_PARTS_PER_REQUEST)


class PartClaim(Body):
    """A part the client uploaded, with the ETag S3 answered."""

    part_number: PartNumber
    etag: str = Field(min_length=1, max_length=256)


class Completion(Body):
    """Every part of a multipart upload, to assemble it."""

    parts: list[PartClaim] = Field(min_length=1, max_length=MAX_PART_NUMBER)

    def to_domain(self) -> dict[str, Any]:
        """The shape UploadService.complete reads."""
        return {"parts": [part.model_dump() for part in self.parts]}


class PostUpload(Reply):
    """A presigned browser-form POST: send every field, then the file."""

    method: Literal["POST"]
    url: str
    fields: dict[str, str]
    expires_at: str = Field(json_schema_extra={"format": "date-time"})


class PutUpload(Reply):
    """A presigned PUT: send the bytes with every header given (and Content-Length the declared size)."""

    method: Literal["PUT"]
    url: str
    headers: dict[str, str] = Field(description="headers the signature covers: send each exactly as given")
    expires_at: str = Field(json_schema_extra={"format": "date-time"})


class MultipartPlan(Reply):
    """An S3 multipart upload: ask for signed part URLs, PUT each part, then complete."""

    method: Literal["MULTIPART"]
    part_size: int
    part_count: int


class UploadTicket(Reply):
    """A declared upload, or (duplicate) the ready item that already has these bytes."""

    media_id: str
    duplicate: bool
    upload: Annotated[PostUpload | PutUpload | MultipartPlan, Field(discriminator="method")] | None

    @classmethod
    def of(cls, ticket: domain.UploadTicket) -> UploadTicket:
        """The reply for a domain ticket: the POST form, the PUT, the multipart plan, or nothing for a duplicate."""
        upload = ticket.upload
        instructions: PostUpload | PutUpload | MultipartPlan | None = None
        if isinstance(upload, PresignedPost):
            instructions = PostUpload(method="POST", url=upload.url, fields=upload.fields, expires_at=upload.expires_at)
        elif isinstance(upload, PresignedPut):
            instructions = PutUpload(method="PUT", url=upload.url, headers=upload.headers, expires_at=upload.expires_at)
        elif isinstance(upload, domain.MultipartPlan):
            instructions = MultipartPlan(method="MULTIPART", part_size=upload.part_size, part_count=upload.part_count)
        return cls(media_id=ticket.media_id, duplicate=ticket.duplicate, upload=instructions)


class RefusedUpload(Reply):
    """A file of a batch that was not declared, and why (the error POST /uploads would have answered for it)."""

    error: ErrorBody


class UploadTickets(Reply):
    """One answer per declared file, in the order declared: a ticket, or the file's error."""

    tickets: list[UploadTicket | RefusedUpload]


class SignedPart(Reply):
    """A PUT URL for one part, and the exact size that part must have."""

    part_number: int
    size: int
    url: str


class SignedParts(Reply):
    """Part URLs and when they expire."""

    parts: list[SignedPart]
    expires_at: str = Field(json_schema_extra={"format": "date-time"})


class StoredPart(Reply):
    """A part S3 already holds."""

    part_number: int
    etag: str
    size: int


class UploadProgress(Reply):
    """The plan and the parts already uploaded."""

    part_size: int
    part_count: int
    parts: list[StoredPart]


class OriginalVersion(Reply):
    """One stored version of an item's original."""

    version_id: str
    size: int
    last_modified: str = Field(json_schema_extra={"format": "date-time"})
    is_current: bool


class Versions(Reply):
    """Every version, newest first."""

    versions: list[OriginalVersion]
