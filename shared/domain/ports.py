"""What the domain needs from the outside world; adapters implement these protocols."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from shared.domain.media import MediaItem, MediaKind, MediaStatus, Rendition


@dataclass(frozen=True)
class PresignedPost:
    """A browser-form upload: POST `fields` plus the file to `url` before `expires_at`."""

    url: str
    fields: dict[str, str]
    expires_at: str


@dataclass(frozen=True)
class PresignedPut:
    """A single-request upload: PUT the bytes to `url` with `headers` (and a Content-Length of exactly the declared
    size) before `expires_at`. Every one of them is signed, so storage refuses any other type, size or checksum."""

    url: str
    headers: dict[str, str]
    expires_at: str


@dataclass(frozen=True)
class DownloadedObject:
    """An object copied to local disk, with what was measured on the way."""

    path: str
    size: int
    sha256: str
    head: bytes
    version_id: str


@dataclass(frozen=True)
class RenditionFile:
    """An encoded derivative ready to store: bytes in memory, or a file on local disk (large video)."""

    name: str
    width: int
    height: int
    content_type: str
    extension: str
    data: bytes = b""
    path: str = ""


@dataclass(frozen=True)
class MediaAnalysis:
    """What processing found in an original and made from it."""

    width: int
    height: int
    taken_at: str
    metadata: dict[str, Any]
    renditions: list[RenditionFile]
    placeholder: str = ""
    colors: tuple[str, ...] = ()


class SortField(StrEnum):
    """What a listing is ordered by."""

    CREATED = "created"
    TAKEN = "taken"


@dataclass(frozen=True)
class MediaQuery:
    """Filters of a listing of one owner's media (all optional)."""

    kind: str = ""
    status: str = ""
    tag: str = ""
    text: str = ""
    created_from: str = ""
    created_to: str = ""
    taken_from: str = ""
    taken_to: str = ""
    sort: SortField = SortField.CREATED
    descending: bool = True
    trashed: bool = False

    @property
    def filtered(self) -> bool:
        """True when any filter narrows the listing."""
        return any((self.kind, self.status, self.tag, self.text, self.created_from, self.created_to,
                    self.taken_from, self.taken_to))  # fmt: skip

    def admits(self, item: MediaItem) -> bool:
        """True when the item passes every filter (for listings the table cannot filter, such as shared ones)."""
        searchable = "\n".join((item.filename, item.title, item.description)).lower()
        return (
            (not self.kind or item.kind.value == self.kind)
            and (not self.status or item.status.value == self.status)
            and (not self.tag or self.tag in item.tags)
            and (not self.text or self.text in searchable)
            and (not self.created_from or item.created_at >= datetime.fromisoformat(self.created_from))
            and (not self.created_to or item.created_at <= datetime.fromisoformat(self.created_to))
            and (not self.taken_from or item.taken_sort >= self.taken_from)
            and (not self.taken_to or item.taken_sort <= self.taken_to)
        )


@dataclass(frozen=True)
class Page:
    """One page of items and the opaque, signed cursor of the next page (None at the end)."""

    items: list[MediaItem]
    cursor: str | None


@dataclass(frozen=True)
class DetailChanges:
    """Owner-editable fields; None leaves a field as it is."""

    title: str | None = None
    description: str | None = None
    tags: tuple[str, ...] | None = None
    taken_at_override: str | None = None
    location_visible: bool | None = None


@dataclass(frozen=True)
class UploadedPart:
    """A part S3 holds for a multipart upload."""

    part_number: int
    etag: str
    size: int


@dataclass(frozen=True)
class ObjectVersion:
    """One stored version of an object."""

    version_id: str
    size: int
    last_modified: str
    is_current: bool


class QuotaLedger(Protocol):
    """Bytes each owner has reserved (items that exist, whatever their state)."""

    def reserve(self, user_id: str, size: int, quota: int) -> None:
        """Add size to the owner's reservation; QuotaExceeded if it would pass quota."""

    def release(self, user_id: str, size: int) -> None:
        """Give size back."""


