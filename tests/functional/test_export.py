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
from functions.containers.export import export_builder
from shared.adapters.dynamo.jobs import DynamoJobStore
from shared.domain.jobs import Job, TimeLeft
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
    queued = body(api.call("GET", f"/me/export/{job_id}", alice))
    assert queued["download_url"] is None and queued["volumes"] == []
    run_jobs(sqs, aws)

    # THEN the job is done with every item counted and a short-lived attachment link
    progress = body(api.call("GET", f"/me/export/{job_id}", alice))
    assert (progress["status"], progress["items_done"], progress["items_total"]) == ("done", 2, 2), progress
    query = parse_qs(urlparse(progress["download_url"]).query)
    assert query["response-content-disposition"][0].startswith('attachment; filename="media-vault-export-')
    assert int(query["X-Amz-Expires"][0]) <= 300 and progress["url_expires_in"] <= 300
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=aws["MEDIA_BUCKET"], Prefix="exports/")["Contents"]]
    assert keys == [f"exports/user-alice/{job_id}-001.zip"]
    [volume] = progress["volumes"]
    assert volume["url"] == progress["download_url"] and volume["name"].endswith("-001.zip")
    assert volume["size"] == len(requests.get(volume["url"], timeout=10).content)

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


# --- exports longer than one run of the maintainer: several volumes ------------------------------------------


def run_budget(seconds_per_call: float, floor: float = 20.0) -> TimeLeft:
    """A run of 300 s in which each look at the clock (before an item, and before each chunk written) costs
    seconds_per_call: the export gets through a few items per run, whatever the machine's speed. It never falls
    below `floor`: at the default, time runs short between items (under 30 s) but never within one (under 15 s)."""
    calls = [0]

    def time_left() -> float:
        calls[0] += 1
        return max(300.0 - seconds_per_call * calls[0], floor)

    return time_left


def step_through(job_id: str, seconds_per_call: float, floor: float = 20.0, most_steps: int = 30) -> Job:
    """Run the job's steps one by one, each as a fresh run with the budget, as the maintainer's queue would."""
    jobs = app.maintainer_services().maintenance_jobs
    for _ in range(most_steps):
        job = jobs.get(job_id)
        if job.finished:
            return job
        jobs.run_step(job_id, job.step, redelivered=False, time_left=run_budget(seconds_per_call, floor))
    raise AssertionError(f"export {job_id} not finished after {most_steps} steps")


def open_uploads(s3: Any, aws: dict[str, str]) -> list[str]:
    return [u["Key"] for u in s3.list_multipart_uploads(Bucket=aws["MEDIA_BUCKET"]).get("Uploads", [])]


def stored_exports(s3: Any, aws: dict[str, str]) -> list[str]:
    listed = s3.list_objects_v2(Bucket=aws["MEDIA_BUCKET"], Prefix="exports/")
    return [o["Key"] for o in listed.get("Contents", [])]


