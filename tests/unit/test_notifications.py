"""Notifications: the center's listing, unread count and marking read; the notifier's once-per-event rule."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.errors import NotFound
from shared.domain.grants import Grant, Grantee, GranteeType, Permission, ResourceType
from shared.domain.media import MediaItem
from shared.domain.notifications import (
    Notification,
    NotificationCenter,
    NotificationKind,
    ShareEvent,
    not_found,
    notification_id,
)
from shared.domain.principal import Principal, Role
from shared.domain.share_notifier import ShareNotifier
from shared.domain.users import User

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BOB = Principal(sub="u-bob", username="bob", role=Role.USER)
CAROL = Principal(sub="u-carol", username="carol", role=Role.USER)


class MemoryNotifications:
    """NotificationRepository in memory (cursor: the last id shown)."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], Notification] = {}
        self.emailed: set[tuple[str, str]] = set()

    def add(self, notification: Notification) -> bool:
        key = (notification.recipient_id, notification.notification_id)
        if key in self.stored:
            return False
        self.stored[key] = notification
        return True

    def get(self, recipient_id: str, notification_id: str) -> Notification | None:
        return self.stored.get((recipient_id, notification_id))

    def _mine(self, recipient_id: str, unread_only: bool) -> list[Notification]:
        mine = [n for (r, _), n in self.stored.items() if r == recipient_id and (n.unread or not unread_only)]
        return sorted(mine, key=lambda n: n.notification_id, reverse=True)

    def page(
        self, recipient_id: str, unread_only: bool, limit: int, cursor: str | None
    ) -> tuple[list[Notification], str | None]:
        mine = [n for n in self._mine(recipient_id, unread_only) if cursor is None or n.notification_id < cursor]
        shown = mine[:limit]
        return shown, shown[-1].notification_id if len(mine) > limit else None

    def unread_count(self, recipient_id: str) -> int:
        return len(self._mine(recipient_id, True))

    def mark_read(self, recipient_id: str, notification_id: str, at: datetime) -> Notification:
        current = self.get(recipient_id, notification_id)
        if current is None:
            raise not_found()
        if current.unread:
            current = dataclasses.replace(current, read_at=at)
            self.stored[(recipient_id, notification_id)] = current
        return current

    def unread_ids(self, recipient_id: str) -> Iterator[str]:
        return iter([n.notification_id for n in self._mine(recipient_id, True)])

    def claim_email(self, notification: Notification, at: datetime) -> bool:
        key = (notification.recipient_id, notification.notification_id)
        if key in self.emailed:
            return False
        self.emailed.add(key)
        return True

    def release_email(self, notification: Notification) -> None:
        self.emailed.discard((notification.recipient_id, notification.notification_id))


