"""Share links: what an anonymous link holder is shown (an item's public fields only, never its owner,
location, metadata or moderation)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from functions.api.models.common import Query, Reply
from functions.api.models.media import RenditionLink
from shared.domain.library import MediaView
from shared.domain.links import LinkedAlbum, LinkedMedia
from shared.domain.media import MediaKind
from shared.domain.sharing import MAX_PAGE


class LinkedItem(Reply):
    """An item's public fields and short-lived URLs of its renditions."""

    media_id: str
    title: str
    description: str
    kind: MediaKind
    width: int | None
    height: int | None
    taken_at: str | None = Field(description="ISO-8601; without an offset when the camera recorded none")
    placeholder: str | None = Field(description="BlurHash to show while the preview loads")
    renditions: dict[str, RenditionLink]

    @classmethod
    def of(cls, view: MediaView) -> LinkedItem:
        """The public view of an item."""
        item = view.item
        return cls(
            media_id=item.media_id,
            title=item.title,
            description=item.description,
            kind=item.kind,
            width=item.width or None,
            height=item.height or None,
            taken_at=item.effective_taken_at or None,
            placeholder=item.placeholder or None,
            renditions={
                name: RenditionLink(
                    url=view.rendition_urls[name], width=r.width, height=r.height, content_type=r.content_type
                )
                for name, r in item.renditions.items()
            },
        )


class LinkedAlbumView(Reply):
    """An album's title, description, cover and one page of its items."""

    title: str
    description: str
    cover: LinkedItem | None
    items: list[LinkedItem]
    next_cursor: str | None = Field(description="pass as cursor for the next page of items")


class OpenedLink(Reply):
    """What a link shares: an item (`media`) or an album (`album`), and whether it lets its holder download."""

    type: Literal["media", "album"]
    download_allowed: bool
    media: LinkedItem | None = None
    album: LinkedAlbumView | None = None

    @classmethod
    def of(cls, opened: LinkedMedia | LinkedAlbum) -> OpenedLink:
        """The response for an opened link."""
        if isinstance(opened, LinkedMedia):
            return cls(type="media", download_allowed=opened.download_allowed, media=LinkedItem.of(opened.view))
        album = opened.album
        return cls(
            type="album",
            download_allowed=opened.download_allowed,
            album=LinkedAlbumView(
                title=album.album.title,
                description=album.album.description,
                cover=LinkedItem.of(album.cover) if album.cover is not None else None,
                items=[LinkedItem.of(view) for view in opened.items.items],
                next_cursor=opened.items.cursor,
            ),
        )


class LinkPaging(Query):
    """Paging of an album link's items (a media link ignores it)."""

    limit: int = Field(default=50, ge=1, le=MAX_PAGE, description="page size")
    cursor: str | None = Field(default=None, max_length=2048, description="next_cursor of the previous page")
