"""Route registration: authorizer, principal and domain-error mapping applied the same way everywhere."""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from chalice.app import Blueprint

from functions import dependencies
from functions.api.access import allowed_roles
from functions.api.errors import error_response
from functions.authorizer import keycloak
from shared.domain.errors import DomainError, Forbidden, ValidationError
from shared.domain.principal import Principal
from shared.domain.users import User

View = Callable[..., Any]
# The account the route wrapper admitted for the request being handled (one per thread/context).
_admitted: ContextVar[User] = ContextVar("admitted_user")


def route(bp: Blueprint, path: str, *, methods: tuple[str, ...] = ("GET",)) -> Callable[[View], View]:
    """Register a view on bp; its roles come from ROUTE_ROLES, and non-public views need a token."""

    def register(view: View) -> View:
        roles = {method: allowed_roles(method, path) for method in methods}
        public = all(not allowed for allowed in roles.values())

        @functools.wraps(view)
        def handle(*args: Any, **kwargs: Any) -> Any:
            try:
                allowed = roles[bp.current_request.method]
                if allowed:
                    caller = principal(bp)
                    if caller.role not in allowed:
                        raise Forbidden("your role does not allow this action")
                    _admitted.set(dependencies.user_directory().admit(caller))
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


def current_user() -> User:
    """The caller's account, as admitted for this request."""
    return _admitted.get()


def query_params(bp: Blueprint) -> dict[str, str]:
    """The query string as a plain dict (a repeated parameter keeps its last value)."""
    params = bp.current_request.query_params
    return {str(k): str(v) for k, v in params.items()} if params else {}


def json_body(bp: Blueprint) -> Any:
    """The request's JSON body; ValidationError when it is absent or not JSON."""
    raw = bp.current_request.raw_body
    if not raw:
        raise ValidationError("a JSON body is required")
    try:
        return bp.current_request.json_body
    except Exception as exc:  # Chalice raises BadRequestError for malformed JSON
        raise ValidationError("the body is not valid JSON") from exc
