"""Route registration: authorizer, principal and domain-error mapping applied the same way everywhere."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalice.app import Blueprint, Response

from functions.api.errors import error_response
from functions.authorizer import keycloak
from shared.domain.errors import DomainError, ValidationError
from shared.domain.principal import Principal

View = Callable[..., Any]


def route(
    bp: Blueprint, path: str, *, methods: tuple[str, ...] = ("GET",), public: bool = False
) -> Callable[[View], View]:
    """Register a view on bp; non-public views require the Keycloak authorizer."""

    def register(view: View) -> View:
        @functools.wraps(view)
        def handle(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except DomainError as error:
                return error_response(error)

        options: dict[str, Any] = {"methods": list(methods)}
        if not public:
            options["authorizer"] = keycloak
        bp.route(path, **options)(handle)
        return view

    return register


def principal(bp: Blueprint) -> Principal:
    """The caller, as the authorizer described it."""
    context = bp.current_request.context.get("authorizer") or {}
    return Principal.from_context(context)


def json_body(bp: Blueprint) -> Any:
    """The request's JSON body; ValidationError when it is absent or not JSON."""
    raw = bp.current_request.raw_body
    if not raw:
        raise ValidationError("a JSON body is required")
    try:
        return bp.current_request.json_body
    except Exception as exc:  # Chalice raises BadRequestError for malformed JSON
        raise ValidationError("the body is not valid JSON") from exc


def created(body: Any) -> Response:
    """201 with a JSON body."""
    return Response(body=body, status_code=201)
