"""Admin maintenance: reprocess and reconcile jobs (202 + job id, run by the maintainer), dead-letter queues."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import app
from shared.adapters.dynamo.media_model import MediaModel, to_item
from shared.adapters.dynamo.users import UserModel
from tests.functional.conftest import ApiClient
from tests.functional.flows import drain, ready_item
from tests.support.tokens import TokenFactory

ALICE = "user-alice"


@pytest.fixture(autouse=True)
def fresh_maintainer(aws: dict[str, str]) -> Iterator[None]:
    """The maintainer's container follows each test's environment."""
    app.maintainer_services.replace(None)
    yield
    app.maintainer_services.replace(None)


def run_jobs(sqs: Any, aws: dict[str, str]) -> None:
    """Deliver the maintainer's queued steps until none is left."""
    url = aws["MAINTENANCE_QUEUE_URL"]
    while (
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
        != "0"
    ):
        assert drain(sqs, url, app.maintainer) == {"batchItemFailures": []}


def job(api: ApiClient, token: str, job_id: str) -> dict[str, Any]:
    response = api.call("GET", f"/admin/jobs/{job_id}", token)
    assert response.status_code == 200, response.body
    return dict(json.loads(response.body))


def submit(api: ApiClient, token: str, path: str, body: dict[str, Any]) -> str:
    response = api.call("POST", path, token, body)
    assert response.status_code == 202, response.body
    answer = json.loads(response.body)
    assert answer["status"] == "queued"
    return str(answer["job_id"])


def renditions(media_id: str) -> list[str]:
    """The rendition keys an item's record names."""
    return [r.key for r in to_item(MediaModel.get(media_id)).renditions.values()]


def object_keys(s3: Any, bucket: str) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_reprocessing_one_item_renders_it_again(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    # GIVEN a ready photo one of whose renditions was lost
    alice, ada = tokens.token("alice"), tokens.token("ada")
    media_id = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], alice)
    lost = sorted(renditions(media_id))[0]
    s3.delete_object(Bucket=aws["MEDIA_BUCKET"], Key=lost)

    # WHEN an admin reprocesses it: the answer is immediate, the work is the maintainer's and then the processor's
    job_id = submit(api, ada, "/admin/reprocess", {"media_id": media_id})
    assert job(api, ada, job_id)["status"] == "queued"
    run_jobs(sqs, aws)
    assert MediaModel.get(media_id).status == "pending"
    assert drain(sqs, aws["PROCESSING_QUEUE_URL"]) == {"batchItemFailures": []}

    # THEN the item is ready with its renditions rewritten, and the job is done with its counts
    assert MediaModel.get(media_id).status == "ready"
    assert lost in object_keys(s3, aws["MEDIA_BUCKET"])
    done = job(api, ada, job_id)
    assert (done["status"], done["processed"], done["total"], done["errors"]) == ("done", 1, 1, [])
    assert done["requested_by"] == "user-ada" and done["finished_at"]


def test_reprocessing_by_filter_takes_only_matching_items(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    alice, ada = tokens.token("alice"), tokens.token("ada")
    first = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], alice)
    second = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], alice)
    MediaModel(second).update(actions=[MediaModel.status.set("failed")])

    job_id = submit(api, ada, "/admin/reprocess", {"status": "failed", "type": "image"})
    run_jobs(sqs, aws)
    drain(sqs, aws["PROCESSING_QUEUE_URL"])

    assert (MediaModel.get(first).status, MediaModel.get(second).status) == ("ready", "ready")
    done = job(api, ada, job_id)
    assert (done["status"], done["processed"], done["total"]) == ("done", 1, 1)


