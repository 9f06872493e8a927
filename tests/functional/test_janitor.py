"""Hourly upkeep, driven as the schedule drives it: declared uploads whose bytes never arrived give their quota
back; old trash, old versions of originals, ended grants and finished exports are deleted; twice changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from chalice.local import LambdaContext
from pynamodb.connection.base import Connection

from app import janitor
from shared.adapters.dynamo.media_model import VERSIONS_SHARDS, MediaModel, versions_shard
from shared.adapters.dynamo.users import UserModel
from tests.conftest import load_event
from tests.functional.conftest import ApiClient
from tests.support.tokens import TokenFactory

MIB = 1024 * 1024


def declare(api: ApiClient, token: str, size: int, content_type: str = "image/jpeg") -> str:
    response = api.call("POST", "/uploads", token, {"filename": "f", "content_type": content_type, "size": size})
    assert response.status_code == 201, response.body
    return str(json.loads(response.body)["media_id"])


def run_janitor() -> dict[str, int]:
    """One scheduled invocation: the schedule's event, a Lambda context with the function's time."""
    result: dict[str, int] = janitor(load_event("schedule"), LambdaContext("janitor", 256, max_runtime_ms=900_000))
    return result


@contextmanager
def no_scans() -> Iterator[list[str]]:
    """Every DynamoDB Scan made through PynamoDB fails (and is named in the list): the sweeps must only query."""
    scanned: list[str] = []

    def refuse(_connection: Connection, table_name: str, *_args: Any, **_kwargs: Any) -> Any:
        scanned.append(table_name)
        raise AssertionError(f"Scan of {table_name}")

    with mock.patch.object(Connection, "scan", refuse):
        yield scanned


def in_versions_index() -> set[str]:
    """The media ids the versions index holds, over every shard."""
    return {entry.media_id for shard in VERSIONS_SHARDS for entry in MediaModel.versions_index.query(shard)}


def counts(result: dict[str, int], *names: str) -> dict[str, int]:
    return {name: result[name] for name in names}


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

    result = run_janitor()

    assert counts(result, "expired_uploads", "purged_trash") == {"expired_uploads": 2, "purged_trash": 0}
    remaining = {m.media_id for m in MediaModel.scan()}
    assert remaining == {recent, arrived}
    assert UserModel.get("user-alice").reserved_bytes == 5000
    uploads = s3.list_multipart_uploads(Bucket=aws["MEDIA_BUCKET"]).get("Uploads", [])
    assert uploads == []
    assert not any(run_janitor().values())


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

    assert counts(run_janitor(), "expired_uploads", "purged_trash") == {"expired_uploads": 0, "purged_trash": 1}

    assert {m.media_id for m in MediaModel.scan()} == {recent, kept}
    assert UserModel.get("user-alice").reserved_bytes == before - old_size
    keys = [v["Key"] for v in s3.list_object_versions(Bucket=aws["MEDIA_BUCKET"]).get("Versions", [])]
    assert not [k for k in keys if old in k]
    assert [k for k in keys if recent in k]


def backdate(bucket: str, key: str, when: datetime, version_id: str | None = None) -> None:
    """Move a stored object's write time back (moto keeps it naive UTC): what S3 would show after that long."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    store = s3_backends[DEFAULT_ACCOUNT_ID]["global"].buckets[bucket].keys
    for stored in store.getlist(key):
        if version_id is None or stored.version_id == version_id:
            stored.last_modified = when.astimezone(UTC).replace(tzinfo=None)


def expire(share_id: str) -> None:
    """Let a grant's time run out (what a clock would do): its expiry and its place in the ends index, which the
    shares adapter writes together."""
    from shared.adapters.dynamo.grants import ShareModel

    entry = next(iter(ShareModel.share_id_index.query(share_id)))
    grant = ShareModel.get(entry.resource, entry.grantee)
    past = datetime.now(UTC) - timedelta(seconds=1)
    assert grant.ends_shard is not None, "only a grant that can end has an expiry to run out"
    grant.update(actions=[ShareModel.expires_at.set(past), ShareModel.ends_at.set(past)])


