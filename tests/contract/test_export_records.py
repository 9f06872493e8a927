"""An export's item listing (DynamoPersonalRecords.items_from): the library then the trash, resumable from the
cursor given with each item, on the fake repository and on DynamoDB alike."""

from __future__ import annotations

from typing import Any

from shared.adapters.dynamo.exports import DynamoPersonalRecords
from tests.contract.conftest import Vault
from tests.contract.support import an_item


def records(vault: Vault) -> DynamoPersonalRecords:
    """Only the media listing is read here; pages of three make the page boundaries show with a few items."""
    unused: Any = None
    return DynamoPersonalRecords(vault.media, unused, unused, unused, unused, page_size=3)


def library(vault: Vault) -> list[str]:
    """alice: seven items a minute apart (m0 oldest), m2 and m5 in the trash, and bob's one item."""
    vault.open_account("alice")
    for n in range(7):
        vault.media.create(an_item(f"m{n}", minutes=n))
    vault.media.create(an_item("b0", owner="bob", minutes=9))
    for trashed in ("m2", "m5"):
        vault.media.set_trashed(trashed, True)
    return ["m6", "m4", "m3", "m1", "m0", "m5", "m2"]  # the library newest first, then the trash newest first


def test_items_from_the_start_are_the_library_then_the_trash_each_once(vault: Vault) -> None:
    expected = library(vault)
    listed = list(records(vault).items_from("alice", ""))
    assert [item.media_id for item, _ in listed] == expected
    assert records(vault).count_items("alice") == len(expected)
    # AND after the last item nothing is left, whatever is added meanwhile
    vault.media.create(an_item("m9", minutes=20))
    assert list(records(vault).items_from("alice", listed[-1][1])) == []


def test_the_cursor_given_with_each_item_resumes_right_after_it(vault: Vault) -> None:
    expected = library(vault)
    listed = list(records(vault).items_from("alice", ""))
    for position, (_, cursor) in enumerate(listed):
        again = [item.media_id for item, _ in records(vault).items_from("alice", cursor)]
        assert again == expected[position + 1 :], (position, cursor)


def test_a_resumed_listing_is_not_shifted_by_uploads_or_by_the_last_item_written_going(vault: Vault) -> None:
    expected = library(vault)
    listed = list(records(vault).items_from("alice", ""))
    after_m6 = listed[0][1]  # mid-page: m6 written, m4 and m3 left on that page
    after_m4 = listed[1][1]
    # WHEN a new item is uploaded (newest: listed first) and m4, the last one written, is deleted
    vault.media.create(an_item("m8", minutes=30))
    vault.media.purge_record(vault.media.set_trashed("m4", True))
    # THEN each listing goes on where it stopped
    assert [item.media_id for item, _ in records(vault).items_from("alice", after_m6)] == [
        m for m in expected[1:] if m != "m4"
    ]
    assert [item.media_id for item, _ in records(vault).items_from("alice", after_m4)] == expected[2:]
