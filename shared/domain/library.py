"""A principal's media library: list, read, edit, trash, restore, purge, download, all through the policy."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.domain.errors import Conflict, Unprocessable, ValidationError
from shared.domain.media import MediaItem, MediaKind, MediaStatus, expires_at, rendition_prefix
from shared.domain.policy import Action, authorize
from shared.domain.ports import DetailChanges, MediaQuery, MediaRepository, ObjectStorage, QuotaLedger, SortField
from shared.domain.principal import Principal

EDITABLE_FIELDS = frozenset({"title", "description", "tags", "taken_at", "location_visible"})
MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_TAGS = 50
MAX_TAG = 50
MAX_PAGE = 100


def _parse_instant(name: str, value: Any) -> str:
    """An ISO-8601 date or date-time, normalised; ValidationError names the field otherwise."""
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{name} must be an ISO-8601 date or date-time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{name} must be an ISO-8601 date or date-time") from None
    return parsed.isoformat()


@dataclass(frozen=True)
class DetailPatch:
    """A validated PATCH: the expected revision and the changes."""

    revision: int
    changes: DetailChanges

    @classmethod
    def parse(cls, body: Any) -> DetailPatch:
        """Validate a PATCH body: unknown fields are 422, bad values 400, `version` is required."""
        if not isinstance(body, Mapping):
            raise ValidationError("the body must be a JSON object")
        unknown = set(body) - EDITABLE_FIELDS - {"version"}
        if unknown:
            raise Unprocessable(f"field(s) not editable: {', '.join(sorted(unknown))}")
        version = body.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise ValidationError("version (the item's current version) is required for an edit")
        if not set(body) & EDITABLE_FIELDS:
            raise ValidationError(f"nothing to change; editable fields: {', '.join(sorted(EDITABLE_FIELDS))}")
        title = body.get("title")
        if title is not None and (not isinstance(title, str) or len(title) > MAX_TITLE):
            raise ValidationError(f"title must be a string of at most {MAX_TITLE} characters")
        description = body.get("description")
        if description is not None and (not isinstance(description, str) or len(description) > MAX_DESCRIPTION):
            raise ValidationError(f"description must be a string of at most {MAX_DESCRIPTION} characters")
        tags = body.get("tags")
        if tags is not None:
            if not isinstance(tags, list) or len(tags) > MAX_TAGS:
                raise ValidationError(f"tags must be a list of at most {MAX_TAGS} strings")
            if not all(isinstance(t, str) and 0 < len(t.strip()) <= MAX_TAG for t in tags):
                raise ValidationError(f"each tag must be a non-empty string of at most {MAX_TAG} characters")
            tags = tuple(dict.fromkeys(t.strip().lower() for t in tags))
        taken = body.get("taken_at", ...)
        location_visible = body.get("location_visible")
        if location_visible is not None and not isinstance(location_visible, bool):
            raise ValidationError("location_visible must be true or false")
        return cls(
            revision=version,
            changes=DetailChanges(
                title=title.strip() if isinstance(title, str) else None,
                description=description.strip() if isinstance(description, str) else None,
                tags=tags,
                # null clears the override (back to what the file says).
                taken_at_override=None
                if taken is ...
                else ("" if taken is None else _parse_instant("taken_at", taken)),
                location_visible=location_visible,
            ),
        )


def parse_query(params: Mapping[str, str]) -> tuple[MediaQuery, int, str]:
    """A listing's filters, page size and cursor from query parameters."""
    known = {"type", "status", "tag", "q", "created_from", "created_to", "taken_from", "taken_to", "sort", "order"}
    unknown = set(params) - known - {"limit", "cursor"}
    if unknown:
        raise ValidationError(f"unknown query parameter(s): {', '.join(sorted(unknown))}")
    kind = params.get("type", "")
    if kind and kind not in {k.value for k in MediaKind}:
        raise ValidationError("type must be image or video")
    status = params.get("status", "")
    if status and status not in {s.value for s in MediaStatus}:
        raise ValidationError(f"status must be one of: {', '.join(s.value for s in MediaStatus)}")
    sort = params.get("sort", SortField.CREATED.value)
    if sort not in {s.value for s in SortField}:
        raise ValidationError("sort must be created or taken")
    order = params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise ValidationError("order must be asc or desc")
    try:
        limit = int(params.get("limit", "50"))
    except ValueError:
        raise ValidationError("limit must be an integer") from None
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}")
    ranges = {
        name: _parse_instant(name, params[name]) if name in params else ""
        for name in ("created_from", "created_to", "taken_from", "taken_to")
    }
    for name in ("created_from", "created_to"):
        # Creation times are UTC instants; a bare date or local time is read as UTC.
        if ranges[name] and datetime.fromisoformat(ranges[name]).tzinfo is None:
            ranges[name] = datetime.fromisoformat(ranges[name]).replace(tzinfo=UTC).isoformat()
    query = MediaQuery(
        kind=kind,
        status=status,
        tag=params.get("tag", "").strip().lower(),
        text=params.get("q", "").strip().lower(),
        sort=SortField(sort),
        descending=order == "desc",
        created_from=ranges["created_from"],
        created_to=ranges["created_to"],
        taken_from=ranges["taken_from"],
        taken_to=ranges["taken_to"],
    )
    return query, limit, params.get("cursor", "")


