"""Issuing uploads: validate the declaration, check type, size and quota, record a pending item, sign the upload.

Small files get a presigned POST pinned to key, Content-Type and size, or (asked for) a presigned PUT pinned to
key, Content-Type, exact size and SHA-256; large ones an S3 multipart upload
(resumable: parts can be listed and re-sent) whose parts the API signs on request and checks on completion.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Protocol

from shared.domain.errors import (
    Conflict,
    DomainError,
    PayloadTooLarge,
    QuotaExceeded,
    TooManyAttempts,
    UnsupportedMediaType,
    ValidationError,
)
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
    PresignedPut,
    QuotaLedger,
    UploadedPart,
)
from shared.domain.principal import Principal
from shared.domain.sniff import same_family, sniff

MAX_PARTS_PER_REQUEST = 100
# Files one batch declaration may carry (DynamoDB's BatchWriteItem takes 25 items a call).
MAX_FILES_PER_BATCH = 25
# How a file below the multipart threshold is sent: a browser form, or a PUT with signed headers.
SINGLE_REQUEST_METHODS = ("POST", "PUT")


@dataclass(frozen=True)
class UploadRequest:
    """What a client declares before uploading (validated by the API: size > 0, sha256 lower-case hex or "")."""

    filename: str
    content_type: str
    size: int
    sha256: str = ""
    force: bool = False
    method: str = "POST"  # one of SINGLE_REQUEST_METHODS; a file past the multipart threshold goes in parts anyway


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
    upload: PresignedPost | PresignedPut | MultipartPlan | None


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


class NewItemsWriter(Protocol):
    """Stores brand-new items together (shared/adapters/dynamo/media_batch.py): their ids are fresh, so no write
    needs a condition."""

    def create_many(self, items: list[MediaItem]) -> None:
        """Store every item (all of them, or raise)."""


# Counts a batch of n declarations against the caller's abuse limit: how many (the first ones) it admits; raises
# TooManyAttempts when none (functions/api/limits.py admit_uploads).
AdmitUploads = Callable[[Principal, int], int]


class UploadService:
    """Creates pending media items (or new versions of existing ones) with a signed upload."""

    def __init__(
        self,
        repository: MediaRepository,
        storage: ObjectStorage,
        quota: QuotaLedger,
        limits: UploadLimits | Callable[[], UploadLimits],
        *,
        new_items: NewItemsWriter | None = None,
        admit_uploads: AdmitUploads | None = None,
    ) -> None:
        self._repository = repository
        self._new_items = new_items
        self._admit_uploads = admit_uploads
        self._storage = storage
        self._quota = quota
        # A callable gives the limits in force now (admins change them: see shared/domain/settings.py).
        self._limits_now = limits if callable(limits) else lambda: limits

    @property
    def _limits(self) -> UploadLimits:
        return self._limits_now()

    # --- declaring ---------------------------------------------------------------------------
    def _check(self, request: UploadRequest) -> None:
        if request.method not in SINGLE_REQUEST_METHODS:
            raise ValidationError(f"method must be one of {', '.join(SINGLE_REQUEST_METHODS)}", field="method")
        limits = self._limits
        if request.content_type not in limits.allowed_content_types:
            raise UnsupportedMediaType(
                f"content_type {request.content_type!r} is not accepted; allowed: "
                f"{', '.join(limits.allowed_content_types)}"
            )
        limit = limits.max_image_bytes if kind_of(request.content_type) is MediaKind.IMAGE else limits.max_upload_bytes
        if request.size > limit:
            raise PayloadTooLarge(f"size {request.size} exceeds the per-file limit of {limit} bytes")

    def _upload(self, item: MediaItem, method: str) -> PresignedPost | PresignedPut | MultipartPlan:
        """The client's instructions: the multipart plan, or the single request it asked for (POST form or PUT)."""
        limits = self._limits
        if item.upload_id:
            return MultipartPlan(limits.multipart_part_bytes, len(self._plan(item)))
        if method == "PUT":
            return self._storage.presign_put(
                item.object_key, item.content_type, item.size, item.sha256, limits.url_ttl_seconds
            )
        return self._storage.presign_post(item.object_key, item.content_type, item.size, limits.url_ttl_seconds)

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
        item = self._new_item(principal, request, filename)
        with self._reserved(principal.sub, request.size, quota_bytes, item):
            upload = self._upload(item, request.method)
            self._repository.create(item)
        return UploadTicket(item.media_id, duplicate=False, upload=upload)

    def issue_uploads(
        self, principal: Principal, requests: list[UploadRequest], quota_bytes: int
    ) -> list[UploadTicket | DomainError]:
        """issue_upload for each of up to MAX_FILES_PER_BATCH files, answered in order: a ticket, or the error that
        file alone would have met (other files are unaffected). Writes are shared: the abuse limit counts the
        batch once, quota is reserved once for the sum (per file, in order, only when the sum does not fit),
        one lookup per distinct checksum, and the new items are stored together."""
        if not 0 < len(requests) <= MAX_FILES_PER_BATCH:
            raise ValidationError(f"a batch declares 1 to {MAX_FILES_PER_BATCH} files", field="files")
        admitted = len(requests)
        if self._admit_uploads is not None:
            admitted = self._admit_uploads(principal, len(requests))
        results: list[UploadTicket | DomainError | None] = [None] * len(requests)
        accepted: list[tuple[int, UploadRequest, str]] = []
        for index, request in enumerate(requests):
            if index >= admitted:
                results[index] = _too_many_in_batch(admitted)
                continue
            try:
                self._check(request)
                filename = sanitize_filename(request.filename)
                if not filename:
                    raise ValidationError("filename has no usable characters", field="filename")
            except DomainError as error:
                results[index] = error
                continue
            accepted.append((index, request, filename))
        ready = self._ready_by_checksum(principal.sub, {r.sha256 for _, r, _ in accepted if r.sha256 and not r.force})
        wanted: list[tuple[int, UploadRequest, str]] = []
        for index, request, filename in accepted:
            existing = ready.get(request.sha256) if request.sha256 and not request.force else None
            if existing is not None:
                results[index] = UploadTicket(existing, duplicate=True, upload=None)
            else:
                wanted.append((index, request, filename))
        fitting = self._reserve_in_order(principal.sub, wanted, quota_bytes, results)
        if fitting:
            for index, ticket in self._create_together(principal, fitting):
                results[index] = ticket
        answered = [result for result in results if result is not None]
        assert len(answered) == len(results), "every file is answered"
        return answered

    def _ready_by_checksum(self, owner_id: str, checksums: set[str]) -> dict[str, str]:
        """sha256 -> id of one of the owner's ready, untrashed items with those bytes."""
        found: dict[str, str] = {}
        for sha256 in sorted(checksums):
            for existing in self._repository.find_by_checksum(owner_id, sha256):
                if existing.status is MediaStatus.READY and not existing.trashed:
                    found[sha256] = existing.media_id
                    break
        return found

    def _reserve_in_order(
        self,
        owner_id: str,
        wanted: list[tuple[int, UploadRequest, str]],
        quota_bytes: int,
        results: list[UploadTicket | DomainError | None],
    ) -> list[tuple[int, UploadRequest, str]]:
        """Reserve quota for the wanted files: one write for the sum; only when that is refused, one per file in
        order, and a file that does not fit answers quota_exceeded. The files whose bytes are reserved."""
        total = sum(request.size for _, request, _ in wanted)
        if not wanted:
            return []
        try:
            self._quota.reserve(owner_id, total, quota_bytes)
            return wanted
        except QuotaExceeded as refused:
            if len(wanted) == 1:
                results[wanted[0][0]] = refused
                return []
        fitting: list[tuple[int, UploadRequest, str]] = []
        try:
            for entry in wanted:
                index, request, _ = entry
                try:
                    self._quota.reserve(owner_id, request.size, quota_bytes)
                except QuotaExceeded as refused:
                    results[index] = refused
                else:
                    fitting.append(entry)
        except BaseException:
            self._release(owner_id, sum(request.size for _, request, _ in fitting))
            raise
        return fitting

    def _create_together(
        self, principal: Principal, fitting: list[tuple[int, UploadRequest, str]]
    ) -> list[tuple[int, UploadTicket]]:
        """Pending items for files whose quota is reserved, stored together with their uploads signed; on any
        failure the reservation goes back and started multipart uploads are aborted (nothing is left behind)."""
        items: list[tuple[int, MediaItem]] = []
        try:
            for index, request, filename in fitting:
                items.append((index, self._new_item(principal, request, filename)))
            methods = {index: request.method for index, request, _ in fitting}
            tickets = [
                (index, UploadTicket(item.media_id, False, self._upload(item, methods[index]))) for index, item in items
            ]
            if self._new_items is not None:
                self._new_items.create_many([item for _, item in items])
            else:
                for _, item in items:
                    self._repository.create(item)
        except BaseException:
            self._release(principal.sub, sum(request.size for _, request, _ in fitting))
            for _, item in items:
                if item.upload_id:
                    self._storage.abort_multipart(item.object_key, item.upload_id)
            raise
        return tickets

    def _release(self, owner_id: str, size: int) -> None:
        if size:
            self._quota.release(owner_id, size)

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
            upload = self._upload(new, request.method)
            self._repository.start_new_version(new, expected_revision=item.revision)
        return UploadTicket(media_id, duplicate=False, upload=upload)

    def _new_item(self, principal: Principal, request: UploadRequest, filename: str) -> MediaItem:
        """A pending item for a declared file under a fresh id (its multipart upload started when it needs one)."""
        media_id = new_media_id()
        key = original_key(principal.sub, media_id)
        return MediaItem(
            media_id=media_id,
            owner_id=principal.sub,
            filename=filename,
            content_type=request.content_type,
            size=request.size,
            object_key=key,
            sha256=request.sha256,
            upload_id=self._start_multipart(key, request),
            stored_bytes=request.size,
        )

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
        """Make an older original current again; processing runs on it as on any upload.

        What the owner wrote (title, description, tags, taken-at override) stays as they last edited it; what
        describes the bytes follows the restored version: its size, its checksum (processing checks the copy
        against it), its content type as its bytes announce it, and the filename's extension with it."""
        item = self._versionable(principal, media_id)
        match = next((v for v in self._storage.list_versions(item.object_key) if v.version_id == version_id), None)
        if match is None:
            raise ValidationError("no such version of this item", field="version_id")
        if match.is_current:
            raise Conflict("that version is already the current one")
        content_type, sha256 = self._version_identity(item, match)
        filename = (
            item.filename if same_family(item.content_type, content_type) else _renamed(item.filename, content_type)
        )
        # The copy is one more stored version, counted like any upload.
        stored = item.stored_bytes + match.size
        restored = replace(
            item,
            filename=filename,
            content_type=content_type,
            size=match.size,
            sha256=sha256,
            upload_id="",
            stored_bytes=stored,
        )
        with self._reserved(item.owner_id, match.size, quota_bytes, restored):
            restored = self._repository.start_new_version(restored, expected_revision=item.revision)
            self._storage.copy_version_to_current(item.object_key, version_id)
        return restored

    def _version_identity(self, item: MediaItem, version: ObjectVersion) -> tuple[str, str]:
        """The content type an older version's bytes announce, and their SHA-256.

        An item's record describes its current original only, and a new version may be of another type (a PNG
        replacing a JPEG): declared with the current type, the restored bytes would be rejected by processing.
        So the version is read (bounded by its listed size; a version larger than a photo may be is assumed to
        be of the current type, as before, since reading it here would take too long)."""
        if version.size > self._limits.max_image_bytes:
            return item.content_type, ""
        with tempfile.TemporaryDirectory(prefix="restore-") as workdir:
            read = self._storage.download(
                item.object_key, version.version_id, os.path.join(workdir, "original"), max_bytes=version.size
            )
        actual = sniff(read.head)
        if not actual or actual not in self._limits.allowed_content_types:
            raise Conflict("that version is not a photo or video format the vault accepts now; it cannot be restored")
        return (item.content_type if same_family(item.content_type, actual) else actual), read.sha256


_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/heic": "heic",
    "image/heif": "heif",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
}


def _renamed(filename: str, content_type: str) -> str:
    """The filename with the extension of content_type (its stem kept): the name then says what the bytes are."""
    extension = _EXTENSIONS.get(content_type)
    if not extension:
        return filename
    stem, dot, _ = filename.rpartition(".")
    return sanitize_filename(f"{stem if dot and stem else filename}.{extension}") or filename


def _too_many_in_batch(admitted: int) -> DomainError:
    return TooManyAttempts(
        f"the upload limit admitted only the first {admitted} files of this batch; declare the rest later",
        retry_after=60,
    )
