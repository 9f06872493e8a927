"""Admin settings: validated, versioned changes with a history, applied to uploads and quotas without a redeploy."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.dynamo.settings import SettingsModel
from tests.functional.conftest import ApiClient
from tests.functional.test_api import assert_error
from tests.support.tokens import TokenFactory

PHOTO = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 5000}


def body(response: Any) -> Any:
    return json.loads(response.body)


def change(api: ApiClient, token: str, version: int, method: str = "PUT", **values: Any) -> Any:
    return api.call(method, "/admin/settings", token, {"version": version, **values})


def stored_items() -> list[dict[str, Any]]:
    return sorted((dict(m.attribute_values) for m in SettingsModel.scan()), key=lambda item: str(item["name"]))


def test_an_untouched_install_has_the_environments_settings(api: ApiClient, tokens: TokenFactory) -> None:
    settings = body(api.call("GET", "/admin/settings", tokens.token("ada")))
    assert settings["version"] == 0
    assert "video/mp4" in settings["allowed_content_types"]
    assert (settings["description_provider"], settings["trash_retention_days"]) == ("offline", 30)
    assert settings["default_quota_bytes"] == 10 * 1024**3


def test_a_type_the_admin_removed_is_refused_at_upload(api: ApiClient, tokens: TokenFactory) -> None:
    ada, alice = tokens.token("ada"), tokens.token("alice")
    video = {"filename": "a.mp4", "content_type": "video/mp4", "size": 5000}
    assert api.call("POST", "/uploads", alice, video).status_code == 201
    changed = change(api, ada, 0, allowed_content_types=["image/jpeg", "image/png"])
    assert changed.status_code == 200, changed.body
    assert body(changed)["allowed_content_types"] == ["image/jpeg", "image/png"]
    # The API reports an unaccepted type as 415 unsupported_media_type (as before: the status is the type's).
    assert_error(api.call("POST", "/uploads", alice, video), 415, "unsupported_media_type")
    assert api.call("POST", "/uploads", alice, PHOTO).status_code == 201


def test_a_smaller_image_limit_applies_at_once(api: ApiClient, tokens: TokenFactory) -> None:
    ada, alice = tokens.token("ada"), tokens.token("alice")
    assert change(api, ada, 0, max_image_bytes=4000).status_code == 200
    assert_error(api.call("POST", "/uploads", alice, PHOTO), 413, "payload_too_large")


def test_a_stale_version_is_refused_and_writes_nothing(api: ApiClient, tokens: TokenFactory) -> None:
    ada = tokens.token("ada")
    assert change(api, ada, 0, moderation_threshold=0.5).status_code == 200
    before = stored_items()
    assert_error(change(api, ada, 0, auto_describe=False), 409, "conflict")
    assert_error(change(api, ada, 7, auto_describe=False, method="PATCH"), 409, "conflict")
    assert stored_items() == before
    settings = body(api.call("GET", "/admin/settings", ada))
    assert (settings["version"], settings["auto_describe"], settings["moderation_threshold"]) == (1, True, 0.5)


def test_history_shows_old_and_new_values_who_and_when_newest_first(api: ApiClient, tokens: TokenFactory) -> None:
    ada = tokens.token("ada")
    assert body(api.call("GET", "/admin/settings/history", ada)) == {"changes": [], "next_cursor": None}
    assert change(api, ada, 0, moderation_threshold=0.3, auto_describe=False).status_code == 200
    assert change(api, ada, 1, trash_retention_days=7, method="PATCH").status_code == 200
    assert change(api, ada, 2, description_provider="bedrock").status_code == 200
    # Setting what is already set is no change: no version, no history entry.
    unchanged = change(api, ada, 3, description_provider="bedrock")
    assert body(unchanged)["version"] == 3

    first = body(api.call("GET", "/admin/settings/history?limit=2", ada))
    assert [c["version"] for c in first["changes"]] == [3, 2]
    assert first["changes"][0]["changes"] == {"description_provider": {"old": "offline", "new": "bedrock"}}
    assert first["changes"][1]["changes"] == {"trash_retention_days": {"old": 30, "new": 7}}
    assert first["changes"][0]["changed_by"] == {"user_id": "user-ada", "username": "ada"}
    changed_at = datetime.fromisoformat(first["changes"][0]["changed_at"])
    assert timedelta(0) <= datetime.now(UTC) - changed_at < timedelta(minutes=1)
    rest = body(api.call("GET", f"/admin/settings/history?limit=2&cursor={first['next_cursor']}", ada))
    assert [c["version"] for c in rest["changes"]] == [1]
    assert rest["changes"][0]["changes"] == {
        "moderation_threshold": {"old": 0.6, "new": 0.3},
        "auto_describe": {"old": True, "new": False},
    }
    assert rest["next_cursor"] is None
    assert_error(api.call("GET", "/admin/settings/history?cursor=abc", ada), 400, "validation_error")


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("GET", "/admin/settings", None),
        ("PUT", "/admin/settings", {"version": 0, "auto_describe": False}),
        ("PATCH", "/admin/settings", {"version": 0, "auto_describe": False}),
        ("GET", "/admin/settings/history", None),
        ("PUT", "/admin/users/user-alice/quota", {"quota_bytes": 1}),
    ],
)
def test_only_admins_see_or_change_settings(
    api: ApiClient, tokens: TokenFactory, method: str, path: str, payload: Any
) -> None:
    assert_error(api.call(method, path, None, payload), 401, "unauthorized")
    for who in ("alice", "pat"):
        assert_error(api.call(method, path, tokens.token(who), payload), 403, "forbidden")
    assert stored_items() == []


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"moderation_threshold": 1.5}, "moderation_threshold"),
        ({"allowed_content_types": []}, "allowed_content_types"),
        ({"allowed_content_types": ["application/pdf"]}, "allowed_content_types"),
        ({"max_image_bytes": 0}, "max_image_bytes"),
        ({"max_upload_bytes": 10 * 1024**4}, "max_upload_bytes"),
        ({"default_quota_bytes": -1}, "default_quota_bytes"),
        ({"trash_retention_days": 0}, "trash_retention_days"),
        ({"trash_retention_days": 3651}, "trash_retention_days"),
        ({"description_provider": "gpt"}, "description_provider"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_invalid_settings_answer_400_naming_the_field(
    api: ApiClient, tokens: TokenFactory, values: dict[str, Any], field: str
) -> None:
    response = change(api, tokens.token("ada"), 0, **values)
    assert_error(response, 400, "validation_error")
    assert field in [problem["field"] for problem in body(response)["errors"]], response.body
    assert stored_items() == []


def test_a_quota_override_lets_one_user_past_the_default(api: ApiClient, tokens: TokenFactory) -> None:
    ada, alice, bob = tokens.token("ada"), tokens.token("alice"), tokens.token("bob")
    for token in (alice, bob):
        assert api.call("GET", "/me", token).status_code == 200
    assert change(api, ada, 0, default_quota_bytes=4000).status_code == 200
    assert body(api.call("GET", "/me", bob))["quota_bytes"] == 4000
    raised = api.call("PUT", "/admin/users/user-alice/quota", ada, {"quota_bytes": 100_000})
    assert raised.status_code == 200, raised.body
    assert body(raised)["quota_bytes"] == 100_000

    assert api.call("POST", "/uploads", alice, PHOTO).status_code == 201
    assert_error(api.call("POST", "/uploads", bob, PHOTO), 413, "quota_exceeded")

    back = api.call("PUT", "/admin/users/user-alice/quota", ada, {"quota_bytes": None})
    assert body(back)["quota_bytes"] == 4000
    assert_error(api.call("POST", "/uploads", alice, PHOTO), 413, "quota_exceeded")


def test_a_quota_override_needs_an_account_and_a_sane_size(api: ApiClient, tokens: TokenFactory) -> None:
    ada = tokens.token("ada")
    assert_error(api.call("PUT", "/admin/users/user-nobody/quota", ada, {"quota_bytes": 10}), 404, "not_found")
    for bad in ({"quota_bytes": 0}, {"quota_bytes": "10"}, {}):
        response = api.call("PUT", "/admin/users/user-ada/quota", ada, bad)
        assert_error(response, 400, "validation_error")
        assert "quota_bytes" in [problem["field"] for problem in body(response)["errors"]], response.body