class MediaRepository(Protocol):
    """Persistence of media items."""

    def create(self, item: MediaItem) -> None:
        """Store a new item; Conflict if the id exists."""

    def get(self, media_id: str) -> MediaItem | None:
        """The item, or None."""

    def get_many(self, media_ids: list[str]) -> dict[str, MediaItem]:
        """The items that exist among media_ids, by id (strongly consistent, batched)."""

    def list_owned(self, owner_id: str, query: MediaQuery, limit: int, cursor: str | None) -> Page:
        """One page of an owner's items matching query, after cursor (a Page.cursor of the same owner and query);
        ValidationError for a cursor it did not issue for them."""

    def update_details(self, item: MediaItem, changes: DetailChanges) -> MediaItem:
        """Apply owner edits to item if it is still at item.revision; Conflict otherwise."""

    def set_trashed(self, media_id: str, trashed: bool) -> MediaItem:
        """Move into or out of the trash; Conflict if it already is where asked."""

    def purge_record(self, item: MediaItem) -> None:
        """Delete a trashed item's record and release item.stored_bytes in one step; Conflict if it is gone or
        no longer trashed (so concurrent purges release once)."""

    def abort_upload(self, item: MediaItem) -> None:
        """Give up an uncompleted multipart upload and release its bytes in one step: a new item's record is
        deleted, a new version's item returns to its superseded original; Conflict if it was completed, aborted
        or expired meanwhile."""

    def begin_completion(self, item: MediaItem) -> None:
        """Claim the multipart upload for completion; Conflict if it was aborted, expired or completed."""

    def undo_completion(self, item: MediaItem) -> None:
        """Give the upload back after S3 refused to assemble it."""

    def find_by_checksum(self, owner_id: str, sha256: str) -> list[MediaItem]:
        """The owner's items declared with this SHA-256."""

    def start_new_version(self, item: MediaItem, *, expected_revision: int) -> MediaItem:
        """Put an existing item back to pending for a new original (its declared fields from item)."""

    def claim(self, media_id: str, lease_seconds: int, version_id: str = "") -> MediaItem:
        """pending -> processing (recording the object version being processed), or take over a processing item
        whose lease ran out; Conflict otherwise."""

    def finish(
        self,
        media_id: str,
        status: MediaStatus,
        *,
        reason: str = "",
        result: ProcessingResult | None = None,
        allowed_from: tuple[MediaStatus, ...] = (MediaStatus.PROCESSING,),
    ) -> MediaItem:
        """processing -> ready (with the result) | failed | rejected (with the reason); Conflict if not allowed."""


class ObjectStorage(Protocol):
    """The media bucket."""

    def presign_post(self, key: str, content_type: str, max_size: int, ttl_seconds: int) -> PresignedPost:
        """A POST form pinned to key, content type and size range."""

    def presign_put(self, key: str, content_type: str, size: int, sha256: str, ttl_seconds: int) -> PresignedPut:
        """A PUT URL pinned to key, content type, exact size and (when given, hex) SHA-256."""

    def presign_get(
        self, key: str, ttl_seconds: int, filename: str | None = None, version_id: str | None = None
    ) -> str:
        """A short-lived GET URL; with version_id, of that version only (not whatever is current)."""

    def download(self, key: str, version_id: str, path: str, max_bytes: int) -> DownloadedObject:
        """Stream one version of an object to path, hashing it; RejectedMedia past max_bytes."""

    def current_version(self, key: str) -> str:
        """The version id of the key's current object ("" when unversioned or missing)."""

    def store_rendition(self, key: str, rendition: RenditionFile) -> None:
        """Store a derivative (from memory or from its file)."""

    def start_multipart(self, key: str, content_type: str) -> str:
        """Begin a multipart upload; its upload id."""

    def presign_part(self, key: str, upload_id: str, part_number: int, size: int, ttl_seconds: int) -> str:
        """A PUT URL for one part, valid only for a body of exactly size bytes."""

    def list_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        """The parts uploaded so far (for resuming)."""

    def complete_multipart(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        """Assemble the object from (part number, ETag) pairs."""

    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop an unfinished multipart upload and its parts."""

    def list_versions(self, key: str) -> list[ObjectVersion]:
        """Every stored version of key, newest first."""

    def copy_version_to_current(self, key: str, version_id: str) -> None:
        """Make an older version current again (as a new version)."""

    def purge(self, exact_keys: list[str], prefixes: list[str]) -> int:
        """Delete every version and delete marker of the keys and of everything under the prefixes."""

    def delete_version(self, key: str, version_id: str) -> None:
        """Delete one version of an object (already gone is fine)."""


@dataclass(frozen=True)
class ProcessingResult:
    """Everything a finished item records."""

    analysis: MediaAnalysis
    renditions: dict[str, Rendition]
    version_id: str
    sequencer: str
    taken_sort: str


class MediaRenderer(Protocol):
    """Reads an original on local disk and renders its derivatives."""

    def render(self, path: str, kind: MediaKind, workdir: str, time_limit_s: float | None = None) -> MediaAnalysis:
        """Metadata and renditions; RejectedMedia for files that break a rule, UnreadableMedia for corrupt ones,
        OutOfTime when time_limit_s (the invocation's time left) runs out first."""
