"""The caller's media library: list, read, edit, trash, restore, purge, download."""

from __future__ import annotations

from chalice.app import Blueprint

from functions.api.models.media import DescriptionQueued, DetailEdit, DownloadLink, Listing, Media, MediaPage
from functions.api.routing import principal, route, services
from shared.domain.analysis import visible_description

bp = Blueprint(__name__)


@route(bp, "/media", query=Listing, response=MediaPage)
def list_media(query: Listing) -> MediaPage:
    """A page of the caller's media: filters, sort and a cursor.

    A cursor is valid only with the filters, sort and order of the listing that returned it.
    """
    library = services().media_library
    page = library.list(principal(bp), query.listing(trashed=False), query.limit, query.cursor or None)
    return MediaPage.of(page)


@route(bp, "/trash", query=Listing, response=MediaPage)
def list_trash(query: Listing) -> MediaPage:
    """A page of the caller's trashed media."""
    library = services().media_library
    page = library.list(principal(bp), query.listing(trashed=True), query.limit, query.cursor or None)
    return MediaPage.of(page)


@route(bp, "/media/{media_id}", response=Media, errors=(404,))
def get_media(media_id: str) -> Media:
    """One item with short-lived rendition URLs; 404 when missing or not the caller's."""
    return Media.of(services().media_library.describe(principal(bp), media_id))


@route(bp, "/media/{media_id}", methods=("PATCH",), body=DetailEdit, response=Media, errors=(404, 409, 422))
def update_media(media_id: str, body: DetailEdit) -> Media:
    """Edit title, description, tags, taken-at override, location visibility (needs the current version).

    A field that exists but is not editable answers 422; a stale version answers 409.
    """
    edited = services().media_library.update(principal(bp), media_id, body.version, body.to_domain())
    return Media.of(edited)


@route(bp, "/media/{media_id}", methods=("DELETE",), status=204, errors=(404,))
def trash_media(media_id: str) -> None:
    """Move an item to the trash."""
    services().media_library.trash(principal(bp), media_id)


@route(bp, "/media/{media_id}/restore", methods=("POST",), response=Media, errors=(404, 409))
def restore_media(media_id: str) -> Media:
    """Bring an item back from the trash."""
    return Media.of(services().media_library.restore(principal(bp), media_id))


@route(bp, "/trash/{media_id}", methods=("DELETE",), status=204, errors=(404, 409))
def purge_media(media_id: str) -> None:
    """Delete a trashed item for good: original (every version), derivatives, record."""
    services().media_library.purge(principal(bp), media_id)


@route(bp, "/media/{media_id}/download", response=DownloadLink, errors=(404, 409))
def download_media(media_id: str) -> DownloadLink:
    """A short-lived URL that downloads the original with a safe Content-Disposition."""
    link = services().media_library.download(principal(bp), media_id)
    return DownloadLink(url=link.url, filename=link.filename, expires_at=link.expires_at)


@route(bp, "/media/{media_id}/describe", methods=("POST",), response=DescriptionQueued, status=202, errors=(404, 409))
def describe_media(media_id: str) -> DescriptionQueued:
    """Ask for an AI description; it arrives asynchronously (watch ai_description.status)."""
    item = services().description_requests.request(principal(bp), media_id)
    return DescriptionQueued(media_id=item.media_id, ai_description=visible_description(item) or {})
