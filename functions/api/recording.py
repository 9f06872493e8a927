"""What the route wrapper writes to the audit log, and when.

Recorded, after the view ran and before the response leaves: every write (POST, PUT, PATCH, DELETE), whatever its
outcome; every request on an admin route; and every other request in which the media library let the caller at
someone else's item (an admin's, a grantee's or a link holder's read), which the library reports through its
access observer. An owner reading their own media is not recorded. On an anonymous (link) route the actor is the
principal the library was asked about (`link:<share id>`); a link's token is never written.

A failed audit write never fails the request: it is logged with the request id and counted (AuditWriteFailed,
for an alarm), and the response goes out. By then a write has happened; answering 5xx would invite the client to
repeat a change that was made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import replace
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit
from chalice.app import Request

from shared.domain.errors import DomainError
from shared.domain.media import MediaItem
from shared.domain.principal import Principal
from shared.observability import logger, metrics

if TYPE_CHECKING:
    from shared.domain.audit import AuditTrail

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_MAX_USER_AGENT = 512
# Path parameters naming the resource a route acts on, and that resource's type in the log.
_RESOURCE_PARAMETERS = (
    ("media_id", "media"),
    ("share_id", "share"),
    ("user_id", "user"),
    ("notification_id", "notification"),
)
_VERBS = {"GET": "read", "POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}

# The log's names for the routes' actions; a route missing here gets one derived from its path and method.
ACTION_NAMES: dict[tuple[str, str], str] = {
    ("POST", "/uploads"): "upload.create",
    ("POST", "/uploads/batch"): "upload.create_batch",
    ("POST", "/uploads/{media_id}/parts"): "upload.parts.create",
    ("POST", "/uploads/{media_id}/complete"): "upload.complete",
    ("DELETE", "/uploads/{media_id}"): "upload.abort",
    ("POST", "/media/{media_id}/versions"): "media.version.create",
    ("GET", "/media/{media_id}/versions"): "media.version.list",
    ("POST", "/media/{media_id}/versions/{version_id}/restore"): "media.version.restore",
    ("GET", "/media/{media_id}"): "media.read",
    ("PATCH", "/media/{media_id}"): "media.update",
    ("DELETE", "/media/{media_id}"): "media.trash",
    ("POST", "/media/{media_id}/restore"): "media.restore",
    ("GET", "/media/{media_id}/download"): "media.download",
    ("DELETE", "/trash/{media_id}"): "media.purge",
    ("POST", "/media/{media_id}/describe"): "media.describe",
    ("POST", "/media/{media_id}/shares"): "share.create",
    ("GET", "/media/{media_id}/shares"): "share.list",
    ("PATCH", "/shares/{share_id}"): "share.update",
    ("DELETE", "/shares/{share_id}"): "share.revoke",
    ("POST", "/notifications/{notification_id}/read"): "notification.read",
    ("POST", "/notifications/read-all"): "notification.read_all",
    ("GET", "/links/{token}"): "link.open",
    ("GET", "/links/{token}/download"): "link.download",
    ("GET", "/links/{token}/items/{media_id}/download"): "link.items.download",
    ("POST", "/albums"): "album.create",
    ("PATCH", "/albums/{album_id}"): "album.update",
    ("DELETE", "/albums/{album_id}"): "album.delete",
    ("POST", "/albums/{album_id}/items"): "album.items.add",
    ("PATCH", "/albums/{album_id}/items/{media_id}"): "album.items.move",
    ("DELETE", "/albums/{album_id}/items/{media_id}"): "album.items.remove",
    ("POST", "/albums/{album_id}/shares"): "share.create",
    ("GET", "/albums/{album_id}/shares"): "share.list",
    ("GET", "/admin/settings"): "admin.settings.read",
    ("PUT", "/admin/settings"): "admin.settings.update",
    ("PATCH", "/admin/settings"): "admin.settings.update",
    ("GET", "/admin/settings/history"): "admin.settings.history",
    ("PUT", "/admin/users/{user_id}/quota"): "admin.users.quota.update",
    ("GET", "/admin/users"): "admin.users.list",
    ("PUT", "/admin/users/{user_id}/status"): "admin.users.status.update",
    ("PUT", "/admin/users/{user_id}/role"): "admin.users.role.update",
    ("GET", "/admin/audit"): "admin.audit.search",
    ("GET", "/admin/moderation"): "admin.moderation.list",
    ("POST", "/admin/moderation/{media_id}"): "admin.moderation.decide",
    ("POST", "/media/{media_id}/review"): "media.review.request",
    ("DELETE", "/me"): "account.erase",
    ("DELETE", "/admin/users/{user_id}/data"): "admin.users.erase",
    ("POST", "/me/export"): "export.start",
    ("GET", "/me/export/{job_id}"): "export.read",
}

# Who the library let at which item in this request (one context per request: the route wrapper resets it).
_accessed: ContextVar[tuple[tuple[Principal, MediaItem], ...]] = ContextVar("accessed_items", default=())


class AccessWitness:
    """The media library's AccessObserver in the API: remembers the items each request's caller was let at."""

    def item_accessed(self, principal: Principal, action: str, item: MediaItem) -> None:
        """Note the item for the request being handled."""
        _accessed.set((*_accessed.get(), (principal, item)))


def action_name(method: str, path: str) -> str:
    """The log's name of a route's action ("media.update"), derived from the path when the table has none."""
    named = ACTION_NAMES.get((method, path))
    if named:
        return named
    words = [part for part in path.strip("/").split("/") if part and not part.startswith("{")]
    return ".".join([*words, _VERBS.get(method, method.lower())])


# A person an erasure request erases, and their pseudonym: the request's own entry names the pseudonym wherever it
# would name them. The recorder writes asynchronously, so this entry may reach the log after the erase job has
# rewritten the others (shared/domain/erasure.py); it must need no rewriting.
_stand_in: ContextVar[tuple[str, str] | None] = ContextVar("erased_stand_in", default=None)


def begin() -> None:
    """Start a request with nothing accessed yet."""
    _accessed.set(())
    _stand_in.set(None)


def stand_in(user_id: str, alias: str) -> None:
    """Record this request with alias in place of user_id (as actor, resource or owner), without the person's
    name or origin."""
    _stand_in.set((user_id, alias))


def _pseudonymous(
    caller: Principal, resource: tuple[str, str, str], origin: tuple[str, str, str]
) -> tuple[Principal, tuple[str, str, str], tuple[str, str, str]]:
    swap = _stand_in.get()
    if swap is None:
        return caller, resource, origin
    erased, alias = swap
    resource_type, resource_id, owner = resource
    resource = (resource_type, alias if resource_id == erased else resource_id, alias if owner == erased else owner)
    if caller.sub == erased:
        caller = replace(caller, sub=alias, username="", email="")
        origin = ("", "", origin[2])
    return caller, resource, origin


def finish(
    request: Request, path: str, path_values: Mapping[str, str], status: int, trail: Callable[[], AuditTrail]
) -> None:
    """Record the request if the log wants it; never raises."""
    try:
        accessed = _accessed.get()
        caller = _caller(request) or (accessed[0][0] if accessed else None)
        if caller is None:
            return
        items = [item for _, item in accessed]
        others = [item for item in items if item.owner_id != caller.sub]
        if request.method not in WRITES and not path.startswith("/admin/") and not others:
            return
        item = others[0] if others else (items[0] if items else None)
        caller, resource, origin = _pseudonymous(caller, _resource(path, path_values, item), _origin(request))
        trail().record(caller, action_name(request.method, path), resource, status, origin)
    except Exception:  # noqa: BLE001 - the audit log must not fail the request it records
        logger.exception("an audit entry could not be written", extra={"path": path, "status": status})
        metrics.add_metric(name="AuditWriteFailed", unit=MetricUnit.Count, value=1)


def _caller(request: Request) -> Principal | None:
    context = (request.context or {}).get("authorizer") or {}
    try:
        return Principal.from_context(context)
    except DomainError:
        return None  # no identity (a public route, or a refusal before the view): nobody to attribute


def _resource(path: str, path_values: Mapping[str, str], item: MediaItem | None) -> tuple[str, str, str]:
    """(type, id, owner) of what the request acted on."""
    owner = item.owner_id if item is not None else ""
    for parameter, resource_type in _RESOURCE_PARAMETERS:
        if parameter in path_values:
            return resource_type, path_values[parameter], owner
    if item is not None:
        return "media", item.media_id, owner
    words = [part for part in path.strip("/").split("/") if part and not part.startswith("{")]
    return (words[-1] if words else "api"), "", ""


def _origin(request: Request) -> tuple[str, str, str]:
    """(source ip, user agent, request id): the gateway's, or the id the middleware minted where it gives none."""
    context = request.context or {}
    source_ip = str((context.get("identity") or {}).get("sourceIp") or "")
    user_agent = str(request.headers.get("user-agent") or "")[:_MAX_USER_AGENT] if request.headers else ""
    request_id = str(context.get("requestId") or logger.get_correlation_id() or "")
    return source_ip, user_agent, request_id
