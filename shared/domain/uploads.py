"""Issuing uploads: validate the declaration, check type, size and quota, record a pending item, sign the upload.

Small files get a presigned POST pinned to key, Content-Type and size; large ones an S3 multipart upload
(resumable: parts can be listed and re-sent) whose parts the API signs on request and checks on completion.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from shared.domain.errors import Conflict, PayloadTooLarge, UnsupportedMediaType, ValidationError
from shared.domain.media import (
    MediaItem,
    MediaKind,
    MediaStatus,
    expires_at,
    kind_of,
    new_media_id,
    original_key,
    sanitize_filename,
)
from shared.domain.policy import Action, authorize
from shared.domain.ports import (
    MediaRepository,
    ObjectStorage,
    ObjectVersion,
    PresignedPost,
    QuotaLedger,
    UploadedPart,
)
from shared.domain.principal import Principal

MAX_PARTS_PER_REQUEST = 100


@dataclass(frozen=True)
class UploadRequest:
    """What a client declares before uploading (validated by the API: size > 0, sha256 lower-case hex or "")."""

    filename: str
    content_type: str
    size: int
    sha256: str = ""
    force: bool = False


@dataclass(frozen=True)
class MultipartPlan:
    """A large upload goes to S3 in part_count parts of part_size bytes (the last one smaller)."""

    part_size: int
    part_count: int


@dataclass(frozen=True)
class UploadTicket:
    """A declared upload and how to send its bytes; for a duplicate, the existing item and no upload."""

    media_id: str
    duplicate: bool
    upload: PresignedPost | MultipartPlan | None


@dataclass(frozen=True)
class SignedPart:
    """A PUT URL for one part, and the exact size the part must have."""

    part_number: int
    size: int
    url: str


@dataclass(frozen=True)
class SignedParts:
    """Part URLs and when they expire."""

    parts: list[SignedPart]
    expires_at: str


@dataclass(frozen=True)
class MultipartProgress:
    """A multipart upload's plan and the parts S3 already holds."""

    part_size: int
    part_count: int
    parts: list[UploadedPart]


@dataclass(frozen=True)
class UploadLimits:
    """What the vault accepts."""

    allowed_content_types: tuple[str, ...]
    max_upload_bytes: int
    max_image_bytes: int
    multipart_threshold_bytes: int
    multipart_part_bytes: int
    url_ttl_seconds: int