def test_an_expired_grant_goes_with_its_reshares_and_a_used_up_link_with_its_token(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    from shared.adapters.dynamo.grants import LinkTokenModel, ShareModel
    from shared.domain.link_secrets import token_hash
    from tests.functional.flows import ready_item
    from tests.functional.test_sharing import Vault, user

    # GIVEN alice shared a photo with bob (who reshared it with pat), with ada, and by a one-use link that was used
    vault = Vault(api, tokens)
    photo = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], vault.tokens["alice"])
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    to_bob = vault.grant("alice", photo, user("bob"), ["view", "reshare"], expires_at=later)
    to_pat = vault.grant("bob", photo, user("pat"), ["view"])
    to_ada = vault.grant("alice", photo, user("ada"), ["view"])
    link = json.loads(vault.share("alice", photo, {"type": "link"}, ["view"], max_uses=1).body)
    assert api.request("GET", f"/links/{link['token']}", headers={}, body=b"").status_code == 200
    # AND bob's grant ran out
    expire(to_bob)

    # WHEN the schedule runs the janitor (which finds them without a scan)
    with no_scans() as scanned:
        result = run_janitor()
    assert scanned == []

    # THEN bob's grant, pat's reshare and the used-up link are gone; ada's grant stays
    assert counts(result, "expired_shares", "cascaded_reshares") == {"expired_shares": 2, "cascaded_reshares": 1}
    outgoing = json.loads(vault.call("alice", "GET", "/shares/outgoing").body)["items"]
    assert [grant["share_id"] for grant in outgoing] == [to_ada]
    assert json.loads(vault.call("bob", "GET", "/shares/outgoing").body)["items"] == []
    assert json.loads(vault.call("pat", "GET", "/shares/incoming").body)["items"] == []
    remaining = {m.share_id for m in ShareModel.scan() if getattr(m, "share_id", None)}
    assert remaining == {to_ada}
    assert to_pat not in remaining
    # AND the link's token pointer went with it: the token names nothing any more
    assert LinkTokenModel.count(f"token#{token_hash(link['token'])}") == 0
    assert api.request("GET", f"/links/{link['token']}", headers={}, body=b"").status_code == 404
    # AND a second run finds nothing to do
    with no_scans():
        second = run_janitor()
    assert counts(second, "expired_shares", "cascaded_reshares") == {"expired_shares": 0, "cascaded_reshares": 0}


def test_old_export_archives_are_deleted_and_new_ones_kept(s3: Any, aws: dict[str, str]) -> None:
    bucket = aws["MEDIA_BUCKET"]
    # GIVEN no exports at all: nothing to do
    assert run_janitor()["deleted_exports"] == 0
    # AND then an archive written 8 days ago (twice: two versions), one from today, and an old non-export object
    for key in ("exports/user-alice/old.zip", "exports/user-alice/old.zip", "exports/user-bob/new.zip", "other/old"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"zip")
    for key in ("exports/user-alice/old.zip", "other/old"):
        backdate(bucket, key, datetime.now(UTC) - timedelta(days=8))

    # WHEN the schedule runs the janitor
    assert run_janitor()["deleted_exports"] == 1

    # THEN every version of the old archive is gone, and nothing else
    listing = s3.list_object_versions(Bucket=bucket)
    left = {v["Key"] for v in listing.get("Versions", []) + listing.get("DeleteMarkers", [])}
    assert left == {"exports/user-bob/new.zip", "other/old"}
    assert run_janitor()["deleted_exports"] == 0


