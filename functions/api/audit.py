"""The audit log over HTTP: admins search it, everyone sees what others did with their own media."""

from __future__ import annotations

from chalice.app import Blueprint

from functions.api.models.audit import AccessPage, AuditRecordPage, AuditSearch, MyAccessSearch
from functions.api.routing import principal, route, services

bp = Blueprint(__name__)


@route(bp, "/admin/audit", query=AuditSearch, response=AuditRecordPage)
def search_audit(query: AuditSearch) -> AuditRecordPage:
    """Audit entries, newest first, by resource, actor, action and time (admins only).

    A cursor is valid only with the filters of the search that returned it.
    """
    page = services().audit_trail.search(principal(bp), query.to_domain(), query.limit, query.cursor or None)
    return AuditRecordPage.of(page)


@route(bp, "/me/audit", query=MyAccessSearch, response=AccessPage)
def my_media_accesses(query: MyAccessSearch) -> AccessPage:
    """What others (administrators, people you shared with) did with your media, newest first."""
    page = services().audit_trail.accesses_to_mine(principal(bp), query.to_domain(), query.limit, query.cursor or None)
    return AccessPage.of(page)