class UploadService:
    """Creates pending media items (or new versions of existing ones) with a signed upload."""

    def __init__(
        self,
        repository: MediaRepository,
        storage: ObjectStorage,
        quota: QuotaLedger,
        limits: UploadLimits | Callable[[], UploadLimits],
    ) -> None:
        self._repository = repository
        self._storage = storage
        self._quota = quota
        # A callable gives the limits in force now (admins change them: see shared/domain/settings.py).
        self._limits_now = limits if callable(limits) else lambda: limits

    @property
    def _limits(self) -> UploadLimits:
        return self._limits_now()

    # --- declaring ---------------------------------------------------------------------------
    def _check(self, request: UploadRequest) -> None:
        limits = self._limits
        if request.content_type not in limits.allowed_content_types:
            raise UnsupportedMediaType(
                f"content_type {request.content_type!r} is not accepted; allowed: "
                f"{', '.join(limits.allowed_content_types)}"
            )
        limit = limits.max_image_bytes if kind_of(request.content_type) is MediaKind.IMAGE else limits.max_upload_bytes
        if request.size > limit:
            raise PayloadTooLarge(f"size {request.size} exceeds the per-file limit of {limit} bytes")

    def _upload(self, item: MediaItem) -> PresignedPost | MultipartPlan:
        """The client's instructions: a POST form, or the multipart plan."""
        if item.upload_id:
            return MultipartPlan(self._limits.multipart_part_bytes, len(self._plan(item)))
        return self._storage.presign_post(item.object_key, item.content_type, item.size, self._limits.url_ttl_seconds)

    def issue_upload(self, principal: Principal, request: UploadRequest, quota_bytes: int) -> UploadTicket:
        """A new pending item and how to upload it, or the existing ready item with the same checksum."""
        self._check(request)
        filename = sanitize_filename(request.filename)
        if not filename:
            raise ValidationError("filename has no usable characters", field="filename")
        if request.sha256 and not request.force:
            for existing in self._repository.find_by_checksum(principal.sub, request.sha256):
                if existing.status is MediaStatus.READY and not existing.trashed:
                    return UploadTicket(existing.media_id, duplicate=True, upload=None)
        media_id = new_media_id()
        key = original_key(principal.sub, media_id)
        upload_id = self._start_multipart(key, request)
        item = MediaItem(
            media_id=media_id,
            owner_id=principal.sub,
            filename=filename,
            content_type=request.content_type,
            size=request.size,
            object_key=key,
            sha256=request.sha256,
            upload_id=upload_id,
            stored_bytes=request.size,
        )
        with self._reserved(principal.sub, request.size, quota_bytes, item):
            upload = self._upload(item)
            self._repository.create(item)
        return UploadTicket(media_id, duplicate=False, upload=upload)

    def issue_version(
        self, principal: Principal, media_id: str, request: UploadRequest, quota_bytes: int
    ) -> UploadTicket:
        """Upload a replacement original to the same key; the old one stays as an older version."""
        if request.force:
            raise ValidationError("force does not apply to versions", field="force")
        item = self._versionable(principal, media_id)
        self._check(request)
        filename = sanitize_filename(request.filename) or item.filename
        upload_id = self._start_multipart(item.object_key, request)
        new = replace(
            item,
            filename=filename,
            content_type=request.content_type,
            size=request.size,
            sha256=request.sha256,
            upload_id=upload_id,
            stored_bytes=item.stored_bytes + request.size,
            superseded=item.superseded_by_upload(),
        )
        # The bucket keeps the old original as a noncurrent version: quota counts it until the item is purged.
        with self._reserved(principal.sub, request.size, quota_bytes, new):
            upload = self._upload(new)
            self._repository.start_new_version(new, expected_revision=item.revision)
        return UploadTicket(media_id, duplicate=False, upload=upload)

    def _start_multipart(self, key: str, request: UploadRequest) -> str:
        """The multipart upload id when the file is large enough to need one, else ""."""
        if request.size > self._limits.multipart_threshold_bytes:
            return self._storage.start_multipart(key, request.content_type)
        return ""

    @contextmanager
    def _reserved(self, owner_id: str, size: int, limit: int, item: MediaItem) -> Iterator[None]:
        """size bytes of the owner's quota held for the block; on any failure (the quota check's included) they
        go back and item's multipart upload is aborted, so a refused or failed request leaves nothing behind."""
        reserved = False
        try:
            self._quota.reserve(owner_id, size, limit)
            reserved = True
            yield
        except BaseException:
            if reserved:
                self._quota.release(owner_id, size)
            if item.upload_id:
                self._storage.abort_multipart(item.object_key, item.upload_id)
            raise

    def _versionable(self, principal: Principal, media_id: str) -> MediaItem:
        """The item, if it may change versions now: not trashed, not waiting for or in processing."""
        item = authorize(principal, Action.VERSION, self._repository.get(media_id))
        if item.trashed or item.status in (MediaStatus.PENDING, MediaStatus.PROCESSING):
            state = "trashed" if item.trashed else item.status.value
            raise Conflict(f"the item is {state}; it cannot change versions now")
        return item

    # --- multipart ------------------------------------------------------------------------------
    def _multipart_item(self, principal: Principal, media_id: str) -> MediaItem:
        item = authorize(principal, Action.UPLOAD, self._repository.get(media_id))
        if not item.upload_id or item.status is not MediaStatus.PENDING:
            raise Conflict("this item has no multipart upload in progress")
        return item

    def _plan(self, item: MediaItem) -> dict[int, int]:
        """Part number -> exact size the upload must have."""
        part_size = self._limits.multipart_part_bytes
        count = math.ceil(item.size / part_size)
        return {n: min(part_size, item.size - (n - 1) * part_size) for n in range(1, count + 1)}

    def presign_parts(self, principal: Principal, media_id: str, part_numbers: list[int]) -> SignedParts:
        """PUT URLs for the requested parts (at most 100 per call)."""
        item = self._multipart_item(principal, media_id)
        plan = self._plan(item)
        if not 0 < len(part_numbers) <= MAX_PARTS_PER_REQUEST or not all(n in plan for n in part_numbers):
            raise ValidationError(
                f"part_numbers must list 1 to {MAX_PARTS_PER_REQUEST} of the parts 1..{len(plan)}", field="part_numbers"
            )
        ttl = self._limits.url_ttl_seconds
        parts = [
            SignedPart(n, plan[n], self._storage.presign_part(item.object_key, item.upload_id, n, plan[n], ttl))
            for n in sorted(set(part_numbers))
        ]
        return SignedParts(parts, expires_at(ttl))

    def uploaded_parts(self, principal: Principal, media_id: str) -> MultipartProgress:
        """What S3 already holds, so an interrupted client sends only the rest."""
        item = self._multipart_item(principal, media_id)
        parts = self._storage.list_parts(item.object_key, item.upload_id)
        return MultipartProgress(self._limits.multipart_part_bytes, len(self._plan(item)), parts)

    def complete(self, principal: Principal, media_id: str, body: Any) -> MediaItem:
        """Assemble the object once every planned part is there with exactly its planned size."""
        item = self._multipart_item(principal, media_id)
        declared = body.get("parts") if isinstance(body, Mapping) else None
        if not isinstance(declared, list) or not all(
            isinstance(p, Mapping) and isinstance(p.get("part_number"), int) and isinstance(p.get("etag"), str)
            for p in declared
        ):
            raise ValidationError('the body must be {"parts": [{"part_number": 1, "etag": "..."}, ...]}')
        plan = self._plan(item)
        uploaded: dict[int, UploadedPart] = {
            p.part_number: p for p in self._storage.list_parts(item.object_key, item.upload_id)
        }
        claimed = {int(p["part_number"]): str(p["etag"]) for p in declared}
        if set(claimed) != set(plan):
            raise ValidationError(f"complete needs every part 1..{len(plan)} exactly once", field="parts")
        for number, size in plan.items():
            part = uploaded.get(number)
            if part is None:
                raise Conflict(f"part {number} has not been uploaded")
            if part.size != size:
                raise Conflict(f"part {number} is {part.size} bytes; the upload declared {size}")
            if part.etag.strip('"') != claimed[number].strip('"'):
                raise Conflict(f"part {number}'s ETag does not match what was uploaded")
        # One conditional write decides between this complete and any abort or expiry racing it.
        self._repository.begin_completion(item)
        try:
            self._storage.complete_multipart(item.object_key, item.upload_id, sorted(claimed.items()))
        except BaseException:
            self._repository.undo_completion(item)
            raise
        return item

    def abort(self, principal: Principal, media_id: str) -> None:
        """Give up an unfinished multipart upload and its reserved quota (a new item goes; a new version's item
        returns to the original it had), then drop the parts."""
        item = self._multipart_item(principal, media_id)
        self._repository.abort_upload(item)
        self._storage.abort_multipart(item.object_key, item.upload_id)

    # --- versions -------------------------------------------------------------------------------
    def versions(self, principal: Principal, media_id: str) -> list[ObjectVersion]:
        """Every stored version of the item's original, newest first (its owner's and admins' only: a grantee sees
        the current version, never what the owner replaced)."""
        item = authorize(principal, Action.HISTORY, self._repository.get(media_id))
        return self._storage.list_versions(item.object_key)

    def restore_version(self, principal: Principal, media_id: str, version_id: str, quota_bytes: int) -> MediaItem:
        """Make an older original current again; processing runs on it as on any upload."""
        item = self._versionable(principal, media_id)
        match = next((v for v in self._storage.list_versions(item.object_key) if v.version_id == version_id), None)
        if match is None:
            raise ValidationError("no such version of this item", field="version_id")
        if match.is_current:
            raise Conflict("that version is already the current one")
        # The copy is one more stored version, counted like any upload.
        stored = item.stored_bytes + match.size
        restored = replace(item, size=match.size, sha256="", upload_id="", stored_bytes=stored)
        with self._reserved(item.owner_id, match.size, quota_bytes, restored):
            restored = self._repository.start_new_version(restored, expected_revision=item.revision)
            self._storage.copy_version_to_current(item.object_key, version_id)
        return restored
