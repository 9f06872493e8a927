"""The typed boundary over HTTP: bad input of every shape answers 400 with the field named, never 500;
real responses match the generated OpenAPI document; cursors are signed and bound to owner and query."""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec

from app import api_services
from shared.adapters.dynamo.media_model import MediaModel
from tests.functional.conftest import ApiClient
from tests.functional.flows import ready_item
from tests.functional.test_api import UPLOAD
from tests.support.tokens import TokenFactory


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


def assert_invalid(response: Any, field: str | None = None) -> dict[str, Any]:
    """400 validation_error with a one-line message and the problems listed (naming field when given)."""
    assert response.status_code == 400, response.body
    data = body(response)
    assert set(data) == {"code", "message", "errors"}
    assert data["code"] == "validation_error"
    assert data["message"] and "\n" not in data["message"]
    assert all(set(problem) == {"field", "problem"} for problem in data["errors"])
    if field is not None:
        assert field in [problem["field"] for problem in data["errors"]], data
    return dict(data)


# --- bodies -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"{not json", "body"),
        (b"", "body"),
        (b"[1, 2]", "body"),
        (b'"a string"', "body"),
        (b"null", "body"),
        (b"[" * 5000 + b"]" * 5000, "body"),
        (b'{"filename": "a.jpg", "content_type": "image/jpeg", "size": NaN}', "size"),
        (b'{"filename": "a.jpg", "content_type": "image/jpeg", "size": Infinity}', "size"),
        (b'{"filename": "a.jpg", "content_type": "image/jpeg", "size": 1' + b"0" * 400 + b"}", "size"),
        (b'{"filename": "a.jpg", "content_type": "image/jpeg", "size": "5"}', "size"),
        (b'{"filename": "a.jpg", "content_type": "image/jpeg", "size": 5.5}', "size"),
        (b'{"filename": "a.jpg", "content_type": "image/jpeg", "size": true}', "size"),
        (b'{"filename": ["a.jpg"], "content_type": "image/jpeg", "size": 5}', "filename"),
        (b'{"filename": {"x": 1}, "content_type": "image/jpeg", "size": 5}', "filename"),
        (b'{"filename": "a.jpg", "content_type": "image/jpeg", "size": 5, "force": "yes"}', "force"),
        (b'{"filename": "a.jpg", "content_type": "image/jpeg", "size": 5, "sha256": "ABC"}', "sha256"),
        (b'{"filename": "a.jpg", "content_type": "image/jpeg", "size": 5, "owner_id": "x"}', "owner_id"),
        (b'{"filename": "   ", "content_type": "image/jpeg", "size": 5}', "filename"),
        (b'{"filename": "a.jpg", "content_type": "not a type", "size": 5}', "content_type"),
    ],
)
def test_bad_upload_bodies_answer_400_naming_the_field(
    api: ApiClient, tokens: TokenFactory, raw: bytes, field: str
) -> None:
    assert_invalid(api.call("POST", "/uploads", tokens.token("alice"), raw=raw), field)
    _ = (
        api_services().media_repository
    )  # building it binds the model to this test's table (a refused request never did)
    assert list(MediaModel.scan()) == []


def test_the_documented_filename_limit_is_enforced(api: ApiClient, tokens: TokenFactory) -> None:
    alice = tokens.token("alice")
    assert_invalid(api.call("POST", "/uploads", alice, {**UPLOAD, "filename": "a" * 5000 + ".jpg"}), "filename")
    accepted = api.call("POST", "/uploads", alice, {**UPLOAD, "filename": "猫 🐈.jpg", "sha256": "AB" * 32})
    assert accepted.status_code == 201, accepted.body
    item = MediaModel.get(body(accepted)["media_id"])
    assert (item.filename, item.sha256) == ("猫 🐈.jpg", "ab" * 32)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_body_that_is_not_json_answers_400(api: ApiClient, tokens: TokenFactory, content_type: str) -> None:
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {tokens.token('alice')}"}
    response = api.request("POST", "/uploads", headers=headers, body=json.dumps(UPLOAD).encode())
    assert_invalid(response, "body")


