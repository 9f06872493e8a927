"""Issuing uploads: validation, limits, and what is recorded."""

from __future__ import annotations

import pytest

from shared.domain.errors import PayloadTooLarge, UnsupportedMediaType, ValidationError
from shared.domain.media import MediaStatus
from shared.domain.principal import Principal, Role
from shared.domain.uploads import UploadRequest, UploadService
from tests.unit.fakes import MemoryRepository, MemoryStorage

ALICE = Principal(sub="user-alice", username="alice", role=Role.USER)


def _service() -> tuple[UploadService, MemoryRepository, MemoryStorage]:
    repository, storage = MemoryRepository(), MemoryStorage()
    service = UploadService(
        repository,
        storage,
        allowed_content_types=("image/jpeg", "image/png"),
        max_upload_bytes=1000,
        url_ttl_seconds=300,
    )
    return service, repository, storage


def test_issue_upload_records_pending_item_under_owner_prefix() -> None:
    service, repository, storage = _service()
    ticket = service.issue_upload(
        ALICE, UploadRequest.parse({"filename": "../cat.jpg", "content_type": "IMAGE/JPEG", "size": 500})
    )
    item = repository.items[ticket.media_id]
    assert item.status is MediaStatus.PENDING
    assert item.filename == "cat.jpg"
    assert item.owner_id == "user-alice"
    assert item.object_key == f"originals/user-alice/{ticket.media_id}"
    assert storage.posts == [(item.object_key, "image/jpeg", 500, 300)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "JSON object"),
        ([], "JSON object"),
        ({"content_type": "image/jpeg", "size": 1}, "filename"),
        ({"filename": "a.jpg", "size": 1}, "content_type"),
        ({"filename": "a.jpg", "content_type": "image/jpeg"}, "size"),
        ({"filename": "a.jpg", "content_type": "image/jpeg", "size": "12"}, "size"),
        ({"filename": "a.jpg", "content_type": "image/jpeg", "size": True}, "size"),
        ({"filename": "a.jpg", "content_type": "image/jpeg", "size": 0}, "greater than zero"),
        ({"filename": "a.jpg", "content_type": "image/jpeg", "size": -5}, "greater than zero"),
        ({"filename": "a.jpg", "content_type": "image/jpeg", "size": 1, "key": "x"}, "unknown field"),
    ],
)
def test_bad_declarations_are_refused_with_the_field_named(body: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        UploadRequest.parse(body)


def test_type_and_size_limits_are_enforced_before_anything_is_stored() -> None:
    service, repository, storage = _service()
    with pytest.raises(UnsupportedMediaType, match="text/html"):
        service.issue_upload(ALICE, UploadRequest(filename="a.html", content_type="text/html", size=10))
    with pytest.raises(PayloadTooLarge, match="1000"):
        service.issue_upload(ALICE, UploadRequest(filename="a.jpg", content_type="image/jpeg", size=1001))
    with pytest.raises(ValidationError, match="usable"):
        service.issue_upload(ALICE, UploadRequest(filename="../", content_type="image/jpeg", size=10))
    assert repository.items == {}
    assert storage.posts == []
