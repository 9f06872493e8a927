"""After processing: moderation, flagging above the admin threshold, and AI descriptions (offline provider)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image

from app import analyzer, analyzer_services, api_services
from functions.containers.jobs import AnalyzerContainer
from shared.config import Settings
from tests.functional.conftest import ApiClient, fresh_containers
from tests.functional.flows import drain, upload
from tests.functional.test_api import assert_error
from tests.support.images import jpeg_bytes
from tests.support.tokens import TokenFactory
from tests.unit.test_metadata import camera_exif


def body(response: Any) -> Any:
    return json.loads(response.body)


def process_and_analyze(api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], token: str) -> str:
    media_id = upload(api, s3, token, jpeg_bytes(900, 600))
    assert drain(sqs, aws["PROCESSING_QUEUE_URL"]) == {"batchItemFailures": []}
    assert drain(sqs, aws["ANALYSIS_QUEUE_URL"], analyzer) == {"batchItemFailures": []}
    return media_id


def test_a_ready_photo_is_moderated_and_described(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    alice = tokens.token("alice")
    item = body(api.call("GET", f"/media/{process_and_analyze(api, s3, sqs, aws, alice)}", alice))
    assert item["moderation"]["provider"].startswith("nudenet")
    assert item["moderation"]["score"] < 0.2
    assert item["flagged"] is False
    description = item["ai_description"]
    assert (description["status"], description["provider"]) == ("ready", "offline")
    assert "landscape" in description["text"].lower()


def test_the_admin_threshold_decides_what_is_flagged(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    ada, alice = tokens.token("ada"), tokens.token("alice")
    current = body(api.call("GET", "/admin/settings", ada))
    assert (current["version"], current["moderation_threshold"], current["auto_describe"]) == (0, 0.6, True)
    assert_error(
        api.call("PUT", "/admin/settings", alice, {"version": 0, "moderation_threshold": 0.0}), 403, "forbidden"
    )
    for bad in ({"moderation_threshold": 2}, {"moderation_threshold": "low"}, {"auto_describe": 1}, {"x": 1}, {}):
        assert_error(api.call("PUT", "/admin/settings", ada, {"version": 0, **bad}), 400, "validation_error")
    changed = body(
        api.call("PUT", "/admin/settings", ada, {"version": 0, "moderation_threshold": 0.0, "auto_describe": False})
    )
    assert (changed["version"], changed["moderation_threshold"], changed["auto_describe"]) == (1, 0.0, False)
    fresh_containers()  # a new container reads the new settings at once (others within their cache time)
    item = body(api.call("GET", f"/media/{process_and_analyze(api, s3, sqs, aws, alice)}", alice))
    assert item["flagged"] is True
    assert item["ai_description"] is None  # auto descriptions are off


def test_describe_on_demand(api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory) -> None:
    alice = tokens.token("alice")
    media_id = process_and_analyze(api, s3, sqs, aws, alice)
    assert_error(api.call("POST", f"/media/{media_id}/describe", tokens.token("bob")), 404, "not_found")
    assert_error(api.call("POST", f"/media/{media_id}/describe", None), 401, "unauthorized")
    queued = api.call("POST", f"/media/{media_id}/describe", alice)
    assert queued.status_code == 202
    assert body(queued)["ai_description"]["status"] == "pending"
    assert body(api.call("GET", f"/media/{media_id}", alice))["ai_description"]["status"] == "pending"
    drain(sqs, aws["ANALYSIS_QUEUE_URL"], analyzer)
    assert body(api.call("GET", f"/media/{media_id}", alice))["ai_description"]["status"] == "ready"
    pending = body(api.call("POST", "/uploads", alice, {"filename": "a.jpg", "content_type": "image/jpeg", "size": 9}))
    assert_error(api.call("POST", f"/media/{pending['media_id']}/describe", alice), 409, "conflict")


def test_a_new_threshold_reaches_descriptions_without_a_new_container(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    """Flagging and the description's wording follow the same, current threshold (the analyzer is not rebuilt)."""
    # The analyzer reads the store the admin writes through: in AWS it sees the change once its 30 s cache ends.
    analyzer_services.replace(AnalyzerContainer(Settings.from_env(), settings_store=api_services().settings_store))
    ada, alice = tokens.token("ada"), tokens.token("alice")
    media_id = process_and_analyze(api, s3, sqs, aws, alice)
    before = body(api.call("GET", f"/media/{media_id}", alice))
    assert before["flagged"] is False
    assert "sensitive" not in before["ai_description"]["text"]
    assert api.call("PUT", "/admin/settings", ada, {"version": 0, "moderation_threshold": 0.0}).status_code == 200
    assert api.call("POST", f"/media/{media_id}/describe", alice).status_code == 202
    drain(sqs, aws["ANALYSIS_QUEUE_URL"], analyzer)
    assert (
        "flagged as possibly sensitive" in body(api.call("GET", f"/media/{media_id}", alice))["ai_description"]["text"]
    )


def test_the_description_states_the_place_only_while_the_owner_shows_the_location(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    alice = tokens.token("alice")
    source = Image.new("RGB", (900, 600), (40, 120, 200))
    out = io.BytesIO()
    source.save(out, "JPEG", exif=camera_exif())
    media_id = upload(api, s3, alice, out.getvalue())
    drain(sqs, aws["PROCESSING_QUEUE_URL"])
    drain(sqs, aws["ANALYSIS_QUEUE_URL"], analyzer)

    hidden = body(api.call("GET", f"/media/{media_id}", alice))
    assert hidden["location"] is None
    assert "48.8584" not in json.dumps(hidden)  # not in the description, metadata or anywhere else
    shown = body(
        api.call("PATCH", f"/media/{media_id}", alice, {"version": hidden["version"], "location_visible": True})
    )
    assert shown["location"]["lat"] == pytest.approx(48.8584, abs=1e-3)
    assert "48.8584" in shown["ai_description"]["text"]
    again = body(
        api.call("PATCH", f"/media/{media_id}", alice, {"version": shown["version"], "location_visible": False})
    )
    assert "48.8584" not in json.dumps(again)
