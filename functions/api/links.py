"""Share links: anonymous routes (no authorizer) that open or download what a link's token shares.

Unknown, revoked, expired and used-up links, a wrong password and a malformed token all answer the same 404
body. A protected link asked for without its `X-Link-Password` header answers 401 `password_required`: only a
token holder can learn that, and tokens are unguessable. Nothing here may be cached.
"""

from __future__ import annotations

from chalice.app import Blueprint

from functions.api.models.links import LinkPaging, OpenedLink
from functions.api.models.media import DownloadLink
from functions.api.routing import current_request, route, services

bp = Blueprint(__name__)

PASSWORD_HEADER = "x-link-password"  # noqa: S105 - a header name, not a password
_NO_STORE = {"Cache-Control": "no-store"}


@route(bp, "/links/{token}", query=LinkPaging, response=OpenedLink, errors=(401, 404, 429), headers=_NO_STORE)
def open_link(token: str, query: LinkPaging) -> OpenedLink:
    """Open a share link: the item (or album) with short-lived rendition URLs; no token needed, only the link's.

    A protected link needs its password in the `X-Link-Password` header; five wrong ones in ten minutes lock the
    link for the rest of the window (429 with Retry-After).
    """
    opened = services().link_access.open(token, _password(), query.limit, query.cursor or None)
    return OpenedLink.of(opened)


@route(bp, "/links/{token}/download", response=DownloadLink, errors=(401, 404, 429), headers=_NO_STORE)
def download_link(token: str) -> DownloadLink:
    """A short-lived URL of the original a share link lets its holder download (404 if it does not)."""
    link = services().link_access.download(token, _password())
    return DownloadLink(url=link.url, filename=link.filename, expires_at=link.expires_at)


@route(bp, "/links/{token}/items/{media_id}/download", response=DownloadLink, errors=(401, 404, 429), headers=_NO_STORE)
def download_linked_item(token: str, media_id: str) -> DownloadLink:
    """A short-lived URL of the original of one item in a linked album (404 unless the link allows downloads and
    the item is in the album and servable; 404 for an item link)."""
    link = services().link_access.download_item(token, _password(), media_id)
    return DownloadLink(url=link.url, filename=link.filename, expires_at=link.expires_at)


def _password() -> str | None:
    return current_request(bp).headers.get(PASSWORD_HEADER) or None