class Users:
    def __init__(self) -> None:
        self.users = {
            "u-alice": User("u-alice", "alice", "alice@example.test", Role.USER),
            "u-bob": User("u-bob", "bob", "bob@example.test", Role.USER),
            "u-pat": User("u-pat", "pat", "pat@example.test", Role.PARTNER, partner_org="acme"),
        }

    def get(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def partners_of(self, org: str) -> Iterator[str]:
        return (u.user_id for u in self.users.values() if u.role is Role.PARTNER and u.partner_org == org)


class Media:
    def get(self, media_id: str) -> MediaItem | None:
        return (
            MediaItem(media_id, "u-alice", "beach.jpg", "image/jpeg", 10, "originals/x") if media_id == "m1" else None
        )


class Mailer:
    def __init__(self, failures: int = 0) -> None:
        self.sent: list[tuple[str, Notification]] = []
        self.failures = failures

    def send(self, address: str, notification: Notification) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("SES throttled")
        self.sent.append((address, notification))


def grant(share_id: str = "s1", grantee: Grantee | None = None, media_id: str = "m1") -> Grant:
    return Grant(
        share_id=share_id,
        resource_type=ResourceType.MEDIA,
        resource_id=media_id,
        owner_id="u-alice",
        grantee=grantee or Grantee(GranteeType.USER, "u-bob", "bob"),
        permissions=frozenset({Permission.VIEW, Permission.DOWNLOAD}),
        granted_by="u-alice",
        created_at=NOW,
    )


def notifier(mailer: Mailer | None = None) -> tuple[ShareNotifier, MemoryNotifications, Mailer]:
    repository, mail = MemoryNotifications(), mailer or Mailer()
    return ShareNotifier(repository, Users(), Media(), mail, clock=lambda: NOW), repository, mail  # type: ignore[arg-type]


def granted(at: datetime = NOW, *grants: Grant) -> ShareEvent:
    return ShareEvent(NotificationKind.SHARE_GRANTED, at, grants or (grant(),))


def test_a_grant_notifies_its_grantee_in_the_app_and_by_email_once() -> None:
    # GIVEN alice's grant to bob, delivered twice
    service, repository, mailer = notifier()
    # WHEN the notifier handles both deliveries
    first, second = service.handle(granted()), service.handle(granted())
    # THEN bob has one notification saying who shared what, and one email
    assert (first, second) == (1, 0)
    [stored] = repository.stored.values()
    assert stored.recipient_id == "u-bob"
    assert (stored.payload.actor_name, stored.payload.resource_title) == ("alice", "beach.jpg")
    assert stored.payload.permissions == ("download", "view")
    assert [address for address, _ in mailer.sent] == ["bob@example.test"]


def test_an_email_that_failed_is_sent_by_the_retry_and_the_notification_is_not_duplicated() -> None:
    service, repository, mailer = notifier(Mailer(failures=1))
    with pytest.raises(RuntimeError):
        service.handle(granted())
    assert service.handle(granted()) == 0
    assert len(repository.stored) == 1
    assert len(mailer.sent) == 1


def test_an_org_grant_notifies_the_partners_of_that_org() -> None:
    service, repository, mailer = notifier()
    assert service.handle(granted(NOW, grant(grantee=Grantee(GranteeType.ORG, "acme", "acme")))) == 1
    assert [n.recipient_id for n in repository.stored.values()] == ["u-pat"]
    assert [address for address, _ in mailer.sent] == ["pat@example.test"]
    assert service.handle(granted(NOW, grant("s2", Grantee(GranteeType.ORG, "globex", "globex")))) == 0


def test_a_revoke_notifies_every_removed_grantee_separately_from_the_grant() -> None:
    service, repository, _ = notifier()
    service.handle(granted())
    reshare = grant("s2", Grantee(GranteeType.USER, "u-carol", "carol"), media_id="gone")
    revoked = ShareEvent(NotificationKind.SHARE_REVOKED, NOW + timedelta(minutes=1), (grant(), reshare))
    assert service.handle(revoked) == 2
    kinds = sorted((n.recipient_id, n.kind.value, n.payload.resource_title) for n in repository.stored.values())
    assert kinds == [
        ("u-bob", "share.granted", "beach.jpg"),
        ("u-bob", "share.revoked", "beach.jpg"),
        ("u-carol", "share.revoked", ""),
    ]


def test_notification_ids_sort_by_time_and_repeat_for_the_same_event() -> None:
    early = notification_id(NOW, "s1", NotificationKind.SHARE_GRANTED)
    late = notification_id(NOW + timedelta(milliseconds=1), "s0", NotificationKind.SHARE_GRANTED)
    assert len(early) == 32 and early < late
    assert early == notification_id(NOW, "s1", NotificationKind.SHARE_GRANTED)
    assert early != notification_id(NOW, "s1", NotificationKind.SHARE_REVOKED)


def _center_with(count: int) -> tuple[NotificationCenter, MemoryNotifications]:
    service, repository, _ = notifier()
    for i in range(count):
        service.handle(granted(NOW + timedelta(seconds=i), grant(f"s{i}")))
    return NotificationCenter(repository, clock=lambda: NOW + timedelta(hours=1)), repository


def test_listing_is_newest_first_paged_and_carries_the_unread_count() -> None:
    center, _ = _center_with(3)
    first = center.listing(BOB, unread_only=False, limit=2, cursor=None)
    assert [n.payload.share_id for n in first.items] == ["s2", "s1"]
    assert first.unread_count == 3
    rest = center.listing(BOB, unread_only=False, limit=2, cursor=first.cursor)
    assert [n.payload.share_id for n in rest.items] == ["s0"] and rest.cursor is None


def test_marking_read_lowers_the_count_filters_unread_only_and_is_idempotent() -> None:
    center, _ = _center_with(2)
    newest = center.listing(BOB, unread_only=False, limit=10, cursor=None).items[0]
    read = center.mark_read(BOB, newest.notification_id)
    assert read.read_at == NOW + timedelta(hours=1)
    assert center.mark_read(BOB, newest.notification_id).read_at == read.read_at
    unread = center.listing(BOB, unread_only=True, limit=10, cursor=None)
    assert [n.payload.share_id for n in unread.items] == ["s0"] and unread.unread_count == 1


def test_someone_elses_notification_is_not_found() -> None:
    center, _ = _center_with(1)
    bobs = center.listing(BOB, unread_only=False, limit=1, cursor=None).items[0]
    with pytest.raises(NotFound):
        center.mark_read(CAROL, bobs.notification_id)
    assert center.unread_count(BOB) == 1


def test_mark_all_read_marks_only_the_callers() -> None:
    center, _ = _center_with(3)
    assert center.mark_all_read(CAROL) == 0
    assert center.mark_all_read(BOB) == 3
    assert center.unread_count(BOB) == 0
    assert center.mark_all_read(BOB) == 0
