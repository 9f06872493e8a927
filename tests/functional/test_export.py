"""GDPR export: POST /me/export queues a job, the maintainer streams a zip to the bucket, GET shows it and links it."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

import app
from tests.functional.conftest import ApiClient
from tests.functional.flows import drain, ready_item
from tests.support.images import jpeg_bytes
from tests.support.tokens import TokenFactory

UNKNOWN_JOB = "f" * 32


@pytest.fixture(autouse=True)
def fresh_maintainer(aws: dict[str, str]) -> Iterator[None]:
    """The maintainer's container follows each test's environment."""
    app.maintainer_services.replace(None)
    yield
    app.maintainer_services.replace(None)


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


def run_jobs(sqs: Any, aws: dict[str, str]) -> None:
    """Deliver the maintainer's queued steps until none is left."""
    url = aws["MAINTENANCE_QUEUE_URL"]
    while sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
        "ApproximateNumberOfMessages"
    ] != "0":  # fmt: skip
        assert drain(sqs, url, app.maintainer) == {"batchItemFailures": []}


def start_export(api: ApiClient, token: str) -> str:
    response = api.call("POST", "/me/export", token)
    assert response.status_code == 202, response.body
    answer = body(response)
    assert answer["status"] == "queued"
    return str(answer["job_id"])


def download(url: str) -> zipfile.ZipFile:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return zipfile.ZipFile(io.BytesIO(response.content))


def new_version(api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], token: str, media_id: str, data: bytes) -> None:
    ticket = api.call("POST", f"/media/{media_id}/versions", token, {"content_type": "image/jpeg", "size": len(data)})
    assert ticket.status_code == 201, ticket.body
    key = body(ticket)["upload"]["fields"]["key"]
    s3.put_object(Bucket=aws["MEDIA_BUCKET"], Key=key, Body=data, ContentType="image/jpeg")
    assert drain(sqs, aws["PROCESSING_QUEUE_URL"]) == {"batchItemFailures": []}


