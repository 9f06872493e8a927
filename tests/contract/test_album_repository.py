"""The albums adapter on moto's DynamoDB with the template's tables: membership and the item's album set move
together, and every conditional write refuses what the domain must not see happen."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.provision import load_template
from shared.adapters.dynamo.albums import DynamoAlbumRepository
from shared.adapters.dynamo.media import DynamoMediaRepository
from shared.adapters.dynamo.media_model import MediaModel
from shared.domain.albums import Album, AlbumChanges
from shared.domain.errors import Conflict, NotFound, ValidationError
from shared.domain.policy import MAX_ALBUMS_PER_ITEM
from tests.contract.conftest import CURSOR_KEY, REGION
from tests.contract.support import EPOCH, an_item


@pytest.fixture
def tables() -> Iterator[tuple[DynamoAlbumRepository, DynamoMediaRepository]]:
    resources = load_template()["Resources"]
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for logical_id in ("MediaTable", "AlbumsTable"):
            props: dict[str, Any] = resources[logical_id]["Properties"]
            indexes = {k: props[k] for k in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes") if k in props}
            dynamodb.create_table(
                TableName=f"contract-{logical_id}",
                AttributeDefinitions=props["AttributeDefinitions"],
                KeySchema=props["KeySchema"],
                BillingMode="PAY_PER_REQUEST",
                **indexes,
            )
        media = DynamoMediaRepository("contract-MediaTable", REGION, cursor_key=CURSOR_KEY)
        albums = DynamoAlbumRepository("contract-AlbumsTable", "contract-MediaTable", REGION, cursor_key=CURSOR_KEY)
        yield albums, media


def an_album(album_id: str = "a1", owner: str = "alice", minutes: int = 0) -> Album:
    at = EPOCH + timedelta(minutes=minutes)
    return Album(album_id, owner, f"album {album_id}", at, at)


def test_membership_writes_the_items_album_set_and_the_count_together(tables: Any) -> None:
    albums, media = tables
    albums.create(an_album())
    for n in range(3):
        media.create(an_item(f"m{n}"))
    for n, position in enumerate(("b", "c", "a")):
        albums.add(albums.get("a1"), media.get(f"m{n}"), position)
    album = albums.get("a1")
    assert (album.item_count, album.revision) == (3, 3)
    assert media.get("m0").album_ids == {"a1"}
    assert [m.media_id for m in albums.following("a1", None, 10)] == ["m2", "m0", "m1"]
    assert [m.media_id for m in albums.following("a1", "b", 10)] == ["m1"]
    assert albums.last("a1").media_id == "m1"
    assert albums.member("a1", "m0").position == "b"
    # the same item twice: refused whole, nothing counted
    with pytest.raises(Conflict):
        albums.add(album, media.get("m0"), "d")
    assert albums.get("a1").item_count == 3
    albums.remove(album, "m0")
    assert media.get("m0").album_ids == frozenset()
    assert albums.member("a1", "m0") is None
    assert albums.get("a1").item_count == 2
    with pytest.raises(NotFound):
        albums.remove(album, "m0")


def test_only_the_album_owners_untrashed_items_in_fewer_than_the_most_albums(tables: Any) -> None:
    albums, media = tables
    albums.create(an_album())
    media.create(an_item("bobs", owner="bob"))
    media.create(an_item("full"))
    media.create(an_item("trashed"))
    MediaModel("full").update(actions=[MediaModel.album_ids.set({f"x{n}" for n in range(MAX_ALBUMS_PER_ITEM)})])
    media.set_trashed("trashed", True)
    for media_id in ("bobs", "full", "trashed"):
        with pytest.raises(Conflict):
            albums.add(albums.get("a1"), media.get(media_id), "m")
    assert albums.get("a1").item_count == 0
    assert albums.following("a1", None, 10) == []
    assert "a1" not in media.get("full").album_ids


def test_edits_and_moves_need_the_current_revision_and_a_cover_in_the_album(tables: Any) -> None:
    albums, media = tables
    albums.create(an_album())
    media.create(an_item("m1"))
    media.create(an_item("loose"))
    albums.add(albums.get("a1"), media.get("m1"), "m")
    album = albums.get("a1")
    with pytest.raises(Conflict):
        albums.update(album, AlbumChanges(cover_media_id="loose"))
    with pytest.raises(Conflict):
        albums.update(replace(album, revision=album.revision - 1), AlbumChanges(title="stale"))
    covered = albums.update(album, AlbumChanges(title="New", cover_media_id="m1"))
    assert (covered.title, covered.cover_media_id, covered.revision) == ("New", "m1", album.revision + 1)
    with pytest.raises(Conflict):
        albums.move(album, "m1", "n")
    moved = albums.move(covered, "m1", "n")
    assert albums.member("a1", "m1").position == "n"
    # taking the cover out of the album clears the cover
    albums.remove(moved, "m1")
    assert albums.get("a1").cover_media_id == ""


def test_an_album_is_deleted_only_once_empty_and_a_purged_item_leaves_it(tables: Any) -> None:
    albums, media = tables
    albums.create(an_album())
    media.create(an_item("m1"))
    media.create(an_item("m2"))
    for media_id, position in (("m1", "a"), ("m2", "b")):
        albums.add(albums.get("a1"), media.get(media_id), position)
    with pytest.raises(Conflict):
        albums.delete(albums.get("a1"))
    item = media.get("m2")
    MediaModel("m2").delete()
    albums.forget_item(item)
    assert [m.media_id for m in albums.following("a1", None, 10)] == ["m1"]
    albums.remove(albums.get("a1"), "m1")
    albums.delete(albums.get("a1"))
    assert albums.get("a1") is None
    albums.delete(an_album())  # gone already is fine


def test_owned_albums_page_newest_first_with_cursors_for_that_owner_only(tables: Any) -> None:
    albums, _ = tables
    for n in range(3):
        albums.create(an_album(f"a{n}", minutes=n))
    albums.create(an_album("b0", owner="bob"))
    first = albums.list_owned("alice", 2, None)
    assert [a.album_id for a in first.albums] == ["a2", "a1"]
    rest = albums.list_owned("alice", 2, first.cursor)
    assert [a.album_id for a in rest.albums] == ["a0"]
    with pytest.raises(ValidationError):
        albums.list_owned("bob", 2, first.cursor)
    assert set(albums.get_many(["a0", "b0", "nope"])) == {"a0", "b0"}


def test_members_page_in_order_with_cursors_for_their_scope_only(tables: Any) -> None:
    albums, media = tables
    albums.create(an_album())
    for n, position in enumerate("dcba"):
        media.create(an_item(f"m{n}"))
        albums.add(albums.get("a1"), media.get(f"m{n}"), position)
    listed = list(albums.members("a1", None, "scope"))
    assert [m.media_id for m, _ in listed] == ["m3", "m2", "m1", "m0"]
    resumed = [m.media_id for m, _ in albums.members("a1", listed[1][1], "scope")]
    assert resumed == ["m1", "m0"]
    with pytest.raises(ValidationError):
        list(albums.members("a1", listed[1][1], "another scope"))
