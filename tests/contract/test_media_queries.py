"""The media repository's reads: an owner's listing with its cursors, checksum lookups, the janitor's sweeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.errors import ValidationError
from shared.domain.media import MediaItem
from shared.domain.ports import DetailChanges, MediaQuery, SortField
from tests.contract.conftest import Vault
from tests.contract.support import EPOCH, READY, a_result, an_item


def _every_page(vault: Vault, owner: str, query: MediaQuery, limit: int) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(50):
        page = vault.media.list_owned(owner, query, limit, cursor)
        assert len(page.items) <= limit
        ids += [item.media_id for item in page.items]
        cursor = page.cursor
        if cursor is None:
            return ids
    raise AssertionError("the listing never ended")


@pytest.fixture
def library(vault: Vault) -> Vault:
    """alice: five photos and a video a minute apart (p0 oldest), one tagged, one trashed; bob: one photo."""
    for n in range(5):
        vault.media.create(an_item(f"p{n}", minutes=n))
    vault.media.create(an_item("v5", minutes=5, filename="Harbour.mp4", content_type="video/mp4"))
    vault.media.create(an_item("b0", owner="bob", minutes=6))
    vault.media.update_details(vault.media.get("p1"), DetailChanges(tags=("sea",), title="Sea at dawn"))
    vault.media.update_details(vault.media.get("p3"), DetailChanges(taken_at_override="2001-01-01T00:00:00+00:00"))
    vault.media.set_trashed("p2", True)
    vault.media.claim("p4", lease_seconds=600)
    vault.media.finish("p4", READY, result=a_result(taken_at="2010-06-01T00:00:00+00:00"))
    return vault


def test_listing_pages_through_every_item_newest_first_then_oldest_first(library: Vault) -> None:
    assert _every_page(library, "alice", MediaQuery(), limit=2) == ["v5", "p4", "p3", "p1", "p0"]
    assert _every_page(library, "alice", MediaQuery(descending=False), limit=3) == ["p0", "p1", "p3", "p4", "v5"]
    assert _every_page(library, "alice", MediaQuery(trashed=True), limit=2) == ["p2"]
    assert _every_page(library, "bob", MediaQuery(), limit=10) == ["b0"]


def test_listing_by_taken_time_falls_back_to_upload_time(library: Vault) -> None:
    query = MediaQuery(sort=SortField.TAKEN, descending=False)
    assert _every_page(library, "alice", query, limit=2) == ["p3", "p4", "p0", "p1", "v5"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (MediaQuery(kind="video"), ["v5"]),
        (MediaQuery(status="ready"), ["p4"]),
        (MediaQuery(tag="sea"), ["p1"]),
        (MediaQuery(text="harbour"), ["v5"]),
        (MediaQuery(text="dawn"), ["p1"]),
        (
            MediaQuery(
                created_from=(EPOCH + timedelta(minutes=1)).isoformat(),
                created_to=(EPOCH + timedelta(minutes=3)).isoformat(),
            ),
            ["p3", "p1"],
        ),
        (MediaQuery(taken_from="2000-01-01", taken_to="2011-01-01"), ["p4", "p3"]),
        (MediaQuery(sort=SortField.TAKEN, taken_to="2011-01-01"), ["p4", "p3"]),
        (MediaQuery(sort=SortField.TAKEN, created_from=(EPOCH + timedelta(minutes=4)).isoformat()), ["v5", "p4"]),
    ],
)
def test_listing_filters(library: Vault, query: MediaQuery, expected: list[str]) -> None:
    assert _every_page(library, "alice", query, limit=1) == expected


def test_a_cursor_is_accepted_only_by_the_listing_that_issued_it(library: Vault) -> None:
    cursor = library.media.list_owned("alice", MediaQuery(), 2, None).cursor
    assert cursor is not None
    assert [i.media_id for i in library.media.list_owned("alice", MediaQuery(), 2, cursor).items] == ["p3", "p1"]
    for owner, query in [
        ("bob", MediaQuery()),
        ("alice", MediaQuery(kind="image")),
        ("alice", MediaQuery(descending=False)),
    ]:
        with pytest.raises(ValidationError):
            library.media.list_owned(owner, query, 2, cursor)
    payload, _, signature = cursor.partition(".")
    for forged in ["garbage", f"{payload}.", f"{payload}x.{signature}", f"{payload}.{signature[:-2]}AA"]:
        with pytest.raises(ValidationError):
            library.media.list_owned("alice", MediaQuery(), 2, forged)


def test_find_by_checksum_looks_only_in_the_owners_items(vault: Vault) -> None:
    digest = "cd" * 32
    vault.media.create(an_item("mine", sha256=digest))
    vault.media.create(an_item("other", sha256="ef" * 32))
    vault.media.create(an_item("plain"))
    vault.media.create(an_item("theirs", owner="bob", sha256=digest))
    assert [i.media_id for i in vault.media.find_by_checksum("alice", digest)] == ["mine"]
    assert vault.media.find_by_checksum("alice", "") == []
    assert vault.media.find_by_checksum("carol", digest) == []


def _ids(items: list[MediaItem]) -> list[str]:
    return [item.media_id for item in items]


def test_pending_since_finds_old_pending_items_oldest_first_across_every_shard(vault: Vault) -> None:
    now = datetime.now(UTC)
    # Enough ids that they land in many shards of a sharded index; created newest first so order is not insertion.
    for n in reversed(range(40)):
        vault.media.create(an_item(f"old{n:02d}", updated_at=now - timedelta(hours=48 - n)))
    vault.media.create(an_item("fresh", updated_at=now))
    vault.media.create(an_item("busy", status=READY, updated_at=now - timedelta(hours=72)))
    vault.media.claim("old00", lease_seconds=600)
    expected = [f"old{n:02d}" for n in range(1, 40)]
    assert _ids(vault.media.pending_since(now - timedelta(minutes=1), 100)) == expected
    assert _ids(vault.media.pending_since(now - timedelta(minutes=1), 5)) == expected[:5]
    assert _ids(vault.media.pending_since(now - timedelta(hours=45, minutes=30), 100)) == expected[:2]


def test_an_item_put_back_to_pending_is_pending_again(vault: Vault) -> None:
    vault.media.create(an_item("m1", status=READY))
    vault.media.start_new_version(an_item("m1"), expected_revision=0)
    assert _ids(vault.media.pending_since(datetime.now(UTC) + timedelta(seconds=1), 10)) == ["m1"]
    vault.media.claim("m1", lease_seconds=600)
    assert vault.media.pending_since(datetime.now(UTC) + timedelta(seconds=1), 10) == []


def test_trashed_before_finds_old_trash_oldest_first_and_forgets_restored_items(vault: Vault) -> None:
    for n in range(6):
        vault.media.create(an_item(f"t{n}", minutes=n))
    marks = []
    for n in (3, 0, 5, 1, 4):
        vault.media.set_trashed(f"t{n}", True)
        marks.append(datetime.now(UTC))
    vault.media.set_trashed("t5", False)
    everything = datetime.now(UTC) + timedelta(seconds=1)
    assert _ids(vault.media.trashed_before(everything, 10)) == ["t3", "t0", "t1", "t4"]
    assert _ids(vault.media.trashed_before(everything, 2)) == ["t3", "t0"]
    assert _ids(vault.media.trashed_before(marks[1], 10)) == ["t3", "t0"]
