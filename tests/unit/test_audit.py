"""The audit log's rules: outcomes, search routing, what the route wrapper records, and the library's report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.app import Request

from functions.api import recording
from functions.api.access import ROUTE_ROLES
from shared.domain.audit import AuditEntry, AuditPage, AuditQuery, AuditTrail, Outcome
from shared.domain.errors import Forbidden, NotFound, ValidationError
from shared.domain.library import MediaLibrary
from shared.domain.media import MediaItem
from shared.domain.principal import Principal, Role
from tests.unit.fakes import MemoryRepository, MemoryStorage

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ALICE = Principal("user-alice", "alice", Role.USER)
BOB = Principal("user-bob", "bob", Role.USER)
ADA = Principal("user-ada", "ada", Role.ADMIN)


class RecordingLog:
    """An AuditLog that remembers what it was asked."""

    def __init__(self) -> None:
        self.appended: list[AuditEntry] = []
        self.calls: list[tuple[str, Any]] = []

    def append(self, entry: AuditEntry) -> None:
        self.appended.append(entry)

    def by_actor(self, actor_id: str, query: AuditQuery, limit: int, cursor: str | None) -> AuditPage:
        self.calls.append(("actor", actor_id, limit))
        return AuditPage([], None)

    def by_resource(self, resource: str, query: AuditQuery, limit: int, cursor: str | None) -> AuditPage:
        self.calls.append(("resource", resource, limit))
        return AuditPage([], None)

    def by_owner(self, owner_id: str, query: AuditQuery, limit: int, cursor: str | None) -> AuditPage:
        self.calls.append(("owner", owner_id, limit))
        return AuditPage([], None)

    def in_window(self, query: AuditQuery, limit: int, cursor: str | None) -> AuditPage:
        self.calls.append(("time", "", limit))
        return AuditPage([], None)


class FailingLog(RecordingLog):
    def append(self, entry: AuditEntry) -> None:
        raise RuntimeError("DynamoDB is down")


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.ALLOWED),
        (204, Outcome.ALLOWED),
        (401, Outcome.DENIED),
        (403, Outcome.DENIED),
        (404, Outcome.DENIED),
        (400, Outcome.REJECTED),
        (409, Outcome.REJECTED),
        (503, Outcome.ERROR),
    ],
)
def test_an_outcome_follows_the_status(status: int, outcome: Outcome) -> None:
    assert Outcome.of(status) is outcome


def test_a_window_that_ends_before_it_starts_is_refused_on_from() -> None:
    with pytest.raises(ValidationError) as refused:
        AuditQuery(since=AT, until=AT - timedelta(seconds=1))
    assert refused.value.field == "from"
    assert AuditQuery(since=AT, until=AT).since == AT


def test_search_uses_the_narrowest_key_and_caps_the_page() -> None:
    log = RecordingLog()
    trail = AuditTrail(log)
    trail.search(ADA, AuditQuery(actor="user-bob", resource="media#m1"), 500, None)
    trail.search(ADA, AuditQuery(actor="user-bob", action="media.read"), 10, None)
    trail.search(ADA, AuditQuery(action="media.read"), 0, None)
    assert log.calls == [("resource", "media#m1", 100), ("actor", "user-bob", 10), ("time", "", 1)]


def test_only_admins_search_and_everyone_reads_their_own_feed() -> None:
    log = RecordingLog()
    trail = AuditTrail(log)
    with pytest.raises(Forbidden):
        trail.search(ALICE, AuditQuery(), 10, None)
    trail.accesses_to_mine(ALICE, AuditQuery(actor="ignored"), 10, None)
    assert log.calls == [("owner", "user-alice", 10)]


def test_a_recorded_entry_says_who_what_which_when_and_from_where() -> None:
    log = RecordingLog()
    entry = AuditTrail(log, clock=lambda: AT).record(
        ADA, "media.read", ("media", "m1", "user-alice"), 200, ("203.0.113.7", "curl/8", "req-1")
    )
    assert log.appended == [entry]
    assert (entry.at, entry.actor_id, entry.actor_name, entry.actor_role) == (AT, "user-ada", "ada", "admin")
    assert (entry.resource, entry.owner_id, entry.outcome) == ("media#m1", "user-alice", Outcome.ALLOWED)
    assert (entry.source_ip, entry.user_agent, entry.request_id) == ("203.0.113.7", "curl/8", "req-1")
    assert entry.by_someone_else
    own = AuditTrail(log).record(ALICE, "media.update", ("media", "m1", "user-alice"), 200)
    assert not own.by_someone_else


def test_the_library_reports_each_allowed_access_and_no_refused_one() -> None:
    class Witness:
        seen: list[tuple[str, str, str]] = []

        def item_accessed(self, principal: Principal, action: str, item: MediaItem) -> None:
            self.seen.append((principal.sub, action, item.media_id))

    repository = MemoryRepository()
    repository.create(MediaItem("m1", "user-alice", "a.jpg", "image/jpeg", 10, "originals/user-alice/m1"))
    witness = Witness()
    library = MediaLibrary(repository, MemoryStorage(), url_ttl_seconds=60, observer=witness)
    library.get(ADA, "m1")
    library.get(ALICE, "m1")
    with pytest.raises(NotFound):
        library.get(BOB, "m1")
    assert witness.seen == [("user-ada", "read", "m1"), ("user-alice", "read", "m1")]


def _request(method: str, path: str, who: Principal | None) -> Request:
    context: dict[str, Any] = {
        "httpMethod": method,
        "resourcePath": path,
        "identity": {"sourceIp": "198.51.100.4"},
        "requestId": "req-42",
    }
    if who is not None:
        context["authorizer"] = who.to_context()
    event = {
        "requestContext": context,
        "headers": {"user-agent": "pytest"},
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "body": None,
        "isBase64Encoded": False,
    }
    return Request(event)


def _handled(who: Principal | None, method: str, path: str, status: int, accessed: list[MediaItem]) -> RecordingLog:
    log = RecordingLog()
    trail = AuditTrail(log, clock=lambda: AT)
    recording.begin()
    for item in accessed:
        recording.AccessWitness().item_accessed(who or ALICE, "read", item)
    values = {"media_id": "m1"} if "{media_id}" in path else {}
    recording.finish(_request(method, path, who), path, values, status, lambda: trail)
    return log


ALICES = MediaItem("m1", "user-alice", "a.jpg", "image/jpeg", 10, "originals/user-alice/m1")


def test_the_wrapper_records_writes_admin_routes_and_others_reads_only() -> None:
    assert _handled(ALICE, "GET", "/media/{media_id}", 200, [ALICES]).appended == []
    [read] = _handled(ADA, "GET", "/media/{media_id}", 200, [ALICES]).appended
    assert (read.action, read.resource, read.owner_id) == ("media.read", "media#m1", "user-alice")
    assert (read.source_ip, read.user_agent, read.request_id) == ("198.51.100.4", "pytest", "req-42")
    [edit] = _handled(ALICE, "PATCH", "/media/{media_id}", 409, [ALICES]).appended
    assert (edit.action, edit.outcome, edit.status, edit.owner_id) == (
        "media.update",
        Outcome.REJECTED,
        409,
        "user-alice",
    )
    [refused] = _handled(BOB, "DELETE", "/media/{media_id}", 404, []).appended
    assert (refused.resource, refused.owner_id, refused.outcome) == ("media#m1", "", Outcome.DENIED)
    [admin] = _handled(BOB, "GET", "/admin/settings", 403, []).appended
    assert (admin.action, admin.resource_type, admin.outcome) == ("admin.settings.read", "settings", Outcome.DENIED)
    assert _handled(None, "POST", "/uploads", 401, []).appended == []


def test_a_failed_audit_write_never_fails_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    logged: list[str] = []
    monkeypatch.setattr(recording.logger, "exception", lambda message, **_: logged.append(message))
    trail = AuditTrail(FailingLog())
    recording.begin()
    recording.finish(_request("PATCH", "/media/{media_id}", ALICE), "/media/{media_id}", {}, 200, lambda: trail)
    assert logged == ["an audit entry could not be written"]


def test_every_write_and_admin_route_has_a_name_in_the_log() -> None:
    for method, path in ROUTE_ROLES:
        if method != "GET" or path.startswith("/admin/"):
            name = recording.action_name(method, path)
            assert name.count(".") >= 1 and " " not in name and "{" not in name
    assert recording.action_name("POST", "/albums/{album_id}/items") == "album.items.add"
    # A route nobody named gets a name from its path.
    assert recording.action_name("POST", "/things/{thing_id}/parts") == "things.parts.create"
