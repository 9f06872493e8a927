"""Hourly upkeep: declared uploads whose bytes never arrived are removed and give their quota back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from chalice.local import LambdaContext

from app import janitor
from shared.adapters.dynamo.media_model import MediaModel
from shared.adapters.dynamo.users import UserModel
from tests.conftest import load_event
from tests.functional.conftest import ApiClient
from tests.support.tokens import TokenFactory

MIB = 1024 * 1024


def declare(api: ApiClient, token: str, size: int, content_type: str = "image/jpeg") -> str:
    response = api.call("POST", "/uploads", token, {"filename": "f", "content_type": content_type, "size": size})
    assert response.status_code == 201, response.body
    return str(json.loads(response.body)["media_id"])


def age(media_id: str, hours: int) -> None:
    MediaModel(media_id).update(actions=[MediaModel.updated_at.set(datetime.now(UTC) - timedelta(hours=hours))])


def test_abandoned_uploads_expire_and_release_quota(
    api: ApiClient, s3: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    alice = tokens.token("alice")
    abandoned = declare(api, alice, 1000)
    recent = declare(api, alice, 2000)
    arrived = declare(api, alice, 3000)
    multipart = declare(api, alice, 100 * MIB, "video/mp4")
    s3.put_object(Bucket=aws["MEDIA_BUCKET"], Key=MediaModel.get(arrived).object_key, Body=b"x" * 3000)
    for media_id in (abandoned, arrived, multipart):
        age(media_id, 25)
    age(recent, 2)
    assert UserModel.get("user-alice").reserved_bytes == 6000 + 100 * MIB

    result = janitor(load_event("schedule"), LambdaContext("janitor", 256))

    assert result == {"expired_uploads": 2, "purged_trash": 0}
    remaining = {m.media_id for m in MediaModel.scan()}
    assert remaining == {recent, arrived}
    assert UserModel.get("user-alice").reserved_bytes == 5000
    uploads = s3.list_multipart_uploads(Bucket=aws["MEDIA_BUCKET"]).get("Uploads", [])
    assert uploads == []
    assert janitor(load_event("schedule"), LambdaContext("janitor", 256)) == {"expired_uploads": 0, "purged_trash": 0}


def test_trash_older_than_the_retention_is_deleted_for_good(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    from tests.functional.flows import ready_item

    alice = tokens.token("alice")
    old = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], alice)
    recent = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], alice)
    kept = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], alice)
    for media_id in (old, recent):
        assert api.call("DELETE", f"/media/{media_id}", alice).status_code == 204
    MediaModel(old).update(actions=[MediaModel.trashed_at.set(datetime.now(UTC) - timedelta(days=31))])
    before = UserModel.get("user-alice").reserved_bytes
    old_size = MediaModel.get(old).size

    assert janitor(load_event("schedule"), LambdaContext("janitor", 256)) == {"expired_uploads": 0, "purged_trash": 1}

    assert {m.media_id for m in MediaModel.scan()} == {recent, kept}
    assert UserModel.get("user-alice").reserved_bytes == before - old_size
    keys = [v["Key"] for v in s3.list_object_versions(Bucket=aws["MEDIA_BUCKET"]).get("Versions", [])]
    assert not [k for k in keys if old in k]
    assert [k for k in keys if recent in k]
