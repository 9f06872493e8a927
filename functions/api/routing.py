"""Route registration: authorizer, principal, input validation and domain-error mapping applied the same way everywhere.

A view declares its models; the wrapper checks the caller, validates path, query and body, then calls the
view with its path parameters plus `body=` and/or `query=` (validated models). The view returns a `response`
model, `(model, status)` for one of `other_statuses`, or None for an empty `status` (204); `errors` lists the
error statuses the domain may answer (400, 401 and 403 follow from what the route has). The route table this
fills is what /openapi.json is generated from; a view's docstring gives its summary and description.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pydantic
from botocore.exceptions import BotoCoreError, ClientError
from chalice.app import Blueprint, Request, Response
from pynamodb.exceptions import PynamoDBException

from functions.api import recording
from functions.api.access import allowed_roles
from functions.api.errors import error_response
from functions.api.limits import admit_request, route_limit
from functions.api.models.common import PATH_PARAMETERS, FieldProblem, ValidationErrorBody
from functions.authorizer import keycloak
from shared.domain.errors import DomainError, Forbidden, NotFound, Unavailable
from shared.domain.principal import Principal, Role
from shared.domain.users import User
from shared.observability import logger

if TYPE_CHECKING:
    from functions.containers.api import ApiContainer

View = Callable[..., Any]
Model = type[pydantic.BaseModel]
# The account the route wrapper admitted for the request being handled (one per thread/context).
_admitted: ContextVar[User] = ContextVar("admitted_user")
# The request being handled: Chalice keeps one current_request per app, which concurrent requests on a threaded
# local server (or a test's threads) overwrite; the HTTP middleware binds each thread's own here.
_request: ContextVar[Request] = ContextVar("request")
# Path parameters whose malformed values answer 404, like any id that names nothing (an item id is not a hint).
_NOT_FOUND_WHEN_MALFORMED = {
    "media_id": "media not found",
    "share_id": "share not found",
    "album_id": "album not found",
    "notification_id": "notification not found",
    "token": "link not found",
}
_JSON_TYPES = ("application/json",)


@dataclass(frozen=True)
class RouteSpec:
    """One registered operation, as /openapi.json describes it."""

    method: str
    path: str
    name: str
    summary: str
    description: str
    roles: frozenset[Role]
    path_parameters: tuple[str, ...]
    body: Model | None
    query: Model | None
    response: Model | None
    status: int
    other_statuses: tuple[int, ...]
    errors: tuple[int, ...]
    text_types: tuple[str, ...] = ()


ROUTES: list[RouteSpec] = []
_services: Callable[[], ApiContainer] | None = None


class InvalidInput(Exception):
    """The request does not match the route's models (answered 400 validation_error)."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__(problems[0].problem if problems else "invalid input")
        self.problems = problems


def route(
    bp: Blueprint,
    path: str,
    *,
    methods: tuple[str, ...] = ("GET",),
    body: Model | None = None,
    query: Model | None = None,
    response: Model | None = None,
    status: int = 200,
    other_statuses: tuple[int, ...] = (),
    errors: tuple[int, ...] = (),
    headers: Mapping[str, str] | None = None,
    text_types: tuple[str, ...] = (),
) -> Callable[[View], View]:
    """Register a view on bp: roles from ROUTE_ROLES, a token unless public, validated path/query/body; `headers`
    go on every response of the route, errors included; `text_types` are other media types its success may be
    answered in (a view returns a Response for those)."""
    placeholders = tuple(part[1:-1] for part in path.split("/") if part.startswith("{"))
    unknown = [name for name in placeholders if name not in PATH_PARAMETERS]
    if unknown:
        raise KeyError(f"{path}: path parameter(s) {unknown} need a model in functions/api/models/common.py")

    def register(view: View) -> View:
        roles = {method: allowed_roles(method, path) for method in methods}
        limited = {method: route_limit(method, path) for method in methods}
        public = all(not allowed for allowed in roles.values())
        summary, _, description = inspect.cleandoc(view.__doc__ or view.__name__).partition("\n")
        for method in methods:
            ROUTES.append(
                RouteSpec(
                    method=method,
                    path=path,
                    name=view.__name__,
                    summary=summary.strip(),
                    description=description.strip(),
                    roles=roles[method],
                    path_parameters=placeholders,
                    body=body,
                    query=query,
                    response=response,
                    status=status,
                    other_statuses=other_statuses,
                    # A limited route may also answer 429 (functions/api/limits.py).
                    errors=errors if limited[method] is None or 429 in errors else (*errors, 429),
                    text_types=text_types,
                )
            )

        def answer(request: Request, path_values: dict[str, str]) -> Response:
            try:
                allowed = roles[request.method]
                if allowed:
                    caller = principal(bp)
                    if caller.role not in allowed:
                        raise Forbidden("your role does not allow this action")
                    _admitted.set(services().user_directory.admit(caller))
                    services().analytics_recorder.active(caller)  # once per user and day; never raises
                arguments: dict[str, Any] = {name: _path_value(name, value) for name, value in path_values.items()}
                kind = limited[request.method]
                if kind is not None:
                    caller_or_link = principal(bp) if allowed else None
                    admit_request(services().request_limits, kind, caller_or_link, arguments)
                if query is not None:
                    arguments["query"] = _validated(query, _query_mapping(request.query_params), "query")
                if body is not None:
                    arguments["body"] = _json_model(body, request.headers.get("content-type"), request.raw_body)
                return _respond(view(**arguments), status)
            except InvalidInput as invalid:
                return validation_response(invalid.problems)
            except DomainError as error:
                return error_response(error)
            except (BotoCoreError, ClientError, PynamoDBException):
                # An AWS service failed or throttled where no adapter expected it: the caller may retry, so this
                # is 503 (with the cause in the log), not a 500 that blames the request.
                logger.exception("a dependency failed", extra={"path": path})
                return error_response(Unavailable("a storage service did not answer; try again shortly"))

        def respond(request: Request, path_values: dict[str, str]) -> Response:
            response = answer(request, path_values)
            response.headers.update(headers or {})
            return response

        @functools.wraps(view)
        def handle(**path_values: str) -> Any:
            request = current_request(bp)
            recording.begin()
            try:
                response = respond(request, path_values)
            except Exception:
                recording.finish(request, path, path_values, 500, lambda: services().audit_trail)
                raise
            recording.finish(request, path, path_values, response.status_code, lambda: services().audit_trail)
            return response

        options: dict[str, Any] = {"methods": list(methods)}
        if not public:
            options["authorizer"] = keycloak
        if body is not None:
            # Any Content-Type reaches the wrapper, which answers a non-JSON one with 400 (Chalice would say 415).
            options["content_types"] = ["*/*"]
        bp.route(path, **options)(handle)
        return view

    return register