def encode_cursor(position: dict[str, Any] | None) -> str | None:
    """An opaque page token."""
    if position is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(token: str, owner_id: str) -> dict[str, Any] | None:
    """The position a page token names; it must belong to this owner's listing."""
    if not token:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        raise ValidationError("cursor is not valid") from None
    owner = position.get("owner_id") if isinstance(position, dict) else None
    if not isinstance(owner, dict) or owner.get("S") != owner_id:
        raise ValidationError("cursor is not valid")
    if not all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in position.values()):
        raise ValidationError("cursor is not valid")
    return dict(position)


class MediaLibrary:
    """Use cases on existing media items, shaped for API responses."""

    def __init__(
        self,
        repository: MediaRepository,
        storage: ObjectStorage,
        quota: QuotaLedger,
        *,
        url_ttl_seconds: int,
    ) -> None:
        self._repository = repository
        self._storage = storage
        self._quota = quota
        self._ttl = url_ttl_seconds

    def get(self, principal: Principal, media_id: str, action: Action = Action.READ) -> MediaItem:
        """The item if the principal may act on it; NotFound otherwise."""
        return authorize(principal, action, self._repository.get(media_id))

    def view(self, item: MediaItem) -> dict[str, Any]:
        """An item as the API shows it, with short-lived rendition URLs."""
        location = item.metadata.get("gps") if item.location_visible else None
        return {
            "media_id": item.media_id,
            "version": item.revision,
            "status": item.status.value,
            "kind": item.kind.value,
            "filename": item.filename,
            "content_type": item.content_type,
            "size": item.size,
            "sha256": item.sha256 or None,
            "width": item.width or None,
            "height": item.height or None,
            "title": item.title,
            "description": item.description,
            "tags": list(item.tags),
            "taken_at": item.effective_taken_at or None,
            "location_visible": item.location_visible,
            "location": location,
            # GPS is shown only under "location", and only when the owner made it visible.
            "metadata": {k: v for k, v in item.metadata.items() if k != "gps"},
            "placeholder": item.placeholder or None,
            "flagged": item.flagged,
            "moderation": item.moderation or None,
            "ai_description": item.ai_description or None,
            "failure_reason": item.failure_reason or None,
            "created_at": item.created_at.isoformat(),
            "updated_at": item.updated_at.isoformat(),
            "trashed_at": item.trashed_at.isoformat() if item.trashed_at else None,
            "renditions": {
                name: {
                    "url": self._storage.presign_get(r.key, self._ttl),
                    "width": r.width,
                    "height": r.height,
                    "content_type": r.content_type,
                }
                for name, r in item.renditions.items()
            },
        }

    def describe(self, principal: Principal, media_id: str) -> dict[str, Any]:
        """One item as the API shows it."""
        return self.view(self.get(principal, media_id))

    def list(self, principal: Principal, query: MediaQuery, limit: int, cursor: str) -> dict[str, Any]:
        """One page of the caller's own items (or trash), newest first unless asked otherwise."""
        page = self._repository.list_owned(principal.sub, query, limit, decode_cursor(cursor, principal.sub))
        return {"items": [self.view(i) for i in page.items], "next_cursor": encode_cursor(page.cursor)}

    def update(self, principal: Principal, media_id: str, patch: DetailPatch) -> dict[str, Any]:
        """Apply owner edits with optimistic concurrency: a stale version is a Conflict."""
        item = self.get(principal, media_id, Action.UPDATE)
        if item.trashed:
            raise Conflict("restore the item from the trash before editing it")
        if item.revision != patch.revision:
            raise Conflict(
                f"the item changed: it is at version {item.revision}, the edit was based on {patch.revision}"
            )
        return self.view(self._repository.update_details(item, patch.changes))

    def trash(self, principal: Principal, media_id: str) -> None:
        """Move an item to the trash (reversible)."""
        item = self.get(principal, media_id, Action.DELETE)
        if item.trashed:
            return  # deleting twice is the same as once
        self._repository.set_trashed(media_id, True)

    def restore(self, principal: Principal, media_id: str) -> dict[str, Any]:
        """Bring an item back from the trash."""
        item = self.get(principal, media_id, Action.DELETE)
        if not item.trashed:
            raise Conflict("the item is not in the trash")
        return self.view(self._repository.set_trashed(media_id, False))

    def purge(self, principal: Principal, media_id: str) -> None:
        """Delete a trashed item for good: every version of the original, every derivative, the record."""
        item = self.get(principal, media_id, Action.PURGE)
        if not item.trashed:
            raise Conflict("move the item to the trash before deleting it permanently")
        self.purge_item(item)

    def purge_item(self, item: MediaItem) -> None:
        """Remove an item's objects (all versions), derivatives and record; give its bytes back."""
        self._storage.purge(exact_keys=[item.object_key], prefixes=[rendition_prefix(item.owner_id, item.media_id)])
        self._repository.delete(item.media_id)
        self._quota.release(item.owner_id, item.size)

    def download(self, principal: Principal, media_id: str) -> dict[str, Any]:
        """A short-lived URL that downloads the original under its own filename."""
        item = self.get(principal, media_id, Action.DOWNLOAD)
        if item.status is not MediaStatus.READY:
            raise Conflict(f"the item is {item.status.value}; only ready items can be downloaded")
        return {
            "url": self._storage.presign_get(item.object_key, self._ttl, filename=item.filename),
            "filename": item.filename,
            "expires_at": expires_at(self._ttl),
        }
