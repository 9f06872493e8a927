"""The media repository's conditional writes: each transition happens once, from the states it allows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.errors import Conflict, NotFound
from shared.domain.media import MediaItem, MediaStatus
from shared.domain.ports import DetailChanges
from tests.contract.conftest import Vault
from tests.contract.support import FAILED, PENDING, PROCESSING, READY, a_result, an_item


def test_create_then_get_returns_what_was_stored(vault: Vault) -> None:
    item = an_item("m1", sha256="ab" * 32, upload_id="up-1", stored_bytes=3000)
    vault.media.create(item)
    assert vault.media.get("m1") == item
    assert vault.media.get("missing") is None


def test_stored_bytes_default_to_the_declared_size(vault: Vault) -> None:
    vault.media.create(an_item("m1", stored_bytes=0))
    assert vault.media.get("m1").stored_bytes == 1000


def test_creating_the_same_id_twice_is_a_conflict_and_keeps_the_first(vault: Vault) -> None:
    vault.media.create(an_item("m1"))
    with pytest.raises(Conflict):
        vault.media.create(an_item("m1", owner="mallory"))
    assert vault.media.get("m1").owner_id == "alice"


def test_details_change_only_from_the_revision_they_were_based_on(vault: Vault) -> None:
    vault.media.create(an_item("m1"))
    read = vault.media.get("m1")
    changes = DetailChanges(
        title="Harbour", description="At dusk", tags=("sea", "boats"), taken_at_override="2020-01-01T00:00:00+00:00"
    )
    edited = vault.media.update_details(read, dataclasses.replace(changes, location_visible=True))
    assert (edited.revision, edited.title, edited.description) == (1, "Harbour", "At dusk")
    assert (edited.tags, edited.taken_at_override, edited.location_visible) == (
        ("boats", "sea"),
        changes.taken_at_override,
        True,
    )
    assert vault.media.get("m1") == edited
    with pytest.raises(Conflict):
        vault.media.update_details(read, DetailChanges(title="stale"))
    assert vault.media.get("m1").title == "Harbour"


def test_editing_a_missing_item_is_a_conflict(vault: Vault) -> None:
    with pytest.raises(Conflict):
        vault.media.update_details(an_item("gone"), DetailChanges(title="x"))


def test_trash_and_restore_each_happen_once(vault: Vault) -> None:
    vault.media.create(an_item("m1"))
    trashed = vault.media.set_trashed("m1", True)
    assert trashed.trashed_at is not None and trashed.revision == 1
    with pytest.raises(Conflict):
        vault.media.set_trashed("m1", True)
    restored = vault.media.set_trashed("m1", False)
    assert restored.trashed_at is None and restored.revision == 2
    with pytest.raises(Conflict):
        vault.media.set_trashed("m1", False)
    with pytest.raises(Conflict):
        vault.media.set_trashed("missing", True)


def test_claim_takes_a_pending_item_once(vault: Vault) -> None:
    vault.media.create(an_item("m1"))
    claimed = vault.media.claim("m1", lease_seconds=600, version_id="v1")
    assert (claimed.status, claimed.version_id) == (PROCESSING, "v1")
    assert claimed.updated_at > an_item("m1").updated_at
    with pytest.raises(Conflict):
        vault.media.claim("m1", lease_seconds=600)
    with pytest.raises(Conflict):
        vault.media.claim("missing", lease_seconds=600)


def test_claim_takes_over_a_processing_item_only_once_its_lease_ran_out(vault: Vault) -> None:
    recent = datetime.now(UTC) - timedelta(seconds=30)
    vault.media.create(an_item("live", status=PROCESSING, updated_at=recent))
    vault.media.create(an_item("dead", status=PROCESSING, updated_at=recent - timedelta(hours=1)))
    with pytest.raises(Conflict):
        vault.media.claim("live", lease_seconds=600)
    assert vault.media.claim("dead", lease_seconds=600, version_id="v9").version_id == "v9"


@pytest.mark.parametrize("status", [READY, FAILED, MediaStatus.REJECTED])
def test_a_finished_item_cannot_be_claimed(vault: Vault, status: MediaStatus) -> None:
    vault.media.create(an_item("m1", status=status))
    with pytest.raises(Conflict):
        vault.media.claim("m1", lease_seconds=0)


def test_finish_records_the_result_once_and_only_from_processing(vault: Vault) -> None:
    vault.media.create(an_item("m1", upload_id="up-1"))
    with pytest.raises(Conflict):
        vault.media.finish("m1", READY, result=a_result())
    vault.media.claim("m1", lease_seconds=600, version_id="v1")
    ready = vault.media.finish("m1", READY, result=a_result())
    assert vault.media.get("m1") == ready
    assert (ready.status, ready.width, ready.height, ready.version_id, ready.sequencer) == (
        READY,
        1600,
        1200,
        "v2",
        "0055",
    )
    assert ready.metadata == {"format": "JPEG", "camera": "Fujifilm X-T5", "colors": ["#aabbcc"]}
    assert (ready.placeholder, ready.taken_at) == ("LEHV6nWB2yk8pyo0adR*.7kCMdnj", "2024-05-01T10:00:00+02:00")
    assert set(ready.renditions) == {"thumbnail"}
    assert (ready.upload_id, ready.upload_completing) == ("", False)
    with pytest.raises(Conflict):
        vault.media.finish("m1", FAILED, reason="late")
    with pytest.raises(Conflict):
        vault.media.finish("missing", FAILED, reason="x", allowed_from=(PENDING, PROCESSING))


def test_failing_without_a_result_drops_renditions_and_keeps_the_reason(vault: Vault) -> None:
    vault.media.create(an_item("m1", status=PROCESSING))
    vault.media.finish("m1", READY, result=a_result())
    vault.media.start_new_version(an_item("m1", size=2000, stored_bytes=3000), expected_revision=0)
    failed = vault.media.finish("m1", FAILED, reason="ran out of time", allowed_from=(PENDING, PROCESSING))
    assert (failed.status, failed.failure_reason, failed.renditions, failed.placeholder) == (
        FAILED,
        "ran out of time",
        {},
        "",
    )


def test_start_new_version_puts_the_item_back_to_pending_from_the_revision_read(vault: Vault) -> None:
    vault.media.create(an_item("m1", status=PROCESSING, sha256="aa" * 32))
    vault.media.finish("m1", READY, result=a_result())
    new = an_item("m1", filename="v2.png", content_type="image/png", size=2000, stored_bytes=3000, upload_id="up-2")
    pending = vault.media.start_new_version(new, expected_revision=0)
    assert (pending.status, pending.revision, pending.filename, pending.content_type) == (
        PENDING,
        1,
        "v2.png",
        "image/png",
    )
    assert (pending.size, pending.stored_bytes, pending.sha256, pending.upload_id) == (2000, 3000, "", "up-2")
    assert vault.media.find_by_checksum("alice", "aa" * 32) == []
    with pytest.raises(Conflict):
        vault.media.start_new_version(new, expected_revision=0)


def test_analysis_is_saved_only_on_an_item_that_exists(vault: Vault) -> None:
    vault.media.create(an_item("m1"))
    vault.media.save_analysis("m1", moderation={"score": 0.9}, flagged=True)
    vault.media.save_analysis("m1", ai_description={"status": "ready", "text": "a harbour"})
    item = vault.media.get("m1")
    assert (item.moderation, item.flagged, item.ai_description) == (
        {"score": 0.9},
        True,
        {"status": "ready", "text": "a harbour"},
    )
    with pytest.raises(NotFound):
        vault.media.save_analysis("missing", flagged=False)


def _stored(vault: Vault, *items: object, extra: int = 500) -> None:
    """Open alice's account holding every item's bytes plus `extra` of other items (so a double release shows)."""
    vault.open_account("alice")
    vault.ledger.reserve("alice", sum(i.stored_bytes for i in items) + extra, 10**12)  # type: ignore[attr-defined]
    for item in items:
        vault.media.create(item)


def test_purge_deletes_a_trashed_record_and_releases_its_bytes_once(vault: Vault) -> None:
    kept, doomed = an_item("kept"), an_item("doomed", stored_bytes=4000)
    _stored(vault, kept, doomed)
    with pytest.raises(Conflict):
        vault.media.purge_record(doomed)  # not in the trash
    trashed = vault.media.set_trashed("doomed", True)
    vault.media.purge_record(trashed)
    with pytest.raises(Conflict):
        vault.media.purge_record(trashed)
    assert vault.media.get("doomed") is None
    assert vault.reserved("alice") == 1000 + 500


def test_a_restore_between_listing_and_purge_keeps_the_item(vault: Vault) -> None:
    _stored(vault, an_item("m1"))
    listed = vault.media.set_trashed("m1", True)
    vault.media.set_trashed("m1", False)
    with pytest.raises(Conflict):
        vault.media.purge_record(listed)
    assert vault.media.get("m1") is not None and vault.reserved("alice") == 1500


def test_abort_deletes_an_upload_in_progress_once(vault: Vault) -> None:
    upload = an_item("m1", upload_id="up-1", stored_bytes=6000)
    _stored(vault, upload)
    with pytest.raises(Conflict):
        vault.media.abort_upload(dataclasses.replace(upload, upload_id="up-other"))
    vault.media.abort_upload(upload)
    with pytest.raises(Conflict):
        vault.media.abort_upload(upload)
    assert vault.media.get("m1") is None and vault.reserved("alice") == 500


def test_completion_excludes_abort_and_expiry_until_undone(vault: Vault) -> None:
    upload = an_item("m1", upload_id="up-1")
    _stored(vault, upload)
    vault.media.begin_completion(upload)
    with pytest.raises(Conflict):
        vault.media.begin_completion(upload)
    with pytest.raises(Conflict):
        vault.media.abort_upload(upload)
    assert vault.media.expire_upload(upload) is False
    vault.media.undo_completion(upload)
    assert vault.media.get("m1").upload_completing is False
    vault.media.begin_completion(upload)
    assert vault.media.get("m1").upload_completing is True
    assert vault.reserved("alice") == 1500


def test_a_processed_upload_can_no_longer_be_completed_or_aborted(vault: Vault) -> None:
    upload = an_item("m1", upload_id="up-1")
    _stored(vault, upload)
    vault.media.claim("m1", lease_seconds=600)
    with pytest.raises(Conflict):
        vault.media.begin_completion(upload)
    vault.media.finish("m1", READY, result=a_result())
    with pytest.raises(Conflict):
        vault.media.abort_upload(upload)
    assert vault.reserved("alice") == 1500


def test_expiry_deletes_only_an_upload_unchanged_since_it_was_read(vault: Vault) -> None:
    abandoned, revised, claimed = an_item("abandoned"), an_item("revised", minutes=1), an_item("claimed", minutes=2)
    _stored(vault, abandoned, revised, claimed)
    vault.media.start_new_version(revised, expected_revision=0)
    vault.media.claim("claimed", lease_seconds=600)
    assert vault.media.expire_upload(revised) is False  # pending again, but not the pending that was read
    assert vault.media.expire_upload(claimed) is False
    assert vault.media.expire_upload(abandoned) is True
    assert vault.media.expire_upload(abandoned) is False
    assert vault.media.get("abandoned") is None
    assert vault.reserved("alice") == 2000 + 500


def _a_new_version_declared(vault: Vault, upload_id: str) -> MediaItem:
    """A ready photo whose owner declared a 3000-byte replacement (quota reserved for it), not yet uploaded."""
    original = an_item("m1")
    _stored(vault, original)
    vault.media.claim("m1", lease_seconds=600)
    ready = vault.media.finish("m1", READY, result=a_result())
    vault.ledger.reserve("alice", 3000, 10**12)  # type: ignore[attr-defined]
    replacement = dataclasses.replace(
        ready,
        filename="new.png",
        content_type="image/png",
        size=3000,
        stored_bytes=ready.stored_bytes + 3000,
        upload_id=upload_id,
        superseded=ready.superseded_by_upload(),
    )
    return vault.media.start_new_version(replacement, expected_revision=ready.revision)


@pytest.mark.parametrize("given_up_by", ["owner", "janitor"])
def test_a_new_version_given_up_returns_the_item_to_its_original(vault: Vault, given_up_by: str) -> None:
    pending = _a_new_version_declared(vault, upload_id="up-2" if given_up_by == "owner" else "")
    assert vault.reserved("alice") == 1000 + 500 + 3000
    if given_up_by == "owner":
        vault.media.abort_upload(pending)
        with pytest.raises(Conflict):
            vault.media.abort_upload(pending)
    else:
        assert vault.media.expire_upload(pending) is True
        assert vault.media.expire_upload(pending) is False
    back = vault.media.get("m1")
    assert (back.status, back.filename, back.content_type, back.size, back.stored_bytes) == (
        READY,
        "m1.jpg",
        "image/jpeg",
        1000,
        1000,
    )
    assert (back.superseded, back.upload_id, back.width) == (None, "", 1600)
    assert vault.reserved("alice") == 1000 + 500  # exactly the replacement's bytes came back, once


def test_a_new_version_whose_bytes_arrived_can_no_longer_be_given_up(vault: Vault) -> None:
    pending = _a_new_version_declared(vault, upload_id="up-2")
    vault.media.claim("m1", lease_seconds=600)
    assert vault.media.get("m1").superseded is None
    with pytest.raises(Conflict):
        vault.media.abort_upload(pending)
    assert vault.reserved("alice") == 1000 + 500 + 3000


def test_a_release_larger_than_the_reservation_leaves_zero_not_a_negative_count(vault: Vault) -> None:
    # A record older than the ledger: its bytes were never reserved, so the counter is out of step.
    doomed = an_item("doomed", stored_bytes=4000)
    vault.open_account("alice")
    vault.ledger.reserve("alice", 1000, 10**12)  # type: ignore[attr-defined]
    vault.media.create(doomed)
    vault.media.set_trashed("doomed", True)
    vault.media.purge_record(vault.media.get("doomed"))
    assert vault.media.get("doomed") is None
    assert vault.reserved("alice") == 0
