"""The SQS handler: event parsing, partial batch failures, giving up on the last delivery."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from functions.containers.jobs import ProcessorContainer
from functions.processing.handler import handle_batch, object_created_events
from shared.config import Settings
from shared.domain.processing import ObjectCreated
from tests.conftest import load_event


class Recorder:
    def __init__(self, fail_keys: set[str] | None = None) -> None:
        self.seen: list[ObjectCreated] = []
        self.given_up: list[tuple[str, str]] = []
        self._fail = fail_keys or set()

    def __call__(self, event: ObjectCreated, deadline: float | None = None) -> str:
        if event.key in self._fail:
            raise RuntimeError("boom")
        self.seen.append(event)
        return "ready"

    def give_up(self, event: ObjectCreated, reason: str) -> bool:
        self.given_up.append((event.key, reason))
        return True


@pytest.fixture
def recorder() -> Recorder:
    return Recorder(fail_keys={"originals/user-alice/item7"})


@pytest.fixture
def services(recorder: Recorder) -> ProcessorContainer:
    """A processor container whose processing parts are the recorder."""
    return ProcessorContainer(
        Settings(),
        process_once=lambda event, deadline=None: recorder(event),
        process_directly=recorder,
        media_processor=recorder,
    )


def test_sample_event_yields_the_decoded_object() -> None:
    body = load_event("sqs-s3-object-created")["Records"][0]["body"]
    assert object_created_events(body) == [
        ObjectCreated(
            bucket="media-vault-local-media-123456789012",
            key="originals/user-alice/0f8fad5bd9cb469fa16570867728950e",
            size=48213,
            version_id="3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
            sequencer="0062E99A88DC407460",
        )
    ]


def test_s3_test_event_is_acknowledged_without_processing(recorder: Recorder, services: ProcessorContainer) -> None:
    assert handle_batch(load_event("sqs-s3-test-event"), None, services) == {"batchItemFailures": []}
    assert recorder.seen == []


def _batch(receive_count: int = 1) -> list[dict[str, Any]]:
    good = load_event("sqs-s3-object-created")["Records"][0]
    records = []
    for index in range(10):
        record = copy.deepcopy(good)
        record["messageId"] = f"m{index}"
        record["body"] = record["body"].replace("0f8fad5bd9cb469fa16570867728950e", f"item{index}")
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
        records.append(record)
    records[3]["body"] = "not json"
    return records


def test_only_bad_messages_are_reported_failed(recorder: Recorder, services: ProcessorContainer) -> None:
    result = handle_batch({"Records": _batch()}, None, services)
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["m3", "m7"]
    assert len(recorder.seen) == 8
    assert recorder.given_up == []


def test_on_the_last_delivery_the_item_is_marked_failed_and_the_message_still_fails(
    recorder: Recorder, services: ProcessorContainer
) -> None:
    result = handle_batch({"Records": _batch(receive_count=3)}, None, services)
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["m3", "m7"]
    assert recorder.given_up == [("originals/user-alice/item7", "processing failed after 3 attempts: RuntimeError")]
