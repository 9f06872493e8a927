"""HTTP middleware: correlation id, access log, metrics, and one error-body shape for every 4xx/5xx."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable

from aws_lambda_powertools.metrics import MetricUnit
from chalice.app import Request, Response

from functions.api.errors import error_body
from functions.api.routing import bind_request
from shared.observability import logger, metrics

# Chalice's own errors (bad JSON, 405, 415, unhandled 500) use {"Code", "Message"}: rename them.
_CHALICE_CODES = {
    "BadRequestError": "bad_request",
    "MethodNotAllowedError": "method_not_allowed",
    "UnsupportedMediaType": "unsupported_media_type",
    "NotFoundError": "not_found",
    "InternalServerError": "internal_error",
}


# On every answer (issue 14): API data and presigned URLs are never cached, nothing is framed or sniffed, the API
# is HTTPS only, and no Referer leaks a link's token. A view's own value wins (none sets these today).
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _secured(response: Response) -> Response:
    present = {name.lower() for name in response.headers}
    for name, value in SECURITY_HEADERS.items():
        if name.lower() not in present:
            response.headers[name] = value
    return response


def _allowed_origins() -> frozenset[str]:
    """The console origins configured for this API (ALLOWED_ORIGINS, comma-separated; none: no CORS)."""
    return frozenset(o.strip().rstrip("/") for o in os.environ.get("ALLOWED_ORIGINS", "").split(",") if o.strip())


_ORIGINS = _allowed_origins()


def _shared_with(event: Request, response: Response, allowed: frozenset[str]) -> Response:
    """Name the caller's origin in Access-Control-Allow-Origin when it is a configured one (errors too, so the
    console can show them); any other origin gets nothing, and its browser keeps the answer from the page."""
    origin = event.headers.get("origin") if event.headers else None
    if origin and origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        vary = response.headers.get("Vary")
        response.headers["Vary"] = f"{vary}, Origin" if vary else "Origin"
    return response


def _normalized(response: Response) -> Response:
    body = response.body
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    if isinstance(body, dict) and "code" in body and "message" in body:
        return response
    if isinstance(body, dict) and "Code" in body:
        code = _CHALICE_CODES.get(str(body["Code"]), str(body["Code"]))
        message = str(body.get("Message", ""))
    else:
        code = "internal_error" if response.status_code >= 500 else "error"
        message = "an internal error occurred" if response.status_code >= 500 else "request failed"
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    return Response(body=error_body(code, message), status_code=response.status_code, headers=headers)


def http_middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Wrap every API request."""
    # API Gateway supplies requestId; the local gateway does not, so mint one.
    bind_request(event)
    request_id = str((event.context or {}).get("requestId") or uuid.uuid4())
    logger.set_correlation_id(request_id)
    started = time.perf_counter()
    response = get_response(event)
    if response.status_code >= 400:
        response = _normalized(response)
    response = _shared_with(event, _secured(response), _ORIGINS)
    elapsed_ms = (time.perf_counter() - started) * 1000
    logger.info(
        "request",
        extra={
            "method": event.method,
            "path": event.path,
            "status": response.status_code,
            "duration_ms": round(elapsed_ms, 2),
        },
    )
    metrics.add_metric(name=f"Http{response.status_code // 100}xx", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics(raise_on_empty_metrics=False)
    return response
