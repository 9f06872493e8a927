"""Deferred records over HTTP: with RECORD_DELIVERY naming a spool (as on the local stack; stdout on Lambda), a
grantee's read writes nothing during the request; the recorder writes the audit entry and the view counts from the
delivered lines, and a redelivered batch writes nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from infra.local.worker import SpoolWorker
from shared.adapters.records import decode
from tests.functional.conftest import ApiClient, fresh_containers
from tests.functional.flows import ready_item
from tests.functional.test_audit import BOB, People, body
from tests.support.tokens import TokenFactory


@pytest.fixture
def spool(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, aws: dict[str, str]) -> Path:
    path = tmp_path / "records.jsonl"
    monkeypatch.setenv("RECORD_DELIVERY", f"file:{path}")
    fresh_containers()
    return path


@pytest.fixture
def vault(spool: Path, api: ApiClient, tokens: TokenFactory) -> People:
    return People(api, tokens)


@pytest.fixture
def photo(api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], vault: People) -> str:
    return ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], vault.tokens["alice"])


def _views(people: People) -> int:
    today = datetime.now(UTC).date().isoformat()
    response = people.call("alice", "GET", f"/me/analytics?from={today}&to={today}")
    assert response.status_code == 200, response.body
    return int(body(response)["totals"]["grant_views"])


def test_a_grantees_read_is_recorded_after_the_response_exactly_once(spool: Path, vault: People, photo: str) -> None:
    people = vault
    share = {"grantee": {"type": "user", "username": "bob"}, "permissions": ["view"]}
    assert people.call("alice", "POST", f"/media/{photo}/shares", share).status_code == 201
    assert people.call("bob", "GET", f"/media/{photo}").status_code == 200
    # Nothing was written during the requests: the lines wait in the spool.
    assert people.entries("alice", "/me/audit") == []
    assert _views(people) == 0
    records = [decode(line) for line in spool.read_text().splitlines()]
    assert records and None not in records
    import app

    delivered: list[dict[str, Any]] = []

    def recorder(event: dict[str, Any], context: Any) -> Any:
        delivered.append(event)
        return app.recorder(event, context)

    worker = SpoolWorker(str(spool), recorder)
    assert worker.poll_once() == len(records)
    assert worker.poll_once() == 0  # nothing new
    [seen] = people.entries("alice", "/me/audit")
    assert (seen["actor"], seen["action"], seen["resource"]) == (BOB, "media.read", f"media#{photo}")
    assert _views(people) == 1
    # The same batch delivered again (Lambda retries a failed invocation) adds nothing.
    app.recorder(delivered[0], None)
    assert len(people.entries("alice", "/me/audit")) == 1
    assert _views(people) == 1


def test_ordinary_log_lines_and_a_control_message_are_ignored(spool: Path, aws: dict[str, str]) -> None:
    import app
    from functions.recorder import subscription_event

    event = subscription_event("/aws/lambda/api", "s", [("1", 0, "START RequestId: x"), ("2", 0, '{"level":"INFO"}')])
    assert app.recorder(event, None) == {"records": 0, "entries": 0, "events": 0, "counters": 0}
