"""Albums: named, ordered collections of the caller's media, shared like an item."""

from __future__ import annotations

from chalice.app import Blueprint

from functions.api.models.albums import Album, AlbumCreate, AlbumEdit, AlbumItemMove, AlbumItemsAdd, AlbumListing
from functions.api.models.albums import AlbumPage as AlbumPageReply
from functions.api.models.media import MediaPage
from functions.api.models.shares import Share, ShareCreate, ShareList
from functions.api.routing import principal, route, services
from shared.domain.grants import ResourceRef, ResourceType

bp = Blueprint(__name__)


@route(bp, "/albums", methods=("POST",), body=AlbumCreate, response=Album, status=201)
def create_album(body: AlbumCreate) -> Album:
    """Create an empty album of the caller's."""
    return Album.of(services().albums.create(principal(bp), body.title, body.description))


@route(bp, "/albums", query=AlbumListing, response=AlbumPageReply)
def list_albums(query: AlbumListing) -> AlbumPageReply:
    """A page of the caller's albums, newest first."""
    page = services().albums.mine(principal(bp), query.limit, query.cursor or None)
    return AlbumPageReply(items=[Album.of(view) for view in page.items], next_cursor=page.cursor)


@route(bp, "/albums/{album_id}", response=Album, errors=(404,))
def get_album(album_id: str) -> Album:
    """One album: the owner's, or one shared with the caller; 404 otherwise."""
    return Album.of(services().albums.get(principal(bp), album_id))


@route(bp, "/albums/{album_id}", methods=("PATCH",), body=AlbumEdit, response=Album, errors=(404, 409))
def update_album(album_id: str, body: AlbumEdit) -> Album:
    """Change title, description or cover (needs the current version; a stale one answers 409)."""
    return Album.of(services().albums.update(principal(bp), album_id, body.version, body.to_domain()))


@route(bp, "/albums/{album_id}", methods=("DELETE",), status=204, errors=(404,))
def delete_album(album_id: str) -> None:
    """Delete an album and its grants; its items stay in the library."""
    services().albums.delete(principal(bp), album_id)


@route(bp, "/albums/{album_id}/items", query=AlbumListing, response=MediaPage, errors=(404,))
def list_album_items(album_id: str, query: AlbumListing) -> MediaPage:
    """The album's items in order, with short-lived rendition URLs (grantees see only items they may)."""
    page = services().albums.items(principal(bp), album_id, query.limit, query.cursor or None)
    return MediaPage.of(page)


@route(bp, "/albums/{album_id}/items", methods=("POST",), body=AlbumItemsAdd, response=Album, errors=(404, 409))
def add_album_items(album_id: str, body: AlbumItemsAdd) -> Album:
    """Append items of the album owner's; an item already in it stays where it is.

    An item that is not the owner's answers 404; one already in the most albums an item may be in answers 409.
    """
    return Album.of(services().albums.add(principal(bp), album_id, body.media_ids))


@route(
    bp,
    "/albums/{album_id}/items/{media_id}",
    methods=("PATCH",),
    body=AlbumItemMove,
    response=Album,
    errors=(404, 409),
)
def move_album_item(album_id: str, media_id: str, body: AlbumItemMove) -> Album:
    """Move one item right after another (or first), at the album's current version (stale: 409)."""
    return Album.of(services().albums.move(principal(bp), album_id, media_id, body.after, body.version))


@route(bp, "/albums/{album_id}/items/{media_id}", methods=("DELETE",), status=204, errors=(404,))
def remove_album_item(album_id: str, media_id: str) -> None:
    """Take an item out of the album (it stays in the library); the album's grantees lose it at once."""
    services().albums.remove(principal(bp), album_id, media_id)


@route(
    bp,
    "/albums/{album_id}/shares",
    methods=("POST",),
    body=ShareCreate,
    response=Share,
    status=201,
    errors=(404, 409),
)
def create_album_share(album_id: str, body: ShareCreate) -> Share:
    """Grant permissions on an album: they reach every item in it, including ones added later."""
    grant = services().sharing.share(
        principal(bp),
        ResourceRef(ResourceType.ALBUM, album_id),
        body.grantee_request(),
        frozenset(body.permissions),
        body.expiry(),
    )
    return Share.of(grant)


@route(bp, "/albums/{album_id}/shares", response=ShareList, errors=(404,))
def list_album_shares(album_id: str) -> ShareList:
    """An album's grants: all of them for its owner, the ones they made for someone holding `reshare`."""
    grants = services().sharing.on_resource(principal(bp), ResourceRef(ResourceType.ALBUM, album_id))
    return ShareList(items=[Share.of(g) for g in grants])
