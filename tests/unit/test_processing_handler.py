"""The SQS handler: event parsing and partial batch failures (processor replaced by a recorder)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from functions import dependencies
from functions.processing.handler import handle_batch, object_created_events
from shared.domain.processing import ObjectCreated, Outcome
from tests.conftest import load_event


class RecordingProcessor:
    def __init__(self, fail_keys: set[str] | None = None) -> None:
        self.seen: list[ObjectCreated] = []
        self._fail = fail_keys or set()

    def process(self, event: ObjectCreated) -> Outcome:
        if event.key in self._fail:
            raise RuntimeError("boom")
        self.seen.append(event)
        return Outcome.READY


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> RecordingProcessor:
    recorder = RecordingProcessor()
    monkeypatch.setattr(dependencies, "media_processor", lambda: recorder)
    return recorder


def test_sample_event_yields_the_decoded_object() -> None:
    body = load_event("sqs-s3-object-created")["Records"][0]["body"]
    assert object_created_events(body) == [
        ObjectCreated(
            bucket="media-vault-local-media-123456789012",
            key="originals/user-alice/0f8fad5bd9cb469fa16570867728950e",
            size=48213,
        )
    ]


def test_s3_test_event_is_acknowledged_without_processing(recorder: RecordingProcessor) -> None:
    assert handle_batch(load_event("sqs-s3-test-event"), None) == {"batchItemFailures": []}
    assert recorder.seen == []


def test_only_bad_messages_are_reported_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    good = load_event("sqs-s3-object-created")["Records"][0]
    records: list[dict[str, Any]] = []
    for index in range(10):
        record = copy.deepcopy(good)
        record["messageId"] = f"m{index}"
        record["body"] = record["body"].replace("0f8fad5bd9cb469fa16570867728950e", f"item{index}")
        records.append(record)
    records[3]["body"] = "not json"
    recorder = RecordingProcessor(fail_keys={"originals/user-alice/item7"})
    monkeypatch.setattr(dependencies, "media_processor", lambda: recorder)
    result = handle_batch({"Records": records}, None)
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["m3", "m7"]
    assert len(recorder.seen) == 8
