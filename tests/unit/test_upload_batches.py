"""Declaring uploads in batches: the domain's issue_uploads and the CLI's batch declarer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mediavault_cli.errors import ApiError
from mediavault_cli.upload import BatchDeclarer, Declared

from shared.domain.errors import PayloadTooLarge, QuotaExceeded, TooManyAttempts, UnsupportedMediaType
from shared.domain.media import MediaItem, MediaStatus
from shared.domain.uploads import MultipartPlan, UploadService, UploadTicket
from tests.unit.fakes import MemoryLedger, MemoryRepository, MemoryStorage
from tests.unit.test_upload_service import ALICE, LIMITS, _request


class Writer:
    """NewItemsWriter that stores into the memory repository (or fails)."""

    def __init__(self, repository: MemoryRepository, fail: bool = False) -> None:
        self.repository, self.fail, self.calls = repository, fail, 0

    def create_many(self, items: list[MediaItem]) -> None:
        self.calls += 1
        if self.fail:
            raise RuntimeError("the table did not answer")
        for item in items:
            self.repository.create(item)


def _service(
    admitted: int | None = None, fail: bool = False
) -> tuple[UploadService, MemoryRepository, MemoryStorage, MemoryLedger, Writer, list[int]]:
    ledger = MemoryLedger()
    repository, storage = MemoryRepository(ledger), MemoryStorage()
    writer, counted = Writer(repository, fail), []

    def admit(_caller: Any, count: int) -> int:
        counted.append(count)
        if admitted == 0:
            raise TooManyAttempts("full", retry_after=5)
        return count if admitted is None else min(admitted, count)

    service = UploadService(repository, storage, ledger, LIMITS, new_items=writer, admit_uploads=admit)
    return service, repository, storage, ledger, writer, counted


def test_each_file_gets_its_own_answer_and_the_writes_are_shared() -> None:
    service, repository, _, ledger, writer, counted = _service()
    ready = service.issue_upload(ALICE, _request(sha256="b" * 64), 10_000).media_id
    repository.items[ready].status = MediaStatus.READY
    results = service.issue_uploads(
        ALICE,
        [
            _request(filename="../a.jpg"),
            _request(content_type="video/mp4", size=700),
            _request(sha256="b" * 64),
            _request(content_type="text/html"),
            _request(size=1001),
        ],
        10_000,
    )
    small, large, duplicate, html, huge = results
    assert isinstance(small, UploadTicket) and repository.items[small.media_id].filename == "a.jpg"
    assert isinstance(large, UploadTicket) and isinstance(large.upload, MultipartPlan)
    assert repository.items[large.media_id].upload_id
    assert duplicate == UploadTicket(ready, True, None)
    assert isinstance(html, UnsupportedMediaType) and isinstance(huge, PayloadTooLarge)
    assert ledger.reserved == {"user-alice": 500 + 500 + 700}
    assert (writer.calls, counted) == (1, [5])


def test_quota_is_reserved_per_file_in_order_only_when_the_sum_does_not_fit() -> None:
    service, repository, _, ledger, _, _ = _service()
    results = service.issue_uploads(ALICE, [_request(size=400), _request(size=700), _request(size=300)], 800)
    assert [type(r) for r in results] == [UploadTicket, QuotaExceeded, UploadTicket]
    assert ledger.reserved == {"user-alice": 700}
    assert len(repository.items) == 2


def test_files_past_the_abuse_limit_are_refused_and_none_admitted_refuses_the_batch() -> None:
    service, repository, _, ledger, _, _ = _service(admitted=2)
    results = service.issue_uploads(ALICE, [_request(), _request(), _request()], 10_000)
    assert [type(r) for r in results] == [UploadTicket, UploadTicket, TooManyAttempts]
    assert ledger.reserved == {"user-alice": 1000}
    service, repository, _, ledger, _, _ = _service(admitted=0)
    with pytest.raises(TooManyAttempts):
        service.issue_uploads(ALICE, [_request()], 10_000)
    assert repository.items == {} and ledger.reserved.get("user-alice", 0) == 0


def test_a_failed_batch_write_gives_the_quota_back_and_aborts_multipart_uploads() -> None:
    service, repository, storage, ledger, _, _ = _service(fail=True)
    with pytest.raises(RuntimeError):
        service.issue_uploads(ALICE, [_request(), _request(content_type="video/mp4", size=700)], 10_000)
    assert repository.items == {}
    assert storage.multipart == {}
    assert ledger.reserved.get("user-alice", 0) == 0


class OlderApi:
    """An API without POST /uploads/batch."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def request(self, method: str, path: str, **_: Any) -> Any:
        self.calls.append(path)
        raise ApiError(404, "not_found", "no such route")


def test_the_cli_declares_each_file_alone_when_the_api_has_no_batches(tmp_path: Path) -> None:
    files = []
    for n in range(5):
        files.append(tmp_path / f"{n}.jpg")
        files[-1].write_bytes(bytes([n]) * 100)
    api = OlderApi()
    declarer = BatchDeclarer(api, files, force=False, state_dir=tmp_path / "state").start()  # type: ignore[arg-type]
    settled = [declarer.claim(path) for path in files]
    assert api.calls == ["/uploads/batch"]  # asked once; every file then declares itself
    assert all(d.ticket is None and d.error is None and len(d.sha256) == 64 for d in settled)


def test_a_single_file_over_quota_is_that_files_error() -> None:
    service, repository, _, ledger, _, _ = _service()
    results = service.issue_uploads(ALICE, [_request(size=900), _request(content_type="text/html")], 800)
    assert [type(r) for r in results] == [QuotaExceeded, UnsupportedMediaType]
    assert repository.items == {} and ledger.reserved.get("user-alice", 0) == 0


class BatchApi:
    """An API with POST /uploads/batch: a ticket per file, an error for text files."""

    def __init__(self) -> None:
        self.groups: list[list[str]] = []

    def request(self, method: str, path: str, json: Any = None, **_: Any) -> Any:
        assert (method, path) == ("POST", "/uploads/batch")
        self.groups.append([f["filename"] for f in json["files"]])
        refused = {"error": {"code": "unsupported_media_type", "message": "no"}}
        return {
            "tickets": [
                refused if f["filename"].endswith(".txt") else {"media_id": f["filename"], "upload": {}}
                for f in json["files"]
            ]
        }


def test_the_cli_declares_in_growing_groups_and_sends_repeated_bytes_after_the_first_copy(tmp_path: Path) -> None:
    files = []
    for n in range(12):
        files.append(tmp_path / f"{n:02d}.jpg")
        files[-1].write_bytes(bytes([n]) * 100)
    (tmp_path / "copy.jpg").write_bytes(bytes([3]) * 100)
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("text")
    files += [tmp_path / "copy.jpg", tmp_path / "empty.jpg", tmp_path / "notes.txt"]
    api = BatchApi()
    declarer = BatchDeclarer(api, files, force=False, state_dir=tmp_path / "state").start()  # type: ignore[arg-type]
    settled = {path.name: declarer.claim(path) for path in files}
    # 1, 2, 4, then what is left when the input ends (not the copy, nor the empty file)
    assert [len(g) for g in api.groups] == [1, 2, 4, 6]
    assert "copy.jpg" not in api.groups[-1] and "notes.txt" in api.groups[-1]
    assert settled["05.jpg"].ticket == {"media_id": "05.jpg", "upload": {}}
    assert settled["copy.jpg"].ticket is None and settled["copy.jpg"].after == files[3]
    assert settled["empty.jpg"] == Declared()
    error = settled["notes.txt"].error
    assert isinstance(error, ApiError) and error.status == 415