def test_versions_replaced_longer_ago_than_the_retention_are_deleted_and_give_their_bytes_back(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    from tests.functional.flows import drain, ready_item
    from tests.support.images import jpeg_bytes

    bucket, queue = aws["MEDIA_BUCKET"], aws["PROCESSING_QUEUE_URL"]
    alice = tokens.token("alice")
    # GIVEN a photo uploaded in three versions: v1 replaced 40 days ago, v2 replaced just now by v3
    photo = ready_item(api, s3, sqs, queue, alice, jpeg_bytes(320, 240))
    key = MediaModel.get(photo).object_key
    for data in (jpeg_bytes(300, 200), jpeg_bytes(200, 100)):
        declared = {"filename": "v.jpg", "content_type": "image/jpeg", "size": len(data)}
        response = api.call("POST", f"/media/{photo}/versions", alice, declared)
        assert response.status_code == 201, response.body
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="image/jpeg")
        assert drain(sqs, queue) == {"batchItemFailures": []}
    listed = json.loads(api.call("GET", f"/media/{photo}/versions", alice).body)["versions"]
    v3, v2, v1 = (v["version_id"] for v in listed)
    long_ago = datetime.now(UTC) - timedelta(days=40)
    backdate(bucket, key, long_ago - timedelta(days=1), v1)
    backdate(bucket, key, long_ago, v2)  # v1 has been noncurrent since v2 was written
    before_item = MediaModel.get(photo)
    before_quota = UserModel.get("user-alice").reserved_bytes
    v1_size = next(v["size"] for v in listed if v["version_id"] == v1)

    # AND the item is in the versions index, which the janitor reads instead of scanning the table
    assert before_item.versions_shard == versions_shard(photo)
    assert in_versions_index() == {photo}

    # WHEN the schedule runs the janitor
    with no_scans() as scanned:
        result = run_janitor()
    assert scanned == []

    # THEN v1 is gone from the history and its bytes from the quota; v2 (replaced just now) can still be restored
    assert counts(result, "pruned_versions", "pruned_version_bytes") == {
        "pruned_versions": 1,
        "pruned_version_bytes": v1_size,
    }
    history = json.loads(api.call("GET", f"/media/{photo}/versions", alice).body)["versions"]
    assert [v["version_id"] for v in history] == [v3, v2]
    assert MediaModel.get(photo).stored_bytes == before_item.stored_bytes - v1_size
    assert UserModel.get("user-alice").reserved_bytes == before_quota - v1_size
    # AND with v2 still stored it stays in the versions index
    assert MediaModel.get(photo).versions_shard == versions_shard(photo)
    # AND a second run changes nothing
    with no_scans():
        second = run_janitor()
    assert counts(second, "pruned_versions", "pruned_version_bytes") == {
        "pruned_versions": 0,
        "pruned_version_bytes": 0,
    }
    assert UserModel.get("user-alice").reserved_bytes == before_quota - v1_size


def test_the_versions_index_holds_an_item_exactly_while_older_versions_are_stored(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    from tests.functional.flows import drain, ready_item
    from tests.support.images import jpeg_bytes

    bucket, queue = aws["MEDIA_BUCKET"], aws["PROCESSING_QUEUE_URL"]
    alice = tokens.token("alice")
    # GIVEN a photo never replaced: not in the versions index
    photo = ready_item(api, s3, sqs, queue, alice, jpeg_bytes(320, 240))
    single = ready_item(api, s3, sqs, queue, alice, jpeg_bytes(100, 80))
    key = MediaModel.get(photo).object_key
    assert MediaModel.get(photo).versions_shard is None
    assert in_versions_index() == set()

    # WHEN a new version is declared whose bytes never arrive, and the janitor gives it up
    declared = {"filename": "v.jpg", "content_type": "image/jpeg", "size": 1234}
    assert api.call("POST", f"/media/{photo}/versions", alice, declared).status_code == 201
    assert MediaModel.get(photo).versions_shard == versions_shard(photo)  # in while the version may come
    age(photo, 25)
    with no_scans():
        assert run_janitor()["expired_uploads"] == 1
    # THEN the item is back on its one version and out of the index
    assert MediaModel.get(photo).stored_bytes == MediaModel.get(photo).size
    assert MediaModel.get(photo).versions_shard is None
    assert in_versions_index() == set()

    # WHEN a second version arrives
    data = jpeg_bytes(300, 200)
    declared = {"filename": "v.jpg", "content_type": "image/jpeg", "size": len(data)}
    assert api.call("POST", f"/media/{photo}/versions", alice, declared).status_code == 201
    s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="image/jpeg")
    assert drain(sqs, queue) == {"batchItemFailures": []}
    # THEN the item is in the index (and a recent replacement is kept by the retention)
    assert in_versions_index() == {photo}
    with no_scans():
        assert run_janitor()["pruned_versions"] == 0
    assert MediaModel.get(photo).versions_shard == versions_shard(photo)

    # WHEN the first version has been noncurrent longer than the retention
    v2, v1 = (v["version_id"] for v in json.loads(api.call("GET", f"/media/{photo}/versions", alice).body)["versions"])
    long_ago = datetime.now(UTC) - timedelta(days=40)
    backdate(bucket, key, long_ago - timedelta(days=1), v1)
    backdate(bucket, key, long_ago, v2)
    with no_scans() as scanned:
        assert run_janitor()["pruned_versions"] == 1
    assert scanned == []
    # THEN nothing older is stored: the item leaves the index; the item never replaced was never in it
    item = MediaModel.get(photo)
    assert item.stored_bytes == item.size
    assert item.versions_shard is None
    assert in_versions_index() == set()
    assert MediaModel.get(single).versions_shard is None