@pytest.mark.parametrize(
    "payload",
    [
        {"part_numbers": []},
        {"part_numbers": "1"},
        {"part_numbers": [True]},
        {"part_numbers": [1.0]},
        {"part_numbers": [2**70]},
        {"part_numbers": [[1]]},
        {"part_numbers": list(range(1, 102))},
        {"parts": [1]},
    ],
)
def test_bad_part_requests_answer_400(api: ApiClient, tokens: TokenFactory, payload: Any) -> None:
    alice = tokens.token("alice")
    media_id = body(api.call("POST", "/uploads", alice, {**UPLOAD, "content_type": "video/mp4", "size": 100 << 20}))[
        "media_id"
    ]
    assert_invalid(api.call("POST", f"/uploads/{media_id}/parts", alice, payload))


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"parts": "all"}, "parts"),
        ({"parts": [{"part_number": "1", "etag": "x"}]}, "parts.0.part_number"),
        ({"parts": [{"part_number": 1, "etag": 7}]}, "parts.0.etag"),
        ({"parts": [{"part_number": 1, "etag": "x", "size": 1}]}, "parts.0.size"),
        ({"parts": [{"part_number": 0, "etag": "x"}]}, "parts.0.part_number"),
        ({"parts": []}, "parts"),
    ],
)
def test_bad_completions_answer_400(api: ApiClient, tokens: TokenFactory, payload: Any, field: str) -> None:
    alice = tokens.token("alice")
    media_id = body(api.call("POST", "/uploads", alice, {**UPLOAD, "content_type": "video/mp4", "size": 100 << 20}))[
        "media_id"
    ]
    assert_invalid(api.call("POST", f"/uploads/{media_id}/complete", alice, payload), field)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"version": "0", "title": "x"}, "version"),
        ({"version": 2**80, "title": "x"}, "version"),
        ({"version": -1, "title": "x"}, "version"),
        ({"version": 0, "taken_at": "9999-12-31T23:59:59-23:59"}, "taken_at"),
        ({"version": 0, "taken_at": "0001-01-01"}, "taken_at"),
        ({"version": 0, "taken_at": ["2020-01-01"]}, "taken_at"),
        ({"version": 0, "tags": [["nested"]]}, "tags.0"),
        ({"version": 0, "tags": ["x" * 51]}, "tags.0"),
        ({"version": 0, "tags": ["t"] * 51}, "tags"),
        ({"version": 0, "description": "d" * 5001}, "description"),
        ({"version": 0, "location_visible": 1}, "location_visible"),
    ],
)
def test_bad_edits_answer_400_and_change_nothing(
    api: ApiClient, tokens: TokenFactory, payload: Any, field: str
) -> None:
    alice = tokens.token("alice")
    media_id = body(api.call("POST", "/uploads", alice, UPLOAD))["media_id"]
    assert_invalid(api.call("PATCH", f"/media/{media_id}", alice, payload), field)
    assert MediaModel.get(media_id).revision == 0


def test_a_non_editable_field_is_still_422(api: ApiClient, tokens: TokenFactory) -> None:
    alice = tokens.token("alice")
    media_id = body(api.call("POST", "/uploads", alice, UPLOAD))["media_id"]
    response = api.call("PATCH", f"/media/{media_id}", alice, {"version": 0, "status": "ready", "size": 1})
    assert response.status_code == 422
    assert body(response) == {"code": "unprocessable", "message": "field(s) not editable: size, status"}


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/admin/users/user-bob/status", {"status": None}, "status"),
        ("/admin/users/user-bob/status", {"status": ["active"]}, "status"),
        ("/admin/users/user-bob/role", {"role": ["admin"]}, "role"),
        ("/admin/users/user-bob/role", {"role": "user", "partner_org": {"a": 1}}, "partner_org"),
        ("/admin/users/bad%20id/status", {"status": "active"}, "user_id"),
    ],
)
def test_bad_admin_bodies_answer_400(api: ApiClient, tokens: TokenFactory, path: str, payload: Any, field: str) -> None:
    assert_invalid(api.call("PUT", path, tokens.token("ada"), payload), field)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"version": 0, "moderation_threshold": NaN}', "moderation_threshold"),
        (b'{"version": 0, "moderation_threshold": Infinity}', "moderation_threshold"),
        (b'{"version": 0, "moderation_threshold": 1e400}', "moderation_threshold"),
        (b'{"version": 0, "moderation_threshold": "0.5"}', "moderation_threshold"),
        (b'{"version": 0, "moderation_threshold": 2}', "moderation_threshold"),
        (b'{"version": 0, "auto_describe": "true"}', "auto_describe"),
        (b'{"version": 0}', "body"),
        (b'{"moderation_threshold": 0.5}', "version"),
    ],
)
def test_bad_settings_answer_400_and_keep_the_settings(
    api: ApiClient, tokens: TokenFactory, raw: bytes, field: str
) -> None:
    ada = tokens.token("ada")
    assert_invalid(api.call("PUT", "/admin/settings", ada, raw=raw), field)
    kept = body(api.call("GET", "/admin/settings", ada))
    assert (kept["version"], kept["moderation_threshold"], kept["auto_describe"]) == (0, 0.6, True)
    changed = body(api.call("PUT", "/admin/settings", ada, {"version": 0, "moderation_threshold": 1}))
    assert (changed["version"], changed["moderation_threshold"], changed["auto_describe"]) == (1, 1.0, True)


