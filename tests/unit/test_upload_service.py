"""Issuing uploads: validation, limits, quota, dedup, multipart plans."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain.errors import Conflict, PayloadTooLarge, QuotaExceeded, UnsupportedMediaType, ValidationError
from shared.domain.media import MediaStatus
from shared.domain.ports import PresignedPost, PresignedPut, UploadedPart
from shared.domain.principal import Principal, Role
from shared.domain.uploads import MultipartPlan, UploadLimits, UploadRequest, UploadService, UploadTicket
from tests.unit.fakes import MemoryLedger, MemoryRepository, MemoryStorage

ALICE = Principal(sub="user-alice", username="alice", role=Role.USER)
BOB = Principal(sub="user-bob", username="bob", role=Role.USER)
LIMITS = UploadLimits(
    allowed_content_types=("image/jpeg", "image/png", "video/mp4"),
    max_upload_bytes=10_000,
    max_image_bytes=1000,
    multipart_threshold_bytes=600,
    multipart_part_bytes=250,
    url_ttl_seconds=300,
)


def _service() -> tuple[UploadService, MemoryRepository, MemoryStorage, MemoryLedger]:
    ledger = MemoryLedger()
    repository, storage = MemoryRepository(ledger), MemoryStorage()
    return UploadService(repository, storage, ledger, LIMITS), repository, storage, ledger


def _request(**fields: Any) -> UploadRequest:
    return UploadRequest(**{"filename": "cat.jpg", "content_type": "image/jpeg", "size": 500, **fields})


def test_issue_upload_records_pending_item_under_owner_prefix_and_reserves_quota() -> None:
    service, repository, storage, ledger = _service()
    ticket = service.issue_upload(ALICE, _request(filename="../cat.jpg"), 10_000)
    item = repository.items[ticket.media_id]
    assert item.status is MediaStatus.PENDING
    assert (item.filename, item.owner_id) == ("cat.jpg", "user-alice")
    assert item.object_key == f"originals/user-alice/{ticket.media_id}"
    assert storage.posts == [(item.object_key, "image/jpeg", 500, 300)]
    assert isinstance(ticket.upload, PresignedPost)
    assert ledger.reserved == {"user-alice": 500}


def test_a_put_is_signed_for_the_declared_type_size_and_checksum_and_a_large_file_goes_in_parts() -> None:
    service, repository, storage, _ = _service()
    digest = "b" * 64
    small = service.issue_upload(ALICE, _request(sha256=digest, method="PUT"), 10_000)
    large = service.issue_upload(ALICE, _request(content_type="video/mp4", size=700, method="PUT"), 10_000)
    [batched] = service.issue_uploads(ALICE, [_request(filename="b.jpg", method="PUT")], 10_000)
    assert isinstance(small.upload, PresignedPut) and isinstance(large.upload, MultipartPlan)
    assert isinstance(batched, UploadTicket) and isinstance(batched.upload, PresignedPut)
    key = repository.items[small.media_id].object_key
    batched_key = repository.items[batched.media_id].object_key
    assert storage.puts == [(key, "image/jpeg", 500, digest, 300), (batched_key, "image/jpeg", 500, "", 300)]
    assert storage.posts == []


def test_an_unknown_method_is_refused_before_anything_is_stored() -> None:
    service, repository, storage, ledger = _service()
    with pytest.raises(ValidationError, match="method"):
        service.issue_upload(ALICE, _request(method="PATCH"), 10_000)
    assert (repository.items, storage.posts, storage.puts, ledger.reserved.get("user-alice", 0)) == ({}, [], [], 0)


def test_type_size_and_quota_limits_are_enforced_before_anything_is_stored() -> None:
    service, repository, storage, ledger = _service()
    with pytest.raises(UnsupportedMediaType, match="text/html"):
        service.issue_upload(ALICE, _request(content_type="text/html"), 10_000)
    with pytest.raises(PayloadTooLarge, match="1000"):
        service.issue_upload(ALICE, _request(size=1001), 10_000)
    with pytest.raises(PayloadTooLarge, match="10000"):
        service.issue_upload(ALICE, _request(content_type="video/mp4", size=10_001), 100_000)
    with pytest.raises(ValidationError, match="usable"):
        service.issue_upload(ALICE, _request(filename="../"), 10_000)
    with pytest.raises(QuotaExceeded):
        service.issue_upload(ALICE, _request(size=600), 500)
    assert repository.items == {}
    assert storage.posts == []
    assert ledger.reserved.get("user-alice", 0) == 0


def test_dedup_returns_the_owners_ready_item_only() -> None:
    service, repository, _, _ = _service()
    digest = "a" * 64
    first = service.issue_upload(ALICE, _request(sha256=digest), 10_000).media_id
    # Still pending: not a duplicate yet.
    assert service.issue_upload(ALICE, _request(sha256=digest), 10_000).duplicate is False
    repository.items[first].status = MediaStatus.READY
    assert service.issue_upload(ALICE, _request(sha256=digest), 10_000) == UploadTicket(first, True, None)
    assert service.issue_upload(ALICE, _request(sha256=digest, force=True), 10_000).duplicate is False
    assert service.issue_upload(BOB, _request(sha256=digest), 10_000).duplicate is False


def test_multipart_plan_part_checks_and_abort() -> None:
    service, repository, storage, ledger = _service()
    ticket = service.issue_upload(ALICE, _request(content_type="video/mp4", size=700), 10_000)
    assert ticket.upload == MultipartPlan(part_size=250, part_count=3)
    media_id = ticket.media_id
    item = repository.items[media_id]
    parts = service.presign_parts(ALICE, media_id, [3, 1]).parts
    assert [(p.part_number, p.size) for p in parts] == [(1, 250), (3, 200)]
    with pytest.raises(ValidationError, match=r"parts 1\.\.3"):
        service.presign_parts(ALICE, media_id, [4])
    storage.multipart[item.object_key] = [
        UploadedPart(1, '"e1"', 250),
        UploadedPart(2, '"e2"', 250),
        UploadedPart(3, '"e3"', 199),
    ]
    claim = {"parts": [{"part_number": n, "etag": f'"e{n}"'} for n in (1, 2, 3)]}
    with pytest.raises(Conflict, match="part 3 is 199 bytes"):
        service.complete(ALICE, media_id, claim)
    storage.multipart[item.object_key][2] = UploadedPart(3, '"e3"', 200)
    with pytest.raises(Conflict, match="ETag"):
        service.complete(ALICE, media_id, {"parts": [{"part_number": n, "etag": "other"} for n in (1, 2, 3)]})
    service.complete(ALICE, media_id, claim)
    assert storage.completed == [item.object_key]
    other = service.issue_upload(ALICE, _request(content_type="video/mp4", size=700), 10_000).media_id
    service.abort(ALICE, other)
    assert other not in repository.items
    assert ledger.reserved["user-alice"] == 700


def test_a_large_upload_refused_for_quota_leaves_no_multipart_upload_behind() -> None:
    service, repository, storage, ledger = _service()
    with pytest.raises(QuotaExceeded):
        service.issue_upload(ALICE, _request(content_type="video/mp4", size=5000), 1000)
    assert storage.multipart == {}
    assert repository.items == {}
    assert ledger.reserved.get("user-alice", 0) == 0
