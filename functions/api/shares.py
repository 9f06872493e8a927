"""Sharing: grants on an item to users and partner organisations, and what others shared with the caller."""

from __future__ import annotations

from chalice.app import Blueprint

from functions.api.models.shares import (
    GrantListing,
    Share,
    ShareCreate,
    SharedListing,
    SharedMediaPage,
    ShareEdit,
    ShareList,
    SharePage,
)
from functions.api.routing import principal, route, services
from shared.domain.grants import ResourceRef, ResourceType

bp = Blueprint(__name__)


@route(
    bp, "/media/{media_id}/shares", methods=("POST",), body=ShareCreate, response=Share, status=201, errors=(404, 409)
)
def create_share(media_id: str, body: ShareCreate) -> Share:
    """Grant a user (by username or email) or a partner organisation permissions on an item.

    The owner may grant anything; someone holding `reshare` may grant at most what they hold, and the grant
    ends with theirs. An unknown user answers 404 like an unknown item.
    """
    grant = services().sharing.share(
        principal(bp),
        ResourceRef(ResourceType.MEDIA, media_id),
        body.grantee_request(),
        frozenset(body.permissions),
        body.expiry(),
    )
    return Share.of(grant)


@route(bp, "/media/{media_id}/shares", response=ShareList, errors=(404,))
def list_item_shares(media_id: str) -> ShareList:
    """An item's grants: all of them for its owner, the ones they made for someone holding `reshare`."""
    return ShareList(
        items=[
            Share.of(g)
            for g in services().sharing.on_resource(principal(bp), ResourceRef(ResourceType.MEDIA, media_id))
        ]
    )


@route(bp, "/shares/{share_id}", methods=("PATCH",), body=ShareEdit, response=Share, errors=(404, 409))
def update_share(share_id: str, body: ShareEdit) -> Share:
    """Change a grant's permissions or expiry (its grantor or the item's owner); reshares from it are trimmed."""
    permissions = frozenset(body.permissions) if body.permissions is not None else None
    change_expiry = "expires_at" in body.model_fields_set
    grant = services().sharing.change(principal(bp), share_id, permissions, body.expiry(), change_expiry=change_expiry)
    return Share.of(grant)


@route(bp, "/shares/{share_id}", methods=("DELETE",), status=204, errors=(404,))
def revoke_share(share_id: str) -> None:
    """Revoke a grant and everything reshared from it; it stops working on the next request."""
    services().sharing.revoke(principal(bp), share_id)


@route(bp, "/shares/incoming", query=SharedListing, response=SharedMediaPage)
def incoming_shares(query: SharedListing) -> SharedMediaPage:
    """Items shared with the caller (and with their organisation, for a partner), newest grant first."""
    page = services().sharing.incoming(principal(bp), query.to_domain(), query.limit, query.cursor or None)
    return SharedMediaPage.of(page)


@route(bp, "/shares/outgoing", query=GrantListing, response=SharePage)
def outgoing_shares(query: GrantListing) -> SharePage:
    """Grants the caller made, newest first."""
    return SharePage.of(services().sharing.outgoing(principal(bp), query.limit, query.cursor or None))


@route(bp, "/partner/media", query=SharedListing, response=SharedMediaPage)
def partner_media(query: SharedListing) -> SharedMediaPage:
    """Media shared with the caller's partner organisation (partners only)."""
    page = services().sharing.partner_media(principal(bp), query.to_domain(), query.limit, query.cursor or None)
    return SharedMediaPage.of(page)