def test_export_routes_refuse_no_token_and_other_peoples_jobs(
    api: ApiClient, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    # GIVEN alice's queued export
    alice, bob = tokens.token("alice"), tokens.token("bob")
    job_id = start_export(api, alice)

    # THEN without a token nothing answers; bob cannot see alice's job; an unknown job is missing
    assert api.call("POST", "/me/export").status_code == 401
    assert api.call("GET", f"/me/export/{job_id}").status_code == 401
    assert api.call("GET", f"/me/export/{job_id}", bob).status_code == 404
    assert api.call("GET", f"/me/export/{UNKNOWN_JOB}", alice).status_code == 404
    # AND an admin's maintenance job id is no export either
    reconcile = api.call("POST", "/admin/reconcile", tokens.token("ada"), {"fix": False})
    assert api.call("GET", f"/me/export/{body(reconcile)['job_id']}", tokens.token("ada")).status_code == 404


def test_one_export_at_a_time(api: ApiClient, sqs: Any, aws: dict[str, str], tokens: TokenFactory) -> None:
    # GIVEN alice's export, still queued
    alice, bob = tokens.token("alice"), tokens.token("bob")
    first = start_export(api, alice)

    # WHEN she asks again before it finished THEN 409; bob's own export is not held up
    again = api.call("POST", "/me/export", alice)
    assert again.status_code == 409, again.body
    start_export(api, bob)

    # WHEN hers finished THEN she may export again
    run_jobs(sqs, aws)
    assert body(api.call("GET", f"/me/export/{first}", alice))["status"] == "done"
    assert start_export(api, alice) != first


def test_export_holds_every_version_rendition_and_record(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    # GIVEN alice with two photos, one of them in a second version, shared with bob and put in an album
    alice, bob = tokens.token("alice"), tokens.token("bob")
    assert api.call("GET", "/me", bob).status_code == 200
    first, second, other = jpeg_bytes(400, 300), jpeg_bytes(300, 400), jpeg_bytes(200, 200)
    versioned = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], alice, first)
    new_version(api, s3, sqs, aws, alice, versioned, second)
    single = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], alice, other)
    share = api.call(
        "POST",
        f"/media/{single}/shares",
        alice,
        {"grantee": {"type": "user", "username": "bob"}, "permissions": ["view"]},
    )
    assert share.status_code == 201, share.body
    album = body(api.call("POST", "/albums", alice, {"title": "Holidays"}))["album_id"]
    assert api.call("POST", f"/albums/{album}/items", alice, {"media_ids": [versioned, single]}).status_code == 200

    # WHEN she exports and the maintainer runs the job
    job_id = start_export(api, alice)
    assert body(api.call("GET", f"/me/export/{job_id}", alice))["download_url"] is None
    run_jobs(sqs, aws)

    # THEN the job is done with every item counted and a short-lived attachment link
    progress = body(api.call("GET", f"/me/export/{job_id}", alice))
    assert (progress["status"], progress["items_done"], progress["items_total"]) == ("done", 2, 2), progress
    query = parse_qs(urlparse(progress["download_url"]).query)
    assert query["response-content-disposition"][0].startswith('attachment; filename="media-vault-export-')
    assert int(query["X-Amz-Expires"][0]) <= 300 and progress["url_expires_in"] <= 300
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=aws["MEDIA_BUCKET"], Prefix="exports/")["Contents"]]
    assert keys == [f"exports/user-alice/{job_id}.zip"]

    # AND the zip holds both versions byte for byte, renditions, metadata and her records
    archive = download(progress["download_url"])
    names = archive.namelist()
    assert archive.read(f"media/{versioned}/v1-photo.jpg") == first
    assert archive.read(f"media/{versioned}/v2-photo.jpg") == second
    assert archive.read(f"media/{single}/v1-photo.jpg") == other
    for media_id in (versioned, single):
        metadata = json.loads(archive.read(f"media/{media_id}/metadata.json"))
        assert metadata["media_id"] == media_id and metadata["renditions"]
        for rendition in metadata["renditions"].values():
            assert rendition["file"] in names and archive.read(rendition["file"])
    assert [v["number"] for v in json.loads(archive.read(f"media/{versioned}/metadata.json"))["versions"]] == [1, 2]
    grants = json.loads(archive.read("grants.json"))
    assert [(g["resource_id"], g["grantee"]["type"]) for g in grants["given"]] == [(single, "user")]
    assert grants["received"] == []
    albums = json.loads(archive.read("albums.json"))
    assert [(a["title"], a["media_ids"]) for a in albums] == [("Holidays", [versioned, single])]
    actions = {entry["action"] for entry in json.loads(archive.read("audit.json"))}
    assert {"upload.create", "share.create", "album.create", "export.start"} <= actions
    assert json.loads(archive.read("notifications.json")) == []

    # AND she was told it is ready; her next export carries that notice
    notices = body(api.call("GET", "/notifications", alice))["items"]
    assert [(n["kind"], n["resource"]["id"]) for n in notices] == [("export.ready", job_id)]
    second_job = start_export(api, alice)
    run_jobs(sqs, aws)
    later = download(body(api.call("GET", f"/me/export/{second_job}", alice))["download_url"])
    assert [n["kind"] for n in json.loads(later.read("notifications.json"))] == ["export.ready"]


def test_what_bob_received_is_in_his_export(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    # GIVEN a photo of alice's shared with bob
    alice, bob = tokens.token("alice"), tokens.token("bob")
    assert api.call("GET", "/me", bob).status_code == 200
    photo = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], alice)
    grant = {"grantee": {"type": "user", "username": "bob"}, "permissions": ["view"]}
    assert api.call("POST", f"/media/{photo}/shares", alice, grant).status_code == 201

    # WHEN bob exports THEN his archive lists the grant he received and none of alice's media
    job_id = start_export(api, bob)
    run_jobs(sqs, aws)
    progress = body(api.call("GET", f"/me/export/{job_id}", bob))
    assert (progress["status"], progress["items_total"]) == ("done", 0)
    archive = download(progress["download_url"])
    assert not [name for name in archive.namelist() if name.startswith("media/")]
    received = json.loads(archive.read("grants.json"))["received"]
    assert [(g["resource_id"], g["owner_id"]) for g in received] == [(photo, "user-alice")]
