"""The API's OpenAPI 3 document, served at /openapi.json (a test keeps it in step with the routes)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from functions.api.routing import route

bp = Blueprint(__name__)

_ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(status): {"description": description, "content": {"application/json": {"schema": _ERROR}}}
        for status, description in (
            (400, "Invalid input"),
            (401, "Missing, malformed, expired or forged token"),
            (403, "Not allowed for this role, or the account is suspended"),
            (404, "No such item, or not yours"),
            (409, "The item changed (stale version) or is not in a state that allows this"),
            (413, "Declared size above the limit"),
            (415, "Content type not accepted"),
            (422, "Asks to change a field that is not editable"),
            (503, "A service the vault depends on is unavailable"),
        )
        if status in statuses
    }


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema, "description": description}


_DATE = {"type": "string", "format": "date-time"}
_LISTING_PARAMETERS = [
    _query("type", {"type": "string", "enum": ["image", "video"]}, "only photos or only videos"),
    _query("status", {"type": "string", "enum": ["pending", "processing", "ready", "failed", "rejected"]}, "status"),
    _query("tag", {"type": "string"}, "items carrying this tag"),
    _query("q", {"type": "string"}, "text in filename, title or description (case-insensitive)"),
    _query("created_from", _DATE, "created at or after"),
    _query("created_to", _DATE, "created at or before"),
    _query("taken_from", _DATE, "taken at or after"),
    _query("taken_to", _DATE, "taken at or before"),
    _query("sort", {"type": "string", "enum": ["created", "taken"], "default": "created"}, "order by"),
    _query("order", {"type": "string", "enum": ["asc", "desc"], "default": "desc"}, "direction"),
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}, "page size"),
    _query("cursor", {"type": "string"}, "next_cursor of the previous page"),
]
_PAGE = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Media"}},
        "next_cursor": {"type": "string", "nullable": True},
    },
}
_MEDIA = {"application/json": {"schema": {"$ref": "#/components/schemas/Media"}}}
_TICKET = {"application/json": {"schema": {"$ref": "#/components/schemas/UploadTicket"}}}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_PARTS = {
    "type": "object",
    "properties": {
        "part_size": {"type": "integer"},
        "part_count": {"type": "integer"},
        "parts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "part_number": {"type": "integer"},
                    "etag": {"type": "string"},
                    "size": {"type": "integer"},
                    "url": {"type": "string", "format": "uri"},
                },
            },
        },
    },
}


DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "Media Vault API",
        "version": "0.1.0",
        "description": "Upload photos and videos through signed URLs; processing makes them viewable.",
    },
    "components": {
        "securitySchemes": {
            "keycloak": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (Keycloak access token)"}
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            },
            "UploadRequest": {
                "type": "object",
                "required": ["filename", "content_type", "size"],
                "additionalProperties": False,
                "properties": {
                    "filename": {"type": "string", "maxLength": 1024},
                    "content_type": {"type": "string", "example": "image/jpeg"},
                    "size": {"type": "integer", "minimum": 1},
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "enables dedup"},
                    "force": {"type": "boolean", "description": "upload even if a ready duplicate exists"},
                },
            },
            "UploadTicket": {
                "type": "object",
                "required": ["media_id", "upload"],
                "properties": {
                    "media_id": {"type": "string"},
                    "duplicate": {"type": "boolean", "description": "true: an identical ready item exists"},
                    "upload": {
                        "type": "object",
                        "nullable": True,
                        "properties": {
                            "method": {"type": "string", "enum": ["POST", "MULTIPART"]},
                            "part_size": {"type": "integer"},
                            "part_count": {"type": "integer"},
                            "url": {"type": "string", "format": "uri"},
                            "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                            "expires_at": {"type": "string", "format": "date-time"},
                        },
                    },
                },
            },
            "User": {
                "type": "object",
                "properties": {
                    "user_id": {"type": "string"},
                    "username": {"type": "string"},
                    "email": {"type": "string"},
                    "role": {"type": "string", "enum": ["user", "partner", "admin"]},
                    "partner_org": {"type": "string", "nullable": True},
                    "status": {"type": "string", "enum": ["active", "suspended"]},
                    "quota_bytes": {"type": "integer"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "last_seen_at": {"type": "string", "format": "date-time"},
                },
            },
            "Media": {
                "type": "object",
                "required": ["media_id", "status", "filename", "content_type", "size", "renditions"],
                "properties": {
                    "media_id": {"type": "string"},
                    "version": {"type": "integer", "description": "send it back with an edit (optimistic concurrency)"},
                    "kind": {"type": "string", "enum": ["image", "video"]},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "taken_at": {"type": "string", "nullable": True},
                    "location_visible": {"type": "boolean"},
                    "location": {"type": "object", "nullable": True},
                    "metadata": {"type": "object", "description": "EXIF / video facts found in processing"},
                    "placeholder": {"type": "string", "nullable": True, "description": "BlurHash"},
                    "flagged": {"type": "boolean", "description": "moderation score above the admin threshold"},
                    "moderation": {"type": "object", "nullable": True},
                    "ai_description": {"type": "object", "nullable": True},
                    "sha256": {"type": "string", "nullable": True},
                    "trashed_at": {"type": "string", "format": "date-time", "nullable": True},
                    "status": {"type": "string", "enum": ["pending", "processing", "ready", "failed", "rejected"]},
                    "filename": {"type": "string"},
                    "content_type": {"type": "string"},
                    "size": {"type": "integer"},
                    "width": {"type": "integer", "nullable": True},
                    "height": {"type": "integer", "nullable": True},
                    "failure_reason": {"type": "string", "nullable": True},
                    "created_at": {"type": "string", "format": "date-time"},
                    "updated_at": {"type": "string", "format": "date-time"},
                    "renditions": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "properties": {
                                "url": {"type": "string", "format": "uri"},
                                "width": {"type": "integer"},
                                "height": {"type": "integer"},
                                "content_type": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    },
    "security": [{"keycloak": []}],
    "paths": {
        "/health": {
            "get": {
                "summary": "Liveness",
                "security": [],
                "responses": {"200": {"description": "The API is up"}},
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3 document"}},
            }
        },
        "/me": {
            "get": {
                "summary": "The caller's account (created on first sight of the token's subject)",
                "responses": {
                    "200": {
                        "description": "The account",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}},
                    },
                    **_errors(401, 403),
                },
            }
        },
        "/media/{media_id}/describe": {
            "post": {
                "summary": "Ask for an AI description; it arrives asynchronously in ai_description",
                "parameters": [_path("media_id")],
                "responses": {"202": {"description": "Queued"}, **_errors(401, 403, 404, 409)},
            }
        },
        "/admin/settings": {
            "get": {
                "summary": "Pipeline settings (admin)",
                "responses": {"200": {"description": "Settings"}, **_errors(401, 403)},
            },
            "put": {
                "summary": "Change the moderation threshold and/or automatic descriptions (admin)",
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "moderation_threshold": {"type": "number", "minimum": 0, "maximum": 1},
                            "auto_describe": {"type": "boolean"},
                        },
                    }
                ),
                "responses": {"200": {"description": "Settings after the change"}, **_errors(400, 401, 403)},
            },
        },
        "/admin/users": {
            "get": {
                "summary": "Realm users with their vault account status (admin)",
                "parameters": [
                    {"name": "search", "in": "query", "schema": {"type": "string"}},
                    {"name": "first", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
                    {"name": "max", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                ],
                "responses": {
                    "200": {"description": "One page of users"},
                    **_errors(400, 401, 403, 503),
                },
            }
        },
        "/admin/users/{user_id}/role": {
            "put": {
                "summary": "Give a user one vault role in the realm; applies from their next token (admin)",
                "parameters": [_path("user_id")],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["role"],
                                "additionalProperties": False,
                                "properties": {
                                    "role": {"type": "string", "enum": ["user", "partner", "admin"]},
                                    "partner_org": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {"200": {"description": "The user after the change"}, **_errors(400, 401, 403, 404, 503)},
            }
        },
        "/admin/users/{user_id}/status": {
            "put": {
                "summary": "Suspend or reactivate an account (admin)",
                "parameters": [_path("user_id")],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["status"],
                                "additionalProperties": False,
                                "properties": {"status": {"type": "string", "enum": ["active", "suspended"]}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "The account after the change",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}},
                    },
                    **_errors(400, 401, 403, 404),
                },
            }
        },
        "/uploads": {
            "post": {
                "summary": "Declare a file and receive a presigned POST pinned to its key, type and size",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UploadRequest"}}},
                },
                "responses": {
                    "201": {"description": "Pending media item and how to upload it", "content": _TICKET},
                    "200": {"description": "Duplicate of a ready item (same sha256): no upload", "content": _TICKET},
                    **_errors(400, 401, 403, 413, 415),
                },
            }
        },
        "/uploads/{media_id}/parts": {
            "post": {
                "summary": "Presigned PUT URLs for multipart parts (at most 100 per call)",
                "parameters": [_path("media_id")],
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "required": ["part_numbers"],
                        "properties": {"part_numbers": {"type": "array", "items": {"type": "integer"}}},
                    }
                ),
                "responses": {
                    "200": {"description": "Part URLs", "content": {"application/json": {"schema": _PARTS}}},
                    **_errors(400, 401, 403, 404, 409),
                },
            },
            "get": {
                "summary": "Parts already uploaded (to resume an interrupted upload)",
                "parameters": [_path("media_id")],
                "responses": {
                    "200": {"description": "Uploaded parts", "content": {"application/json": {"schema": _PARTS}}},
                    **_errors(401, 403, 404, 409),
                },
            },
        },
        "/uploads/{media_id}/complete": {
            "post": {
                "summary": "Assemble the uploaded parts (every part, with its ETag)",
                "parameters": [_path("media_id")],
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "required": ["parts"],
                        "properties": {
                            "parts": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {"part_number": {"type": "integer"}, "etag": {"type": "string"}},
                                },
                            }
                        },
                    }
                ),
                "responses": {
                    "200": {"description": "The pending item", "content": _MEDIA},
                    **_errors(400, 401, 403, 404, 409),
                },
            }
        },
        "/uploads/{media_id}": {
            "delete": {
                "summary": "Abort an unfinished multipart upload",
                "parameters": [_path("media_id")],
                "responses": {"204": {"description": "Aborted"}, **_errors(401, 403, 404, 409)},
            }
        },
        "/media/{media_id}/versions": {
            "post": {
                "summary": "Upload a replacement original; the old one is kept as a version",
                "parameters": [_path("media_id")],
                "requestBody": _json_body({"$ref": "#/components/schemas/UploadRequest"}),
                "responses": {
                    "201": {"description": "How to upload the new version", "content": _TICKET},
                    **_errors(400, 401, 403, 404, 409, 413, 415),
                },
            },
            "get": {
                "summary": "Every stored version of the original, newest first",
                "parameters": [_path("media_id")],
                "responses": {"200": {"description": "Versions"}, **_errors(401, 403, 404)},
            },
        },
        "/media/{media_id}/versions/{version_id}/restore": {
            "post": {
                "summary": "Make an older version current again (it is reprocessed)",
                "parameters": [_path("media_id"), _path("version_id")],
                "responses": {
                    "200": {"description": "The pending item", "content": _MEDIA},
                    **_errors(400, 401, 403, 404, 409),
                },
            }
        },
        "/media": {
            "get": {
                "summary": "A page of the caller's media (not trashed)",
                "parameters": _LISTING_PARAMETERS,
                "responses": {
                    "200": {"description": "One page", "content": {"application/json": {"schema": _PAGE}}},
                    **_errors(400, 401, 403),
                },
            }
        },
        "/trash": {
            "get": {
                "summary": "A page of the caller's trashed media",
                "parameters": _LISTING_PARAMETERS,
                "responses": {
                    "200": {"description": "One page", "content": {"application/json": {"schema": _PAGE}}},
                    **_errors(400, 401, 403),
                },
            }
        },
        "/trash/{media_id}": {
            "delete": {
                "summary": "Delete a trashed item for good: every version of the original, every derivative",
                "parameters": [_path("media_id")],
                "responses": {"204": {"description": "Gone"}, **_errors(401, 403, 404, 409)},
            }
        },
        "/media/{media_id}/restore": {
            "post": {
                "summary": "Bring an item back from the trash",
                "parameters": [_path("media_id")],
                "responses": {"200": {"description": "The item", "content": _MEDIA}, **_errors(401, 403, 404, 409)},
            }
        },
        "/media/{media_id}/download": {
            "get": {
                "summary": "A short-lived URL that downloads the original under its filename",
                "parameters": [_path("media_id")],
                "responses": {
                    "200": {
                        "description": "Download link",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "url": {"type": "string", "format": "uri"},
                                        "filename": {"type": "string"},
                                        "expires_at": _DATE,
                                    },
                                }
                            }
                        },
                    },
                    **_errors(401, 403, 404, 409),
                },
            }
        },
        "/media/{media_id}": {
            "patch": {
                "summary": "Edit title, description, tags, taken-at override or location visibility",
                "parameters": [_path("media_id")],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["version"],
                                "additionalProperties": False,
                                "properties": {
                                    "version": {"type": "integer", "description": "the version the edit is based on"},
                                    "title": {"type": "string", "maxLength": 200},
                                    "description": {"type": "string", "maxLength": 5000},
                                    "tags": {"type": "array", "maxItems": 50, "items": {"type": "string"}},
                                    "taken_at": {"type": "string", "format": "date-time", "nullable": True},
                                    "location_visible": {"type": "boolean"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": {"description": "The item after the edit", "content": _MEDIA},
                    **_errors(400, 401, 403, 404, 409, 422),
                },
            },
            "delete": {
                "summary": "Move an item to the trash",
                "parameters": [_path("media_id")],
                "responses": {"204": {"description": "Trashed"}, **_errors(401, 403, 404)},
            },
            "get": {
                "summary": "One media item with short-lived rendition URLs",
                "parameters": [_path("media_id")],
                "responses": {
                    "200": {
                        "description": "The item",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Media"}}},
                    },
                    **_errors(401, 404),
                },
            },
        },
    },
}


@route(bp, "/openapi.json")
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document."""
    return DOCUMENT
