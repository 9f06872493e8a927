"""The API's OpenAPI 3.1 document, generated from the route table and its pydantic models, served at /openapi.json."""

from __future__ import annotations

import functools
from typing import Any

from chalice.app import Blueprint, Response
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from functions.api.models.common import PATH_DESCRIPTIONS, PATH_PARAMETERS, ErrorBody, ValidationErrorBody
from functions.api.routing import ROUTES, Model, RouteSpec, route

bp = Blueprint(__name__)

_REF = "#/components/schemas/{model}"
_ERROR_TEXT = {
    400: "Invalid input: the body, a query or a path parameter does not match the schema",
    401: "Missing, malformed, expired or forged token",
    403: "Not allowed for this role, or the account is suspended",
    404: "No such item, or not yours",
    409: "The item changed (stale version) or is not in a state that allows this",
    413: "Declared size above the limit, or over the quota",
    415: "Content type not accepted",
    422: "Asks to change a field that is not editable",
    429: "Too many attempts; retry after the Retry-After header's seconds",
    503: "A service the vault depends on is unavailable",
}
_SUCCESS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content"}


def _name(model: Model) -> str:
    return model.__name__


def _ref(model: Model) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: an absent parameter is the "null" of an optional field."""
    variants = schema.get("anyOf")
    if variants and any(v.get("type") == "null" for v in variants):
        rest = [v for v in variants if v.get("type") != "null"]
        others = {k: v for k, v in schema.items() if k != "anyOf"}
        schema = {**others, **(rest[0] if len(rest) == 1 else {"anyOf": rest})}
    if schema.get("default") is None:
        schema.pop("default", None)
    schema.pop("title", None)
    return schema


def _parameters(spec: RouteSpec, query_schemas: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": PATH_DESCRIPTIONS[name],
            "schema": PATH_PARAMETERS[name].json_schema(),
        }
        for name in spec.path_parameters
    ]
    if spec.query is not None:
        for name, schema in query_schemas[spec.query.__name__].get("properties", {}).items():
            cleaned = _without_null(dict(schema))
            description = cleaned.pop("description", None)
            parameter: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": cleaned}
            if description:
                parameter["description"] = description
            parameters.append(parameter)
    return parameters


def _responses(spec: RouteSpec) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status in (spec.status, *spec.other_statuses):
        entry: dict[str, Any] = {"description": _SUCCESS_TEXT.get(status, "OK")}
        if spec.response is not None:
            entry["content"] = {"application/json": {"schema": _ref(spec.response)}}
            entry["content"].update({kind: {"schema": {"type": "string"}} for kind in spec.text_types})
        elif status != 204:
            entry["content"] = {"application/json": {"schema": {"type": "object"}}}
        responses[str(status)] = entry
    statuses = set(spec.errors)
    if spec.body is not None or spec.query is not None or set(spec.path_parameters) - {"media_id"}:
        statuses.add(400)
    if spec.roles:
        statuses |= {401, 403}
    for status in sorted(statuses):
        schema = ValidationErrorBody if status == 400 else ErrorBody
        responses[str(status)] = {
            "description": _ERROR_TEXT[status],
            "content": {"application/json": {"schema": _ref(schema)}},
        }
    return responses


def _operation(spec: RouteSpec, query_schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": spec.name, "summary": spec.summary}
    if spec.description:
        operation["description"] = spec.description
    if spec.roles:
        operation["x-roles"] = sorted(role.value for role in spec.roles)
    else:
        operation["security"] = []
    parameters = _parameters(spec, query_schemas)
    if parameters:
        operation["parameters"] = parameters
    if spec.body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(spec.body)}}}
    operation["responses"] = _responses(spec)
    return operation


def build_document(routes: list[RouteSpec]) -> dict[str, Any]:
    """The OpenAPI document of routes."""
    inputs = {spec.body for spec in routes if spec.body} | {spec.query for spec in routes if spec.query}
    outputs: set[Model] = {spec.response for spec in routes if spec.response}
    outputs |= {ErrorBody, ValidationErrorBody}
    pairs: list[tuple[Model, JsonSchemaMode]] = [(m, "validation") for m in sorted(inputs, key=_name)]
    pairs += [(m, "serialization") for m in sorted(outputs, key=_name)]
    _, definitions = models_json_schema(pairs, ref_template=_REF)
    schemas: dict[str, Any] = definitions.get("$defs", {})
    # Query models become parameters, not schemas of their own.
    query_schemas = {m.__name__: schemas.pop(m.__name__) for m in {spec.query for spec in routes if spec.query}}
    paths: dict[str, dict[str, Any]] = {}
    for spec in routes:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, query_schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Media Vault API",
            "version": "0.2.0",
            "description": "Upload photos and videos through signed URLs; processing makes them viewable. "
            "Every error is JSON {code, message}; a 400 also lists the invalid fields.",
        },
        "servers": [{"url": "/"}],
        "security": [{"keycloak": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "keycloak": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (Keycloak access token)"}
            },
            "schemas": dict(sorted(schemas.items())),
        },
    }


@functools.cache
def document() -> dict[str, Any]:
    """The document of every registered route, built on first use (cold starts skip the schema work)."""
    return build_document(ROUTES)


@route(bp, "/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of this API."""
    return Response(body=document(), status_code=200, headers={"Content-Type": "application/json"})
