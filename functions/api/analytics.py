"""Analytics over HTTP: one's own figures, a partner organisation's, and the whole system's (JSON or CSV)."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from functions.api.models.analytics import AnalyticsBody, AnalyticsRange, csv_text
from functions.api.routing import principal, route, services
from shared.domain.analytics import SYSTEM, org_scope, user_scope
from shared.domain.errors import Forbidden

bp = Blueprint(__name__)


def _answer(scope: str, query: AnalyticsRange) -> AnalyticsBody | Response:
    first, last = query.days()
    report = services().analytics_reader.report(scope, first, last)
    if query.format == "csv":
        filename = f"analytics-{first.isoformat()}-{last.isoformat()}.csv"
        headers: dict[str, str | list[str]] = {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        }
        return Response(body=csv_text(report), status_code=200, headers=headers)
    return AnalyticsBody.of(report)


@route(bp, "/me/analytics", query=AnalyticsRange, response=AnalyticsBody, text_types=("text/csv",))
def my_analytics(query: AnalyticsRange) -> AnalyticsBody | Response:
    """Your figures per UTC day: uploads, processing outcomes and latency, shares, views and downloads by others.

    `format=csv` answers text/csv with one row per day. The range covers at most 366 days.
    """
    return _answer(user_scope(principal(bp).sub), query)


@route(bp, "/partner/analytics", query=AnalyticsRange, response=AnalyticsBody, text_types=("text/csv",))
def partner_analytics(query: AnalyticsRange) -> AnalyticsBody | Response:
    """Your organisation's figures per UTC day: items shared with it, views and downloads by its partners.

    `format=csv` answers text/csv with one row per day. The range covers at most 366 days.
    """
    org = principal(bp).partner_org
    if not org:
        raise Forbidden("your account belongs to no partner organisation")
    return _answer(org_scope(org), query)


@route(bp, "/admin/analytics", query=AnalyticsRange, response=AnalyticsBody, text_types=("text/csv",))
def system_analytics(query: AnalyticsRange) -> AnalyticsBody | Response:
    """The whole vault's figures per UTC day, with active users and storage by kind (admins only).

    `format=csv` answers text/csv with one row per day. The range covers at most 366 days.
    """
    return _answer(SYSTEM, query)
