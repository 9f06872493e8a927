"""Issuing uploads: validate the declaration, record a pending item, sign a pinned POST."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.domain.errors import PayloadTooLarge, UnsupportedMediaType, ValidationError
from shared.domain.media import MediaItem, new_media_id, original_key, sanitize_filename
from shared.domain.ports import MediaRepository, ObjectStorage, PresignedPost
from shared.domain.principal import Principal


@dataclass(frozen=True)
class UploadRequest:
    """What a client declares before uploading."""

    filename: str
    content_type: str
    size: int

    @classmethod
    def parse(cls, body: Any) -> UploadRequest:
        """Validate a JSON body; ValidationError names the first bad field."""
        if not isinstance(body, Mapping):
            raise ValidationError("the body must be a JSON object")
        unknown = set(body) - {"filename", "content_type", "size"}
        if unknown:
            raise ValidationError(f"unknown field(s): {', '.join(sorted(unknown))}")
        filename = body.get("filename")
        content_type = body.get("content_type")
        size = body.get("size")
        if not isinstance(filename, str) or not filename.strip():
            raise ValidationError("filename must be a non-empty string")
        if not isinstance(content_type, str) or not content_type:
            raise ValidationError("content_type must be a non-empty string")
        if isinstance(size, bool) or not isinstance(size, int):
            raise ValidationError("size must be an integer number of bytes")
        if size <= 0:
            raise ValidationError("size must be greater than zero")
        return cls(filename=filename, content_type=content_type.strip().lower(), size=size)


@dataclass(frozen=True)
class UploadTicket:
    """The new item's id and where to send its bytes."""

    media_id: str
    upload: PresignedPost


class UploadService:
    """Creates pending media items with a signed, pinned upload."""

    def __init__(
        self,
        repository: MediaRepository,
        storage: ObjectStorage,
        *,
        allowed_content_types: tuple[str, ...],
        max_upload_bytes: int,
        url_ttl_seconds: int,
    ) -> None:
        self._repository = repository
        self._storage = storage
        self._allowed = allowed_content_types
        self._max_bytes = max_upload_bytes
        self._ttl = url_ttl_seconds

    def issue_upload(self, principal: Principal, request: UploadRequest) -> UploadTicket:
        """Record a pending item and sign a POST that S3 accepts only for exactly this file."""
        if request.content_type not in self._allowed:
            raise UnsupportedMediaType(
                f"content_type {request.content_type!r} is not accepted; allowed: {', '.join(self._allowed)}"
            )
        if request.size > self._max_bytes:
            raise PayloadTooLarge(f"size {request.size} exceeds the per-file limit of {self._max_bytes} bytes")
        filename = sanitize_filename(request.filename)
        if not filename:
            raise ValidationError("filename has no usable characters")
        media_id = new_media_id()
        key = original_key(principal.sub, media_id)
        item = MediaItem(
            media_id=media_id,
            owner_id=principal.sub,
            filename=filename,
            content_type=request.content_type,
            size=request.size,
            object_key=key,
        )
        upload = self._storage.presign_post(key, request.content_type, request.size, self._ttl)
        self._repository.create(item)
        return UploadTicket(media_id=media_id, upload=upload)
