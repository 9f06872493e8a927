"""Who may call which route: one table, checked on every request; a test fails if a route is missing."""

from __future__ import annotations

from shared.domain.principal import Role

EVERYONE = frozenset(Role)
ADMINS = frozenset({Role.ADMIN})
PARTNERS = frozenset({Role.PARTNER})
PUBLIC: frozenset[Role] = frozenset()  # no token needed

ROUTE_ROLES: dict[tuple[str, str], frozenset[Role]] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    # A share link's token is its own credential (and its password, if it has one).
    ("GET", "/links/{token}"): PUBLIC,
    ("GET", "/links/{token}/download"): PUBLIC,
    ("GET", "/links/{token}/items/{media_id}/download"): PUBLIC,
    ("GET", "/me"): EVERYONE,
    ("GET", "/me/audit"): EVERYONE,
    ("GET", "/me/analytics"): EVERYONE,
    # Someone else's export answers 404, like a missing one (shared/domain/export.py).
    ("POST", "/me/export"): EVERYONE,
    ("GET", "/me/export/{job_id}"): EVERYONE,
    ("GET", "/partner/analytics"): PARTNERS,
    ("GET", "/admin/analytics"): ADMINS,
    ("POST", "/uploads"): EVERYONE,
    ("POST", "/uploads/batch"): EVERYONE,
    ("POST", "/uploads/{media_id}/parts"): EVERYONE,
    ("GET", "/uploads/{media_id}/parts"): EVERYONE,
    ("POST", "/uploads/{media_id}/complete"): EVERYONE,
    ("DELETE", "/uploads/{media_id}"): EVERYONE,
    ("POST", "/media/{media_id}/versions"): EVERYONE,
    ("GET", "/media/{media_id}/versions"): EVERYONE,
    ("POST", "/media/{media_id}/versions/{version_id}/restore"): EVERYONE,
    ("GET", "/media"): EVERYONE,
    ("GET", "/media/{media_id}"): EVERYONE,
    ("PATCH", "/media/{media_id}"): EVERYONE,
    ("DELETE", "/media/{media_id}"): EVERYONE,
    ("POST", "/media/{media_id}/restore"): EVERYONE,
    ("GET", "/media/{media_id}/download"): EVERYONE,
    ("GET", "/trash"): EVERYONE,
    ("DELETE", "/trash/{media_id}"): EVERYONE,
    ("POST", "/media/{media_id}/describe"): EVERYONE,
    ("POST", "/media/{media_id}/shares"): EVERYONE,
    ("GET", "/media/{media_id}/shares"): EVERYONE,
    ("PATCH", "/shares/{share_id}"): EVERYONE,
    ("DELETE", "/shares/{share_id}"): EVERYONE,
    ("GET", "/shares/incoming"): EVERYONE,
    ("POST", "/albums"): EVERYONE,
    ("GET", "/albums"): EVERYONE,
    ("GET", "/albums/{album_id}"): EVERYONE,
    ("PATCH", "/albums/{album_id}"): EVERYONE,
    ("DELETE", "/albums/{album_id}"): EVERYONE,
    ("GET", "/albums/{album_id}/items"): EVERYONE,
    ("POST", "/albums/{album_id}/items"): EVERYONE,
    ("PATCH", "/albums/{album_id}/items/{media_id}"): EVERYONE,
    ("DELETE", "/albums/{album_id}/items/{media_id}"): EVERYONE,
    ("POST", "/albums/{album_id}/shares"): EVERYONE,
    ("GET", "/albums/{album_id}/shares"): EVERYONE,
    ("GET", "/shares/outgoing"): EVERYONE,
    ("GET", "/partner/media"): PARTNERS,
    ("GET", "/notifications"): EVERYONE,
    ("POST", "/notifications/{notification_id}/read"): EVERYONE,
    ("POST", "/notifications/read-all"): EVERYONE,
    ("GET", "/admin/audit"): ADMINS,
    ("POST", "/admin/reprocess"): ADMINS,
    ("POST", "/admin/reconcile"): ADMINS,
    ("GET", "/admin/jobs/{job_id}"): ADMINS,
    ("GET", "/admin/dlq"): ADMINS,
    ("POST", "/admin/dlq/redrive"): ADMINS,
    ("GET", "/admin/moderation"): ADMINS,
    ("POST", "/admin/moderation/{media_id}"): ADMINS,
    # Only the owner gets past the policy: anyone else's request answers 404.
    ("POST", "/media/{media_id}/review"): EVERYONE,
    ("GET", "/admin/settings"): ADMINS,
    ("PUT", "/admin/settings"): ADMINS,
    ("PATCH", "/admin/settings"): ADMINS,
    ("GET", "/admin/settings/history"): ADMINS,
    ("PUT", "/admin/users/{user_id}/quota"): ADMINS,
    ("GET", "/admin/users"): ADMINS,
    ("PUT", "/admin/users/{user_id}/status"): ADMINS,
    ("PUT", "/admin/users/{user_id}/role"): ADMINS,
    ("DELETE", "/me"): EVERYONE,
    ("DELETE", "/admin/users/{user_id}/data"): ADMINS,
}


def allowed_roles(method: str, path: str) -> frozenset[Role]:
    """The roles allowed on a route; KeyError for a route nobody declared (fails at import)."""
    try:
        return ROUTE_ROLES[(method, path)]
    except KeyError:
        raise KeyError(f"{method} {path} has no entry in ROUTE_ROLES (functions/api/access.py)") from None