def test_reconcile_reports_then_repairs_and_then_finds_nothing(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    bucket, queue = aws["MEDIA_BUCKET"], aws["PROCESSING_QUEUE_URL"]
    alice, ada = tokens.token("alice"), tokens.token("ada")
    # GIVEN an item whose original was deleted, an item missing a rendition, two orphan objects, a skewed counter
    gone = ready_item(api, s3, sqs, queue, alice)
    s3.delete_object(Bucket=bucket, Key=MediaModel.get(gone).object_key)
    thin = ready_item(api, s3, sqs, queue, alice)
    lost = sorted(renditions(thin))[0]
    s3.delete_object(Bucket=bucket, Key=lost)
    orphans = {f"originals/{ALICE}/{uuid.uuid4().hex}", f"renditions/{ALICE}/{uuid.uuid4().hex}/thumb.jpg"}
    for key in orphans:
        s3.put_object(Bucket=bucket, Key=key, Body=b"stray")
    true_bytes = int(UserModel.get(ALICE).reserved_bytes)
    UserModel(ALICE).update(actions=[UserModel.reserved_bytes.add(12345)])

    # WHEN an admin asks for the report
    report = submit(api, ada, "/admin/reconcile", {"fix": False})
    run_jobs(sqs, aws)

    # THEN every disagreement is found and nothing is changed
    found = job(api, ada, report)
    assert found["status"] == "done"
    counts = found["counts"]
    assert counts["object_without_item"] == 2
    assert (counts["item_without_object"], counts["missing_rendition"], counts["quota_mismatch"]) == (1, 1, 1)
    assert counts.get("fixed", 0) == 0
    subjects = {(f["kind"], f["subject"]) for f in found["findings"]}
    assert {("item_without_object", gone), ("missing_rendition", thin), ("quota_mismatch", ALICE)} <= subjects
    assert orphans <= object_keys(s3, bucket)
    assert int(UserModel.get(ALICE).reserved_bytes) == true_bytes + 12345

    # WHEN it runs with fix (and the processor renders what was sent back)
    repair = submit(api, ada, "/admin/reconcile", {"fix": True})
    run_jobs(sqs, aws)
    assert drain(sqs, queue) == {"batchItemFailures": []}

    # THEN each finding is repaired
    assert job(api, ada, repair)["processed"] == 5
    assert not orphans & object_keys(s3, bucket)
    assert MediaModel.get(gone).status == "failed"
    assert "missing" in (MediaModel.get(gone).failure_reason or "")
    assert MediaModel.get(thin).status == "ready" and lost in object_keys(s3, bucket)
    assert int(UserModel.get(ALICE).reserved_bytes) == true_bytes

    # AND a second report is clean
    again = submit(api, ada, "/admin/reconcile", {"fix": False})
    run_jobs(sqs, aws)
    clean = job(api, ada, again)
    assert clean["findings"] == [] and clean["counts"].get("errors", 0) == 0
    assert clean["counts"]["items_checked"] == 2


def test_dead_letters_are_shown_without_being_consumed_and_redriven_back(
    api: ApiClient, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    ada = tokens.token("ada")
    dlq = sqs.get_queue_url(QueueName="media-vault-test-processing-dlq")["QueueUrl"]
    key = f"originals/{ALICE}/{uuid.uuid4().hex}"
    body = json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {"key": key}}}]})
    sqs.send_message(QueueUrl=dlq, MessageBody=body)

    for _ in range(2):  # a peek leaves the message where it was
        response = api.call("GET", "/admin/dlq?limit=3", ada)
        assert response.status_code == 200, response.body
        queues = {q["queue"]: q for q in json.loads(response.body)["queues"]}
        assert set(queues) == {"processing", "analysis", "notifications"}
        assert queues["processing"]["approximate_messages"] == 1
        [message] = queues["processing"]["messages"]
        assert key in message["summary"]
        assert queues["analysis"]["messages"] == []

    response = api.call("POST", "/admin/dlq/redrive", ada, {"queue": "processing"})
    assert response.status_code == 200, response.body
    assert json.loads(response.body) == {"queue": "processing", "moved": 1}
    assert sqs.receive_message(QueueUrl=dlq).get("Messages", []) == []
    back = sqs.receive_message(QueueUrl=aws["PROCESSING_QUEUE_URL"], MaxNumberOfMessages=10).get("Messages", [])
    assert body in [m["Body"] for m in back]  # beside S3's test event from the bucket's set-up


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/admin/reprocess", {"status": "ready"}),
        ("POST", "/admin/reconcile", {"fix": False}),
        ("GET", f"/admin/jobs/{'0' * 32}", None),
        ("GET", "/admin/dlq", None),
        ("POST", "/admin/dlq/redrive", {"queue": "processing"}),
    ],
)
def test_maintenance_is_for_admins_only(
    api: ApiClient, tokens: TokenFactory, method: str, path: str, body: dict[str, Any] | None
) -> None:
    assert api.call(method, path, None, body).status_code == 401
    forbidden = api.call(method, path, tokens.token("alice"), body)
    assert forbidden.status_code == 403
    assert json.loads(forbidden.body)["code"] == "forbidden"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/admin/reprocess", {}, ""),
        ("/admin/reprocess", {"media_id": "0" * 32, "status": "ready"}, ""),
        ("/admin/reprocess", {"status": "lost"}, "status"),
        ("/admin/reprocess", {"created_from": "2024-02-01", "created_to": "2024-01-01"}, ""),
        ("/admin/reconcile", {"fix": "yes"}, "fix"),
        ("/admin/reconcile", {}, "fix"),
        ("/admin/dlq/redrive", {"queue": "elsewhere"}, "queue"),
        ("/admin/dlq/redrive", {"queue": "processing", "max_messages": 0}, "max_messages"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    api: ApiClient, tokens: TokenFactory, path: str, body: dict[str, Any], field: str
) -> None:
    response = api.call("POST", path, tokens.token("ada"), body)
    assert response.status_code == 400, response.body
    answer = json.loads(response.body)
    assert answer["code"] == "validation_error"
    if field:
        assert answer["errors"][0]["field"] == field


def test_unknown_jobs_and_items_are_404(api: ApiClient, tokens: TokenFactory) -> None:
    ada = tokens.token("ada")
    assert api.call("GET", f"/admin/jobs/{uuid.uuid4().hex}", ada).status_code == 404
    assert api.call("POST", "/admin/reprocess", ada, {"media_id": uuid.uuid4().hex}).status_code == 404
    assert api.call("GET", "/admin/dlq?limit=11", ada).status_code == 400