# --- query strings and paths ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("created_from=9999-12-31T23:59:59-23:59", "created_from"),
        ("created_to=0001-01-01T00:00:00%2B23:59", "created_to"),
        ("created_from=2024-13-45", "created_from"),
        ("taken_from=" + "2" * 5000, "taken_from"),
        ("taken_to=%00", "taken_to"),
        ("limit=" + "9" * 40, "limit"),
        ("limit=1.5", "limit"),
        ("limit=", "limit"),
        ("limit=%EF%BC%95", "limit"),
        ("tag=a&tag=b", "tag"),
        ("q=" + "x" * 201, "q"),
        ("type=image&type=video", "type"),
        ("cursor=" + "A" * 3000, "cursor"),
        ("sort=created&colour=red", "colour"),
    ],
)
def test_bad_listing_queries_answer_400(api: ApiClient, tokens: TokenFactory, query: str, field: str) -> None:
    assert_invalid(api.call("GET", f"/media?{query}", tokens.token("alice")), field)


def test_unicode_filters_are_plain_text(api: ApiClient, tokens: TokenFactory) -> None:
    response = api.call("GET", f"/media?q={quote('😀 ∑ ñ')}&tag={quote('étoile')}", tokens.token("alice"))
    assert response.status_code == 200, response.body
    assert body(response) == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("media_id", ["x", "F" * 32, "0" * 31, "0" * 33, "0" * 5000, "..%2F..%2Fetc", "%E2%98%83" * 11])
def test_a_malformed_media_id_is_not_found(api: ApiClient, tokens: TokenFactory, media_id: str) -> None:
    response = api.call("GET", f"/media/{media_id}", tokens.token("alice"))
    unknown = api.call("GET", "/media/ffffffffffffffffffffffffffffffff", tokens.token("alice"))
    assert response.status_code == 404, response.body
    assert body(response) == body(unknown)


# --- cursors ---------------------------------------------------------------------------------------------------


@pytest.fixture
def first_page(api: ApiClient, tokens: TokenFactory) -> str:
    """alice has three items; the cursor after the first of them (newest first)."""
    alice = tokens.token("alice")
    for _ in range(3):
        api.call("POST", "/uploads", alice, UPLOAD)
    cursor = body(api.call("GET", "/media?limit=1&status=pending", alice))["next_cursor"]
    assert cursor
    return str(cursor)


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