def serve(accessor: Callable[[], ApiContainer]) -> None:
    """Give the routes their container: the composition root calls this once, with its lazy accessor."""
    global _services
    _services = accessor


def services() -> ApiContainer:
    """The API container of this Lambda container."""
    if _services is None:
        raise RuntimeError("no API container: app.py wires one with routing.serve()")
    return _services()


def bind_request(request: Request) -> None:
    """Make request the one this thread is handling."""
    _request.set(request)


def current_request(bp: Blueprint) -> Request:
    """The request this thread is handling."""
    return _request.get(None) or bp.current_request


def principal(bp: Blueprint) -> Principal:
    """The caller, as the authorizer described it."""
    context = current_request(bp).context.get("authorizer") or {}
    return Principal.from_context(context)


def current_user() -> User:
    """The caller's account, as admitted for this request."""
    return _admitted.get()


def validation_response(problems: list[FieldProblem]) -> Response:
    """400 with every problem found."""
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    message = f"{first.field}: {first.problem}{more}" if first.field else f"{first.problem}{more}"
    payload = ValidationErrorBody(code="validation_error", message=message, errors=problems)
    return Response(body=payload.model_dump(mode="json"), status_code=400)


def _respond(result: Any, status: int) -> Response:
    if isinstance(result, tuple):
        result, status = result
    if result is None:
        return Response(body="", status_code=status)
    if isinstance(result, Response):
        return result
    return Response(
        body=result.model_dump(mode="json"), status_code=status, headers={"Content-Type": "application/json"}
    )


def _path_value(name: str, value: str) -> str:
    try:
        return str(PATH_PARAMETERS[name].validate_python(value))
    except pydantic.ValidationError:
        if name in _NOT_FOUND_WHEN_MALFORMED:
            raise NotFound(_NOT_FOUND_WHEN_MALFORMED[name]) from None
        raise InvalidInput([FieldProblem(field=name, problem="is not a valid identifier")]) from None


def _query_mapping(params: Any) -> dict[str, str]:
    if not params:
        return {}
    values: dict[str, str] = {}
    for name in params:
        given = params.getlist(name)
        if len(given) > 1:
            raise InvalidInput([FieldProblem(field=str(name), problem="given more than once")])
        values[str(name)] = str(given[0])
    return values


def _json_model(model: Model, content_type: str | None, raw: str | bytes | None) -> pydantic.BaseModel:
    media_type = (content_type or "application/json").split(";", 1)[0].strip().lower()
    if media_type not in _JSON_TYPES and not media_type.endswith("+json"):
        problem = "the body must be JSON (Content-Type: application/json)"
        raise InvalidInput([FieldProblem(field="body", problem=problem)])
    if not raw:
        raise InvalidInput([FieldProblem(field="body", problem="a JSON body is required")])
    try:
        return model.model_validate_json(raw)
    except pydantic.ValidationError as exc:
        unknown_fields_error = getattr(model, "unknown_fields_error", None)
        extra = [str(e["loc"][0]) for e in exc.errors() if e["type"] == "extra_forbidden" and len(e["loc"]) == 1]
        if unknown_fields_error is not None and extra:
            raise unknown_fields_error(f"field(s) not editable: {', '.join(sorted(extra))}") from None
        raise InvalidInput(_problems(exc, "body")) from None


def _validated(model: Model, data: Mapping[str, Any], where: str) -> pydantic.BaseModel:
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise InvalidInput(_problems(exc, where)) from None


_PROBLEMS_BY_TYPE = {
    "extra_forbidden": "is not a known field",
    "json_invalid": "the body is not valid JSON",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
}


def _problems(exc: pydantic.ValidationError, where: str) -> list[FieldProblem]:
    problems = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        field = ".".join(str(part) for part in error["loc"]) or where
        problem = _PROBLEMS_BY_TYPE.get(error["type"], error["msg"].removeprefix("Value error, "))
        if where == "query" and error["type"] == "extra_forbidden":
            problem = "is not a known query parameter"
        problems.append(FieldProblem(field=field, problem=problem))
    return problems
