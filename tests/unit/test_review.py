"""Moderation review rules, without AWS: who may decide, what the owner sees, and the one second look."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.domain.errors import Conflict, Forbidden, NotFound
from shared.domain.media import MediaItem, MediaStatus
from shared.domain.notifications import Notification, NotificationKind
from shared.domain.ports import Page
from shared.domain.principal import Principal, Role
from shared.domain.review import Decision, ModerationReview, QueueFilter, review_status

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ALICE = Principal(sub="alice", username="alice", role=Role.USER)
BOB = Principal(sub="bob", username="bob", role=Role.USER)
ADA = Principal(sub="ada", username="ada", role=Role.ADMIN)


def flagged_item() -> MediaItem:
    return MediaItem(
        media_id="m1",
        owner_id="alice",
        filename="a.jpg",
        content_type="image/jpeg",
        size=1,
        object_key="originals/alice/m1",
        status=MediaStatus.READY,
        flagged=True,
        flagged_at=NOW,
        awaiting_review=True,
        moderation={"score": 0.9},
    )


class Repository:
    def __init__(self, item: MediaItem) -> None:
        self.item = item

    def get(self, media_id: str) -> MediaItem | None:
        return self.item if media_id == self.item.media_id else None

    def review_queue(self, queue_filter: QueueFilter, limit: int, cursor: str | None) -> Page:
        return Page(items=[self.item] if self.item.awaiting_review else [], cursor=None)

    def record_decision(self, item: MediaItem, decision: Decision, review: dict[str, Any]) -> MediaItem:
        status = MediaStatus.REJECTED if decision is Decision.REJECT else MediaStatus.READY
        flagged = decision is Decision.REJECT and item.flagged
        self.item = replace(item, review=review, awaiting_review=False, status=status, flagged=flagged, renditions={})
        return self.item

    def requeue_for_second_look(self, item: MediaItem, review: dict[str, Any], at: datetime) -> MediaItem:
        self.item = replace(item, review=review, awaiting_review=True, flagged_at=at)
        return self.item


class Storage:
    def __init__(self) -> None:
        self.purged: list[list[str]] = []

    def presign_get(
        self, key: str, ttl_seconds: int, filename: str | None = None, version_id: str | None = None
    ) -> str:
        return f"https://signed/{key}"

    def purge(self, exact_keys: list[str], prefixes: list[str]) -> int:
        self.purged.append(prefixes)
        return 0


class Notifications:
    def __init__(self) -> None:
        self.added: list[Notification] = []

    def add(self, notification: Notification) -> bool:
        self.added.append(notification)
        return True


def review_of(item: MediaItem) -> tuple[ModerationReview, Repository, Storage, Notifications]:
    repository, storage, notifications = Repository(item), Storage(), Notifications()
    service = ModerationReview(
        repository,
        storage,  # type: ignore[arg-type]
        notifications,  # type: ignore[arg-type]
        url_ttl_seconds=60,
        clock=lambda: NOW,
    )
    return service, repository, storage, notifications


def test_only_admins_list_and_decide() -> None:
    service, _, _, _ = review_of(flagged_item())
    for caller in (ALICE, BOB):
        with pytest.raises(Forbidden):
            service.queue(caller, QueueFilter(), 10, None)
        with pytest.raises(Forbidden):
            service.decide(caller, "m1", Decision.APPROVE, "")
    assert [queued.score for queued in service.queue(ADA, QueueFilter(), 10, None).items] == [0.9]


def test_a_rejection_records_the_reviewer_purges_renditions_and_notifies_the_owner() -> None:
    service, repository, storage, notifications = review_of(flagged_item())
    service.decide(ADA, "m1", Decision.REJECT, "explicit")
    assert repository.item.review == {
        "decision": "reject",
        "reviewer_id": "ada",
        "reason": "explicit",
        "decided_at": NOW.isoformat(),
        "version": "",  # the version decided on (this item has no version id yet)
    }
    assert storage.purged == [["renditions/alice/m1/"]]
    assert [(n.recipient_id, n.kind) for n in notifications.added] == [("alice", NotificationKind.MODERATION_REJECTED)]
    assert review_status(repository.item) == {
        "state": "rejected",
        "reason": "explicit",
        "decided_at": NOW.isoformat(),
        "second_look": False,
    }
    with pytest.raises(Conflict):
        service.decide(ADA, "m1", Decision.APPROVE, "")  # no longer awaiting review


def test_the_owner_alone_asks_for_a_second_look_and_only_once() -> None:
    service, repository, _, _ = review_of(flagged_item())
    assert review_status(repository.item) == {"state": "awaiting_review", "second_look": False}
    for caller in (BOB, ADA):
        with pytest.raises(NotFound):
            service.request_second_look(caller, "m1")
    asked = service.request_second_look(ALICE, "m1")
    assert review_status(asked) == {"state": "awaiting_review", "second_look": True}
    with pytest.raises(Conflict):
        service.request_second_look(ALICE, "m1")


def test_nothing_to_look_at_again_on_an_item_never_flagged() -> None:
    item = replace(flagged_item(), flagged=False, awaiting_review=False, flagged_at=None)
    service, _, _, _ = review_of(item)
    assert review_status(item) is None
    with pytest.raises(Conflict):
        service.request_second_look(ALICE, "m1")
