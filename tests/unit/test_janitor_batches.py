"""Upkeep keeps going batch after batch while time remains, and stops before it runs out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.maintenance import BATCH_SECONDS, Janitor
from shared.domain.media import MediaItem, original_key
from tests.unit.fakes import MemoryLedger, MemoryRepository, MemoryStorage

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _vault(abandoned: int) -> tuple[Janitor, MemoryRepository, MemoryLedger]:
    ledger = MemoryLedger()
    repository = MemoryRepository(ledger)
    ledger.reserve("alice", abandoned * 10, 10**9)
    for n in range(abandoned):
        stale = NOW - timedelta(hours=30, minutes=n)
        media_id = f"m{n:04d}"
        repository.create(
            MediaItem(
                media_id,
                "alice",
                "a.jpg",
                "image/jpeg",
                10,
                original_key("alice", media_id),
                created_at=stale,
                updated_at=stale,
                stored_bytes=10,
            )
        )
    janitor = Janitor(
        repository,
        MemoryStorage(),
        lambda item: None,
        upload_max_age=timedelta(hours=24),
        trash_retention=timedelta(days=30),
        batch=20,
    )
    return janitor, repository, ledger


def test_a_backlog_larger_than_a_batch_is_cleared_in_one_run() -> None:
    janitor, repository, ledger = _vault(abandoned=45)
    assert janitor.sweep(NOW) == {"expired_uploads": 45, "purged_trash": 0}
    assert repository.items == {}
    assert ledger.reserved.get("alice", 0) == 0


def test_no_new_batch_starts_without_a_batchs_worth_of_time_left() -> None:
    janitor, repository, _ledger = _vault(abandoned=45)
    assert janitor.sweep(NOW, time_left=lambda: BATCH_SECONDS - 1) == {"expired_uploads": 20, "purged_trash": 0}
    assert len(repository.items) == 25  # the next hourly run takes them