def test_a_stale_versions_index_entry_is_checked_against_the_record(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    from shared.adapters.dynamo.versions import DynamoVersionedItems
    from shared.config import Settings
    from tests.functional.flows import ready_item

    # GIVEN an item in the index although its record holds one version only (the index lags, or a stray write)
    photo = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], tokens.token("alice"))
    MediaModel(photo).update(actions=[MediaModel.versions_shard.set(versions_shard(photo))])
    assert in_versions_index() == {photo}
    settings = Settings.from_env()
    items = DynamoVersionedItems(settings.media_table, settings.users_table, settings.region, page_size=1)

    # (the guard refuses a scan, were one made)
    with no_scans() as scanned, pytest.raises(AssertionError):
        list(MediaModel.scan())
    assert scanned == [settings.media_table]

    # THEN the sweep re-reads it and leaves it out; once stored_bytes exceeds size it is listed
    with no_scans():
        assert list(items.with_older_versions()) == []
    MediaModel(photo).update(actions=[MediaModel.stored_bytes.set(MediaModel.get(photo).size + 10)])
    with no_scans():
        assert [item.media_id for item in items.with_older_versions()] == [photo]


def test_the_ends_index_holds_exactly_the_grants_that_can_end(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    from shared.adapters.dynamo.grants import ENDS_SHARDS, NEVER, USED_UP, ShareModel, ends_shard
    from tests.functional.flows import ready_item
    from tests.functional.test_sharing import Vault, user

    def stored(share_id: str) -> ShareModel:
        entry = next(iter(ShareModel.share_id_index.query(share_id)))
        return ShareModel.get(entry.resource, entry.grantee)

    def indexed() -> dict[str, datetime]:
        """Every entry of the ends index, by share id (token pointers have none: they would fail the lookup)."""
        entries = [entry for shard in ENDS_SHARDS for entry in ShareModel.ends_index.query(shard)]
        assert not [entry for entry in entries if entry.resource.startswith("token#")]
        return {ShareModel.get(e.resource, e.grantee).share_id: e.ends_at for e in entries}

    def edit(share_id: str, changes: dict[str, Any]) -> None:
        response = vault.call("alice", "PATCH", f"/shares/{share_id}", changes)
        assert response.status_code == 200, response.body

    vault = Vault(api, tokens)
    photo = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], vault.tokens["alice"])
    later = datetime.now(UTC) + timedelta(days=1)
    # GIVEN a grant without expiry, one with, a link limited to two uses and a link without limits
    forever = vault.grant("alice", photo, user("bob"), ["view"])
    expiring = vault.grant("alice", photo, user("ada"), ["view"], expires_at=later.isoformat())
    limited = json.loads(vault.share("alice", photo, {"type": "link"}, ["view"], max_uses=2).body)
    unlimited = json.loads(vault.share("alice", photo, {"type": "link"}, ["view"]).body)

    # THEN only the expiring grant and the limited link are in the index: the first at its expiry, the link (with
    # no expiry) at NEVER
    assert stored(forever).ends_shard is None
    assert stored(unlimited["share_id"]).ends_shard is None
    assert stored(expiring).ends_shard == ends_shard(expiring)
    assert indexed() == {expiring: stored(expiring).expires_at, limited["share_id"]: NEVER}

    # WHEN the expiry is taken off one grant and put on the other
    edit(expiring, {"expires_at": None})
    edit(forever, {"expires_at": later.isoformat()})
    # THEN they swap places in the index
    assert stored(expiring).ends_shard is None
    assert stored(expiring).ends_at is None
    assert indexed() == {forever: stored(forever).expires_at, limited["share_id"]: NEVER}

    # WHEN the limited link is opened once, then a second (its last) time
    link = f"/links/{limited['token']}"
    assert api.request("GET", link, headers={}, body=b"").status_code == 200
    assert indexed()[limited["share_id"]] == NEVER
    assert api.request("GET", link, headers={}, body=b"").status_code == 200
    # THEN it has ended: it moved to USED_UP, and an expiry set on it afterwards does not move it back
    assert indexed()[limited["share_id"]] == USED_UP
    assert api.request("GET", link, headers={}, body=b"").status_code == 404
    edit(limited["share_id"], {"expires_at": later.isoformat()})
    assert indexed()[limited["share_id"]] == USED_UP

    # WHEN the janitor runs (no scan): only the used-up link goes; grants that have not ended stay
    with no_scans() as scanned:
        result = run_janitor()
    assert scanned == []
    assert counts(result, "expired_shares") == {"expired_shares": 1}
    assert indexed() == {forever: stored(forever).expires_at}
    assert stored(unlimited["share_id"]).share_id == unlimited["share_id"]
