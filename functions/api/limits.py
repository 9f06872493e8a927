"""Which routes carry an abuse limit, and whose counter a request adds to: one table, read by the route wrapper.

A signed-in caller is counted by their account; a share link's holder (anonymous) by the link, under its token's
hash, so a leaked link cannot be hammered and other links are unaffected.
"""

from __future__ import annotations

from collections.abc import Mapping

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from shared.domain.limits import Limited, RequestLimits
from shared.domain.link_secrets import token_hash
from shared.domain.principal import Principal
from shared.observability import logger

ROUTE_LIMITS: dict[tuple[str, str], Limited] = {
    ("POST", "/uploads"): Limited.UPLOADS,
    ("POST", "/media/{media_id}/versions"): Limited.UPLOADS,
    ("POST", "/media/{media_id}/describe"): Limited.DESCRIBE,
    ("POST", "/admin/reprocess"): Limited.REPROCESS,
    ("POST", "/me/export"): Limited.EXPORT,
    ("GET", "/links/{token}"): Limited.LINK_OPENS,
    ("GET", "/links/{token}/download"): Limited.LINK_OPENS,
    ("GET", "/links/{token}/items/{media_id}/download"): Limited.LINK_OPENS,
}


def route_limit(method: str, path: str) -> Limited | None:
    """The limit a route counts against, if any."""
    return ROUTE_LIMITS.get((method, path))


def admit_request(
    limits: RequestLimits, kind: Limited, caller: Principal | None, path_values: Mapping[str, str]
) -> None:
    """Count the request against its caller's (or link's) limit; TooManyAttempts once the window is full."""
    subject = f"link#{token_hash(path_values['token'])}" if kind is Limited.LINK_OPENS else f"user#{_sub(caller)}"
    try:
        limits.admit(kind, subject)
    except (BotoCoreError, ClientError, PynamoDBException):
        # Fail open: a throttled or unreachable limits table must not turn every expensive route into a 503. API
        # Gateway's stage throttling and the WAF rate rule still stand in front of the function.
        logger.warning("abuse limit not checked: the limits table did not answer", extra={"limit": kind.value})


def admit_uploads(limits: RequestLimits, caller: Principal, count: int) -> int:
    """Count a batch of `count` upload declarations against the caller's upload limit: how many of them (the first
    ones) the window admits; TooManyAttempts when none. Fails open like admit_request."""
    try:
        return limits.admit_up_to(Limited.UPLOADS, f"user#{caller.sub}", count)
    except (BotoCoreError, ClientError, PynamoDBException):
        logger.warning("abuse limit not checked: the limits table did not answer", extra={"limit": "uploads"})
        return count


def _sub(caller: Principal | None) -> str:
    if caller is None:
        raise RuntimeError("a limited route without a token must be a link route")
    return caller.sub
