"""Albums: create, edit, add and move items, and how an album is shown."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from functions.api.models.common import Body, MediaId, Query, Reply, Timestamp
from functions.api.models.media import RenditionLink
from shared.domain.albums import MAX_ADD, MAX_ALBUM_DESCRIPTION, MAX_ALBUM_TITLE, MAX_PAGE, AlbumChanges, AlbumView

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ALBUM_TITLE)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_ALBUM_DESCRIPTION)]


class AlbumCreate(Body):
    """A new, empty album."""

    title: Title
    description: Description = ""


class AlbumEdit(Body):
    """Change title, description or cover (an item of the album; null clears it), at the album's version."""

    version: int = Field(ge=0, le=2**53, description="the album's current version (a stale one is 409)")
    title: Title | None = None
    description: Description | None = None
    cover_media_id: MediaId | None = Field(default=None, description="an item of the album; null clears the cover")

    @model_validator(mode="after")
    def _changes_something(self) -> AlbumEdit:
        if not self.model_fields_set - {"version"}:
            raise ValueError("nothing to change; editable fields: cover_media_id, description, title")
        if "title" in self.model_fields_set and self.title is None:
            raise ValueError("title cannot be null")
        return self

    def to_domain(self) -> AlbumChanges:
        """The domain's changes; a field left out stays as it is."""
        cover = (self.cover_media_id or "") if "cover_media_id" in self.model_fields_set else None
        return AlbumChanges(title=self.title, description=self.description, cover_media_id=cover)


class AlbumItemsAdd(Body):
    """Items of the caller's to append, in this order (ones already in the album stay where they are)."""

    media_ids: list[MediaId] = Field(min_length=1, max_length=MAX_ADD)


class AlbumItemMove(Body):
    """Put the item right after another item of the album (null: first), at the album's version."""

    after: MediaId | None = Field(description="the item to follow; null moves it to the front")
    version: int = Field(ge=0, le=2**53, description="the album's current version (a stale one is 409)")


class AlbumListing(Query):
    """Paging of albums or of an album's items."""

    limit: int = Field(default=50, ge=1, le=MAX_PAGE, description="page size")
    cursor: str | None = Field(default=None, max_length=2048, description="next_cursor of the previous page")


class AlbumCover(Reply):
    """The cover item and short-lived URLs of its renditions."""

    media_id: str
    renditions: dict[str, RenditionLink]


class Album(Reply):
    """An album; `cover` is null when it has none, or none the caller may see."""

    album_id: str
    owner_id: str
    title: str
    description: str
    cover_media_id: str | None
    cover: AlbumCover | None
    item_count: int
    version: int = Field(description="send it back with an edit or a move")
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, view: AlbumView) -> Album:
        """The response for an album."""
        album = view.album
        cover = None
        if view.cover is not None:
            item = view.cover.item
            renditions = {
                name: RenditionLink(
                    url=view.cover.rendition_urls[name], width=r.width, height=r.height, content_type=r.content_type
                )
                for name, r in item.renditions.items()
            }
            cover = AlbumCover(media_id=item.media_id, renditions=renditions)
        return cls(
            album_id=album.album_id,
            owner_id=album.owner_id,
            title=album.title,
            description=album.description,
            cover_media_id=album.cover_media_id or None,
            cover=cover,
            item_count=album.item_count,
            version=album.revision,
            created_at=album.created_at,
            updated_at=album.updated_at,
        )


class AlbumPage(Reply):
    """One page of albums."""

    items: list[Album]
    next_cursor: str | None = Field(description="pass as cursor for the next page")
