"""The HTTP API in-process: per route, no token, bad token, bad input, another user's item, happy path."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from pynamodb.exceptions import DoesNotExist

from app import app
from shared.adapters.dynamo.media_model import MediaModel
from tests.functional.conftest import ApiClient
from tests.support.tokens import TokenFactory

UPLOAD = {"filename": "cat.jpg", "content_type": "image/jpeg", "size": 48213}


def body(response: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(response.body)
    return data


def assert_error(response: Any, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.body
    data = body(response)
    # A 400 also lists the invalid fields; every other error is exactly {code, message}.
    assert set(data) == ({"code", "message", "errors"} if status == 400 else {"code", "message"})
    assert data["message"]
    if code:
        assert data["code"] == code


def test_health_needs_no_token(api: ApiClient) -> None:
    response = api.call("GET", "/health")
    assert response.status_code == 200
    assert body(response) == {"status": "ok"}


def test_unknown_route_answers_like_api_gateway(api: ApiClient) -> None:
    assert_error(api.call("GET", "/nope"), 403, "unknown_route")


def test_openapi_document_and_app_routes_match_exactly(api: ApiClient) -> None:
    response = api.call("GET", "/openapi.json")
    assert response.status_code == 200
    served = body(response)
    assert served["openapi"] == "3.1.0"
    documented = {(path, method.upper()) for path, ops in served["paths"].items() for method in ops}
    registered = {(path, method) for path, methods in app.routes.items() for method in methods}
    assert documented == registered


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [("POST", "/uploads", UPLOAD), ("GET", "/media/0f8fad5bd9cb469fa16570867728950e", None)],
)
def test_protected_routes_refuse_missing_and_invalid_tokens(
    api: ApiClient, method: str, path: str, payload: Any
) -> None:
    assert_error(api.call(method, path, body=payload), 401, "unauthorized")
    assert_error(api.call(method, path, token="not-a-jwt", body=payload), 401, "unauthorized")
    assert_error(api.call(method, path, token=TokenFactory().token(), body=payload), 401, "unauthorized")
    assert_error(api.request(method, path, headers={"Authorization": "Basic YWxpY2U6YWxpY2U="}), 401, "unauthorized")


def test_create_upload_returns_a_pinned_presigned_post_and_a_pending_item(api: ApiClient, tokens: TokenFactory) -> None:
    response = api.call("POST", "/uploads", tokens.token("alice"), UPLOAD)
    assert response.status_code == 201, response.body
    data = body(response)
    upload = data["upload"]
    assert upload["method"] == "POST"
    fields = upload["fields"]
    assert fields["key"] == f"originals/user-alice/{data['media_id']}"
    assert fields["Content-Type"] == "image/jpeg"
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", 1, UPLOAD["size"]] in policy["conditions"]
    assert {"Content-Type": "image/jpeg"} in policy["conditions"]
    assert {"key": fields["key"]} in policy["conditions"]
    record = MediaModel.get(data["media_id"])
    assert (record.status, record.owner_id, record.size, record.filename) == ("pending", "user-alice", 48213, "cat.jpg")


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"filename": "a.jpg", "content_type": "image/jpeg"}, 400, "validation_error"),
        ({"filename": "a.jpg", "content_type": "image/jpeg", "size": 0}, 400, "validation_error"),
        ({"filename": "a.jpg", "content_type": "image/jpeg", "size": -1}, 400, "validation_error"),
        ({"filename": "a.html", "content_type": "text/html", "size": 10}, 415, "unsupported_media_type"),
        ({"filename": "a.jpg", "content_type": "image/jpeg", "size": 10**12}, 413, "payload_too_large"),
        ({**UPLOAD, "key": "originals/user-bob/x"}, 400, "validation_error"),
        ([1, 2], 400, "validation_error"),
    ],
)
def test_bad_upload_declarations_get_4xx_and_store_nothing(
    api: ApiClient, tokens: TokenFactory, payload: Any, status: int, code: str
) -> None:
    assert_error(api.call("POST", "/uploads", tokens.token(), payload), status, code)
    assert list(MediaModel.scan()) == []


def test_malformed_json_and_empty_body_get_400(api: ApiClient, tokens: TokenFactory) -> None:
    assert_error(api.call("POST", "/uploads", tokens.token(), raw=b"{not json"), 400, "validation_error")
    assert_error(api.call("POST", "/uploads", tokens.token(), raw=b""), 400, "validation_error")


def test_a_method_the_route_does_not_declare_is_a_missing_token_as_on_api_gateway(
    api: ApiClient, tokens: TokenFactory
) -> None:
    for method in ("DELETE", "TRACE", "QUERY"):
        response = api.call(method, "/uploads", tokens.token())
        assert response.status_code == 403
        assert json.loads(response.body)["message"] == "Missing Authentication Token"


def test_get_media_own_item_others_and_unknown(api: ApiClient, tokens: TokenFactory) -> None:
    media_id = body(api.call("POST", "/uploads", tokens.token("alice"), UPLOAD))["media_id"]
    own = api.call("GET", f"/media/{media_id}", tokens.token("alice"))
    assert own.status_code == 200
    item = body(own)
    assert item["media_id"] == media_id
    assert item["status"] == "pending"
    assert (item["filename"], item["content_type"], item["size"]) == ("cat.jpg", "image/jpeg", 48213)
    assert item["renditions"] == {}
    other = api.call("GET", f"/media/{media_id}", tokens.token("bob"))
    unknown = api.call("GET", "/media/ffffffffffffffffffffffffffffffff", tokens.token("alice"))
    assert_error(other, 404, "not_found")
    assert_error(unknown, 404, "not_found")
    assert body(other) == body(unknown)
    assert api.call("GET", f"/media/{media_id}", tokens.token("ada")).status_code == 200
    with pytest.raises(DoesNotExist):
        MediaModel.get("ffffffffffffffffffffffffffffffff")


def test_a_failing_aws_service_answers_503_not_500(
    api: ApiClient, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError
    from pynamodb.exceptions import GetError

    from shared.adapters.dynamo.media_model import MediaModel
    from shared.adapters.storage import S3Storage

    alice = tokens.token("alice")

    def throttled(*_args: Any, **_kwargs: Any) -> Any:
        raise GetError("throttled", cause=ClientError({"Error": {"Code": "ThrottlingException"}}, "GetItem"))

    def batch_throttled(*_args: Any, **_kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException"}}, "BatchGetItem")

    # An owner's or grantee's read (the item and their grants in one batch) and an admin's (the item alone).
    monkeypatch.setattr(MediaModel, "get", throttled)
    monkeypatch.setattr("shared.adapters.dynamo.access._batch_get", batch_throttled)
    assert_error(api.call("GET", f"/media/{'a' * 32}", alice), 503, "unavailable")
    assert_error(api.call("GET", f"/media/{'a' * 32}", tokens.token("ada")), 503, "unavailable")

    def unreachable(*_args: Any, **_kwargs: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    monkeypatch.setattr(S3Storage, "presign_post", unreachable)
    declared = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}
    assert_error(api.call("POST", "/uploads", alice, declared), 503, "unavailable")
    from shared.adapters.dynamo.users import UserModel

    # Nothing half-written: the reservation the request made was given back, and no item was recorded.
    assert int(UserModel.get("user-alice").reserved_bytes or 0) == 0
    assert json.loads(api.call("GET", "/media?status=pending", alice).body)["items"] == []