def test_an_export_longer_than_a_run_comes_as_volumes_each_a_whole_zip(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    # GIVEN alice with six photos, one of them in the trash
    alice = tokens.token("alice")
    photos = {
        ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], alice, jpeg_bytes(200 + n, 150)): n for n in range(6)
    }
    trashed = next(iter(photos))
    assert api.call("DELETE", f"/media/{trashed}", alice).status_code in (200, 204)

    # WHEN she exports and each run of the maintainer has time for a few items only
    job_id = start_export(api, alice)
    sqs.purge_queue(QueueUrl=aws["MAINTENANCE_QUEUE_URL"])  # the steps are run here, one by one
    job = step_through(job_id, seconds_per_call=20.0)

    # THEN it is done, in more than one volume, and says so with every item counted
    progress = body(api.call("GET", f"/me/export/{job_id}", alice))
    assert (progress["status"], progress["items_done"], progress["items_total"]) == ("done", 6, 6), progress
    volumes = progress["volumes"]
    assert len(volumes) == job.counts["volumes"] >= 2
    assert progress["download_url"] == volumes[0]["url"]
    assert [v["name"][-7:] for v in volumes] == [f"{n:03d}.zip" for n in range(1, len(volumes) + 1)]
    assert stored_exports(s3, aws) == [f"exports/user-alice/{job_id}-{n:03d}.zip" for n in range(1, len(volumes) + 1)]
    assert open_uploads(s3, aws) == []

    # AND every volume downloads, is a valid zip of the size announced, and each item is whole in exactly one
    archives = []
    for volume in volumes:
        response = requests.get(volume["url"], timeout=10)
        assert response.status_code == 200 and len(response.content) == volume["size"]
        archives.append(zipfile.ZipFile(io.BytesIO(response.content)))
        assert archives[-1].testzip() is None
    names = [name for archive in archives for name in archive.namelist()]
    assert len(names) == len(set(names))
    for media_id, n in photos.items():
        [holder] = [a for a in archives if f"media/{media_id}/metadata.json" in a.namelist()]
        metadata = json.loads(holder.read(f"media/{media_id}/metadata.json"))
        assert holder.read(f"media/{media_id}/v1-photo.jpg") == jpeg_bytes(200 + n, 150)
        assert metadata["renditions"] and all(r["file"] in holder.namelist() for r in metadata["renditions"].values())
        assert (metadata["trashed_at"] is not None) == (media_id == trashed)
    # AND the records are in the last volume only
    records = ["grants.json", "albums.json", "notifications.json", "audit.json", "export.json"]
    assert set(records) <= set(archives[-1].namelist())
    assert not set(records) & {name for archive in archives[:-1] for name in archive.namelist()}
    assert json.loads(archives[-1].read("export.json"))["volumes"] == len(volumes)
    # AND she was told once
    notices = body(api.call("GET", "/notifications", alice))["items"]
    assert [(n["kind"], n["resource"]["id"]) for n in notices] == [("export.ready", job_id)]


def test_a_redelivered_step_writes_the_same_volume_again(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    # GIVEN alice's export of four photos, whose first step wrote volume 1 but died before it was committed
    alice = tokens.token("alice")
    for n in range(4):
        ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], alice, jpeg_bytes(220 + n, 140))
    job_id = start_export(api, alice)
    sqs.purge_queue(QueueUrl=aws["MAINTENANCE_QUEUE_URL"])
    services = app.maintainer_services()
    builder = export_builder(services, DynamoJobStore(services.settings.jobs_table, services.settings.region))
    assert builder(services.maintenance_jobs.get(job_id), run_budget(40.0)) is False
    key = f"exports/user-alice/{job_id}-001.zip"
    first = s3.get_object(Bucket=aws["MEDIA_BUCKET"], Key=key)["Body"].read()
    assert services.maintenance_jobs.get(job_id).step == 0

    # WHEN the step is delivered again
    services.maintenance_jobs.run_step(job_id, 0, redelivered=True, time_left=run_budget(40.0))

    # THEN volume 1 is the same zip at the same key, nothing is left half-written, and the export goes on from there
    assert s3.get_object(Bucket=aws["MEDIA_BUCKET"], Key=key)["Body"].read() == first
    assert open_uploads(s3, aws) == []
    job = services.maintenance_jobs.get(job_id)
    assert (job.step, job.counts["volumes"]) == (1, 1)
    assert job.counts["done"] == len({n.split("/")[1] for n in zipfile.ZipFile(io.BytesIO(first)).namelist()})
    assert step_through(job_id, 40.0).counts["done"] == 4


def test_an_item_too_large_for_one_run_fails_the_export_naming_it(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    # GIVEN alice with one photo that takes longer than a whole run to write
    alice = tokens.token("alice")
    media_id = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], alice)

    # WHEN she exports
    job_id = start_export(api, alice)
    sqs.purge_queue(QueueUrl=aws["MAINTENANCE_QUEUE_URL"])
    step_through(job_id, seconds_per_call=150.0, floor=0.0, most_steps=3)

    # THEN the export failed saying which item, no volume is offered and no upload is left open
    progress = body(api.call("GET", f"/me/export/{job_id}", alice))
    assert progress["status"] == "failed" and media_id in progress["error"], progress
    assert progress["volumes"] == [] and progress["download_url"] is None
    assert open_uploads(s3, aws) == [] and stored_exports(s3, aws) == []