def _forged(owner: str) -> str:
    position = {"owner_id": owner, "media_id": "0" * 32, "created_at": "2020-01-01T00:00:00.000000+0000"}
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def test_a_cursor_continues_only_its_own_listing(api: ApiClient, tokens: TokenFactory, first_page: str) -> None:
    alice, bob = tokens.token("alice"), tokens.token("bob")
    second = api.call("GET", f"/media?limit=1&status=pending&cursor={first_page}", alice)
    assert second.status_code == 200 and len(body(second)["items"]) == 1
    payload, _, signature = first_page.partition(".")
    for cursor in (
        _forged("user-alice"),
        f"{_forged('user-alice')}.{signature}",
        _flip(first_page, 3),
        _flip(first_page, len(first_page) - 2),
        first_page[:-5],
        payload,
        f"{payload}.",
        ".",
        "%%%",
    ):
        assert_invalid(api.call("GET", f"/media?limit=1&status=pending&cursor={quote(cursor)}", alice), "cursor")
    for other_query in ("limit=1", "limit=1&status=ready", "limit=1&status=pending&order=asc", "limit=1&q=cat"):
        assert_invalid(api.call("GET", f"/media?{other_query}&cursor={first_page}", alice), "cursor")
    assert_invalid(api.call("GET", f"/trash?limit=1&status=pending&cursor={first_page}", alice), "cursor")
    assert_invalid(api.call("GET", f"/media?limit=1&status=pending&cursor={first_page}", bob), "cursor")
    # The page size is not part of the query: a client may change it between pages.
    assert api.call("GET", f"/media?limit=5&status=pending&cursor={first_page}", alice).status_code == 200


# --- responses match the generated document ---------------------------------------------------------------


def _operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    bare = path.split("?", 1)[0]
    for template, operations in document["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), bare) and method.lower() in operations:
            return dict(operations[method.lower()])
    raise AssertionError(f"{method} {bare} is not in the document")


def test_real_responses_match_the_generated_document(
    api: ApiClient, tokens: TokenFactory, s3: Any, sqs: Any, aws: dict[str, str]
) -> None:
    document = body(api.call("GET", "/openapi.json"))
    validate_spec(document)
    checked: list[tuple[str, str, int]] = []

    def call(method: str, path: str, token: str | None, payload: Any = None) -> Any:
        response = api.call(method, path, token, payload)
        responses = _operation(document, method, path)["responses"]
        assert str(response.status_code) in responses, f"{method} {path} answered undocumented {response.status_code}"
        content = responses[str(response.status_code)].get("content")
        if content is None:
            assert not response.body
        else:
            schema = {**content["application/json"]["schema"], "components": document["components"]}
            errors = list(Draft202012Validator(schema).iter_errors(body(response)))
            assert not errors, f"{method} {path}: {errors[0].message}"
        checked.append((method, path, response.status_code))
        return body(response)

    alice, ada = tokens.token("alice"), tokens.token("ada")
    call("GET", "/health", None)
    call("GET", "/me", alice)
    photo = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], alice)
    item = call("GET", f"/media/{photo}", alice)
    assert item["renditions"] and item["metadata"] is not None
    call("PATCH", f"/media/{photo}", alice, {"version": 0, "title": "t", "tags": ["a"], "location_visible": True})
    call("PATCH", f"/media/{photo}", alice, {"version": 0, "title": "stale"})
    call("GET", "/media?limit=1", alice)
    call("GET", "/media?limit=1&cursor=nope", alice)
    call("GET", f"/media/{photo}/download", alice)
    call("GET", f"/media/{photo}/versions", alice)
    call("POST", f"/media/{photo}/describe", alice)
    call("POST", "/uploads", alice, UPLOAD)
    large = call("POST", "/uploads", alice, {**UPLOAD, "content_type": "video/mp4", "size": 100 << 20})
    call("POST", f"/uploads/{large['media_id']}/parts", alice, {"part_numbers": [1, 2]})
    call("GET", f"/uploads/{large['media_id']}/parts", alice)
    call("DELETE", f"/uploads/{large['media_id']}", alice)
    call("DELETE", f"/media/{photo}", alice)
    call("GET", "/trash", alice)
    call("POST", f"/media/{photo}/restore", alice)
    call("POST", f"/media/{photo}/versions", alice, {"content_type": "image/jpeg", "size": 10})
    call("GET", "/media/ffffffffffffffffffffffffffffffff", alice)
    call("GET", "/admin/settings", ada)
    call("PUT", "/admin/settings", ada, {"version": 0, "auto_describe": False})
    call("PUT", "/admin/users/user-alice/status", ada, {"status": "active"})
    call("GET", "/admin/users", ada)
    call("GET", "/admin/settings", alice)
    assert {status for _, _, status in checked} >= {200, 201, 202, 204, 400, 403, 404, 409, 503}
