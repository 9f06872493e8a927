"""The media library: listing query, edits, and how an item is shown."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StringConstraints, model_validator

from functions.api.models.common import Body, Query, Reply, Timestamp, UtcInstant, WallClock
from shared.domain.analysis import visible_description
from shared.domain.errors import DomainError, Unprocessable
from shared.domain.library import MAX_DESCRIPTION, MAX_PAGE, MAX_TAG, MAX_TAGS, MAX_TITLE, MediaView, MediaViewPage
from shared.domain.media import MediaKind, MediaStatus
from shared.domain.ports import DetailChanges, MediaQuery, SortField
from shared.domain.review import review_status

Tag = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=MAX_TAG)]


class LibraryFilters(Query):
    """The filters of a media listing (GET /media, GET /trash, and what others shared with the caller)."""

    type: MediaKind | None = Field(default=None, description="only photos or only videos")
    status: MediaStatus | None = None
    tag: Tag | None = Field(default=None, description="items carrying this tag")
    q: str | None = Field(default=None, max_length=200, description="text in filename, title or description")
    created_from: UtcInstant | None = Field(default=None, description="created at or after (no offset: UTC)")
    created_to: UtcInstant | None = Field(default=None, description="created at or before (no offset: UTC)")
    taken_from: WallClock | None = Field(default=None, description="taken at or after")
    taken_to: WallClock | None = Field(default=None, description="taken at or before")

    def to_domain(self, **order: Any) -> MediaQuery:
        """The domain's query: these filters, in the given order (sort, descending, trashed)."""
        return MediaQuery(
            kind=self.type.value if self.type else "",
            status=self.status.value if self.status else "",
            tag=self.tag or "",
            text=(self.q or "").strip().lower(),
            created_from=self.created_from or "",
            created_to=self.created_to or "",
            taken_from=self.taken_from or "",
            taken_to=self.taken_to or "",
            **order,
        )


class Listing(LibraryFilters):
    """Filters, order and paging of GET /media and GET /trash."""

    sort: SortField = SortField.CREATED
    order: Literal["asc", "desc"] = "desc"
    limit: int = Field(default=50, ge=1, le=MAX_PAGE, description="page size")
    cursor: str | None = Field(
        default=None, max_length=2048, description="next_cursor of the previous page of the same query"
    )

    def listing(self, *, trashed: bool) -> MediaQuery:
        """The domain's query, in this listing's order."""
        return self.to_domain(sort=self.sort, descending=self.order == "desc", trashed=trashed)


class DetailEdit(Body):
    """Owner edits; `version` is the item's current version (a stale one is 409)."""

    # Asking to change a field that exists but is not editable is 422, as the README promises.
    unknown_fields_error: ClassVar[type[DomainError]] = Unprocessable

    version: int = Field(ge=0, le=2**53, description="the version the edit is based on")
    title: str | None = Field(default=None, max_length=MAX_TITLE)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)
    taken_at: WallClock | None = Field(default=None, description="null clears the override")
    location_visible: bool | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> DetailEdit:
        if not self.model_fields_set - {"version"}:
            raise ValueError("nothing to change; editable fields: description, location_visible, tags, taken_at, title")
        return self

    def to_domain(self) -> DetailChanges:
        """The domain's changes; a field left out stays as it is."""
        given = self.model_fields_set
        return DetailChanges(
            title=self.title.strip() if self.title is not None else None,
            description=self.description.strip() if self.description is not None else None,
            tags=tuple(dict.fromkeys(self.tags)) if self.tags is not None else None,
            # null clears the override (back to what the file says); "" is the repository's "clear".
            taken_at_override=(self.taken_at or "") if "taken_at" in given else None,
            location_visible=self.location_visible,
        )


class RenditionLink(Reply):
    """A derivative and a short-lived URL to it."""

    url: str
    width: int
    height: int
    content_type: str


class Media(Reply):
    """A media item as its owner sees it."""

    media_id: str
    owner_id: str = Field(description="whose item it is (a grantee's or an admin's view of it says so)")
    version: int = Field(description="send it back with an edit")
    status: MediaStatus
    kind: MediaKind
    filename: str
    content_type: str
    size: int
    sha256: str | None
    width: int | None
    height: int | None
    title: str
    description: str
    tags: list[str]
    taken_at: str | None = Field(description="ISO-8601; without an offset when the camera recorded none")
    location_visible: bool
    location: dict[str, Any] | None = Field(description="GPS position, only when location_visible")
    metadata: dict[str, Any] = Field(description="what processing read from the file (never GPS)")
    placeholder: str | None = Field(description="BlurHash to show while the preview loads")
    flagged: bool
    moderation: dict[str, Any] | None
    review: dict[str, Any] | None = Field(
        default=None, description="moderation review: state (awaiting_review, approved, rejected), reason, second_look"
    )
    ai_description: dict[str, Any] | None
    failure_reason: str | None
    created_at: Timestamp
    updated_at: Timestamp
    trashed_at: Timestamp | None
    renditions: dict[str, RenditionLink]

    @classmethod
    def of(cls, view: MediaView) -> Media:
        """The response for an item and its signed rendition URLs."""
        item = view.item
        return cls(
            media_id=item.media_id,
            owner_id=item.owner_id,
            version=item.revision,
            status=item.status,
            kind=item.kind,
            filename=item.filename,
            content_type=item.content_type,
            size=item.size,
            sha256=item.sha256 or None,
            width=item.width or None,
            height=item.height or None,
            title=item.title,
            description=item.description,
            tags=list(item.tags),
            taken_at=item.effective_taken_at or None,
            location_visible=item.location_visible,
            location=item.metadata.get("gps") if item.location_visible else None,
            # GPS is shown only under "location", and only when the owner made it visible.
            metadata={k: v for k, v in item.metadata.items() if k != "gps"},
            placeholder=item.placeholder or None,
            flagged=item.flagged,
            moderation=item.moderation or None,
            review=review_status(item),
            ai_description=visible_description(item),
            failure_reason=item.failure_reason or None,
            created_at=item.created_at,
            updated_at=item.updated_at,
            trashed_at=item.trashed_at,
            renditions={
                name: RenditionLink(
                    url=view.rendition_urls[name], width=r.width, height=r.height, content_type=r.content_type
                )
                for name, r in item.renditions.items()
            },
        )


class MediaPage(Reply):
    """One page of a listing."""

    items: list[Media]
    next_cursor: str | None = Field(description="pass as cursor, with the same filters, for the next page")

    @classmethod
    def of(cls, page: MediaViewPage) -> MediaPage:
        """The response for a page."""
        return cls(items=[Media.of(view) for view in page.items], next_cursor=page.cursor)


class DownloadLink(Reply):
    """A short-lived URL that downloads the original as an attachment."""

    url: str
    filename: str
    expires_at: str = Field(json_schema_extra={"format": "date-time"})


class DescriptionQueued(Reply):
    """A description was asked for; it lands in the item's ai_description."""

    media_id: str
    ai_description: dict[str, Any]
