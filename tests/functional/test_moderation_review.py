"""Moderation review: the admins' queue of flagged items, their decisions, and the owner's one second look."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from app import api_services
from tests.functional.conftest import ApiClient
from tests.functional.flows import drain, ready_item
from tests.functional.test_api import assert_error
from tests.support.tokens import TokenFactory

PEOPLE = ("alice", "bob", "pat", "ada")


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


class Review:
    """The people, their tokens, and the analyzer's write that flags an item."""

    def __init__(self, api: ApiClient, tokens: TokenFactory, s3: Any, sqs: Any, aws: dict[str, str]) -> None:
        self.api, self.s3, self.sqs, self.aws = api, s3, sqs, aws
        self.tokens = {name: tokens.token(name) for name in PEOPLE}
        for name in PEOPLE:  # an account exists once its owner has called the API
            assert api.call("GET", "/me", self.tokens[name]).status_code == 200

    def call(self, who: str | None, method: str, path: str, payload: Any = None) -> Any:
        return self.api.call(method, path, self.tokens[who] if who else None, payload)

    def photo(self, owner: str = "alice") -> str:
        return ready_item(self.api, self.s3, self.sqs, self.aws["PROCESSING_QUEUE_URL"], self.tokens[owner])

    def flag(self, media_id: str, score: float) -> None:
        """What the analyzer writes when a score reaches the admin's threshold."""
        moderation = {"score": score, "labels": ["test"], "provider": "test", "model": "test"}
        api_services().media_repository.save_analysis(media_id, moderation=moderation, flagged=True)
        time.sleep(0.002)  # distinct flag times, so "newest first" is observable

    def queue(self, query: str = "") -> list[dict[str, Any]]:
        response = self.call("ada", "GET", f"/admin/moderation{query}")
        assert response.status_code == 200, response.body
        return list(body(response)["items"])

    def queued_ids(self, query: str = "") -> list[str]:
        return [entry["media_id"] for entry in self.queue(query)]

    def objects_under(self, prefix: str) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=self.aws["MEDIA_BUCKET"], Prefix=prefix)
        return [entry["Key"] for entry in listed.get("Contents", [])]


@pytest.fixture
def review(api: ApiClient, tokens: TokenFactory, s3: Any, sqs: Any, aws: dict[str, str]) -> Review:
    return Review(api, tokens, s3, sqs, aws)


def test_only_admins_reach_the_queue_and_decisions(review: Review) -> None:
    # GIVEN a flagged photo
    photo = review.photo()
    review.flag(photo, 0.9)
    # WHEN anyone but an admin calls the admin routes THEN 403 (401 without a token)
    for who in ("alice", "bob", "pat"):
        assert_error(review.call(who, "GET", "/admin/moderation"), 403, "forbidden")
        assert_error(review.call(who, "POST", f"/admin/moderation/{photo}", {"decision": "approve"}), 403, "forbidden")
    assert_error(review.call(None, "GET", "/admin/moderation"), 401, "unauthorized")
    assert_error(review.call(None, "POST", f"/admin/moderation/{photo}", {"decision": "approve"}), 401)
    # AND the item is still queued
    assert review.queued_ids() == [photo]


def test_the_queue_is_newest_first_filterable_and_shows_previews(review: Review) -> None:
    # GIVEN three flagged photos (one of them bob's) and one that was never flagged
    mild, harsh, bobs = review.photo(), review.photo(), review.photo("bob")
    review.photo()
    review.flag(mild, 0.65)
    review.flag(harsh, 0.97)
    review.flag(bobs, 0.8)
    # THEN the queue lists the flagged ones, newest flag first, with score, flag time and previews
    entries = review.queue()
    assert [e["media_id"] for e in entries] == [bobs, harsh, mild]
    first = entries[0]
    assert (first["owner_id"], first["score"], first["second_look"]) == ("user-bob", 0.8, False)
    assert first["flagged_at"]
    assert first["renditions"] and all(link["url"].startswith("http") for link in first["renditions"].values())
    # AND min_score and older_than narrow it
    assert review.queued_ids("?min_score=0.9") == [harsh]
    assert review.queued_ids("?min_score=0.7") == [bobs, harsh]
    older_than = entries[1]["flagged_at"].replace("+00:00", "Z")
    assert review.queued_ids(f"?older_than={older_than}") == [harsh, mild]
    # AND pages follow the cursor without repeats
    page = body(review.call("ada", "GET", "/admin/moderation?limit=2"))
    assert [e["media_id"] for e in page["items"]] == [bobs, harsh]
    rest = body(review.call("ada", "GET", f"/admin/moderation?limit=2&cursor={page['next_cursor']}"))
    assert [e["media_id"] for e in rest["items"]] == [mild]
    assert rest["next_cursor"] is None
    # AND a cursor of another filter, or a forged one, is refused
    other = review.call("ada", "GET", f"/admin/moderation?limit=2&min_score=0.1&cursor={page['next_cursor']}")
    assert_error(other, 400, "validation_error")
    assert_error(review.call("ada", "GET", "/admin/moderation?cursor=abc.def"), 400, "validation_error")
    assert_error(review.call("ada", "GET", "/admin/moderation?min_score=2"), 400, "validation_error")


def test_approve_serves_the_item_again_and_empties_the_queue(review: Review) -> None:
    # GIVEN alice's flagged photo shared with bob
    photo = review.photo()
    grant = {"grantee": {"type": "user", "username": "bob"}, "permissions": ["view"]}
    assert review.call("alice", "POST", f"/media/{photo}/shares", grant).status_code == 201
    review.flag(photo, 0.9)
    assert_error(review.call("bob", "GET", f"/media/{photo}"), 404, "not_found")
    assert body(review.call("alice", "GET", f"/media/{photo}"))["review"] == {
        "state": "awaiting_review",
        "second_look": False,
    }
    # WHEN an admin approves it
    decided = review.call("ada", "POST", f"/admin/moderation/{photo}", {"decision": "approve", "reason": "art"})
    assert decided.status_code == 200, decided.body
    outcome = body(decided)
    assert (outcome["status"], outcome["flagged"], outcome["reviewer_id"]) == ("ready", False, "user-ada")
    # THEN bob is served the item again, it left the queue, and the owner sees the outcome and a notification
    assert review.call("bob", "GET", f"/media/{photo}").status_code == 200
    assert review.queued_ids() == []
    seen = body(review.call("alice", "GET", f"/media/{photo}"))
    assert seen["flagged"] is False
    assert (seen["review"]["state"], seen["review"]["reason"]) == ("approved", "art")
    kinds = [n["kind"] for n in body(review.call("alice", "GET", "/notifications"))["items"]]
    assert "moderation.approved" in kinds
    # AND deciding again is a conflict; the item is no longer awaiting review
    again = review.call("ada", "POST", f"/admin/moderation/{photo}", {"decision": "reject", "reason": "no"})
    assert_error(again, 409, "conflict")
    # AND the owner cannot ask for a second look at an approved item
    assert_error(review.call("alice", "POST", f"/media/{photo}/review"), 409, "conflict")


def test_reject_removes_renditions_records_the_reviewer_and_notifies_the_owner(review: Review) -> None:
    # GIVEN a flagged photo with renditions in the bucket
    photo = review.photo()
    prefix = f"renditions/user-alice/{photo}/"
    assert review.objects_under(prefix)
    review.flag(photo, 0.95)
    # WHEN an admin rejects it
    decided = review.call("ada", "POST", f"/admin/moderation/{photo}", {"decision": "reject", "reason": "explicit"})
    assert decided.status_code == 200, decided.body
    # THEN it is rejected, its renditions are gone, the reviewer and reason are recorded
    assert body(decided)["status"] == "rejected"
    assert review.objects_under(prefix) == []
    item = api_services().media_repository.get(photo)
    assert item is not None
    assert (item.review["reviewer_id"], item.review["reason"], item.review["decision"]) == (
        "user-ada",
        "explicit",
        "reject",
    )
    assert item.review["decided_at"]
    # AND the owner sees the rejection and its reason (never who decided), and has a notification
    seen = body(review.call("alice", "GET", f"/media/{photo}"))
    assert seen["status"] == "rejected"
    assert seen["renditions"] == {}
    assert (seen["review"]["state"], seen["review"]["reason"]) == ("rejected", "explicit")
    assert "reviewer_id" not in seen["review"]
    notes = body(review.call("alice", "GET", "/notifications"))["items"]
    rejected = [n for n in notes if n["kind"] == "moderation.rejected"]
    assert len(rejected) == 1
    assert (rejected[0]["resource"]["id"], rejected[0]["actor_id"]) == (photo, "user-ada")
    assert review.queued_ids() == []


def test_the_owner_asks_for_a_second_look_once(review: Review) -> None:
    # GIVEN alice's photo, not flagged: nothing to look at again
    photo = review.photo()
    assert_error(review.call("alice", "POST", f"/media/{photo}/review"), 409, "conflict")
    # AND once rejected
    review.flag(photo, 0.9)
    rejection = {"decision": "reject", "reason": "explicit"}
    assert review.call("ada", "POST", f"/admin/moderation/{photo}", rejection).status_code == 200
    # WHEN someone else asks THEN 404, as for any item that is not theirs; no token is 401
    for who in ("bob", "pat", "ada"):
        assert_error(review.call(who, "POST", f"/media/{photo}/review"), 404, "not_found")
    assert_error(review.call(None, "POST", f"/media/{photo}/review"), 401)
    assert_error(review.call("alice", "POST", "/media/0123456789abcdef0123456789abcdef/review"), 404, "not_found")
    # WHEN the owner asks
    asked = review.call("alice", "POST", f"/media/{photo}/review")
    assert asked.status_code == 200, asked.body
    assert body(asked)["review"] == {"state": "awaiting_review", "second_look": True}
    assert body(asked)["reviewer_id"] is None
    # THEN it is back in the queue, marked as a second look
    entries = review.queue()
    assert [(e["media_id"], e["second_look"]) for e in entries] == [(photo, True)]
    # AND a second request is a conflict
    assert_error(review.call("alice", "POST", f"/media/{photo}/review"), 409, "conflict")
    # AND an approval on the second look sends it back through processing (its renditions went with the rejection)
    approved = review.call("ada", "POST", f"/admin/moderation/{photo}", {"decision": "approve"})
    assert (body(approved)["status"], body(approved)["flagged"]) == ("pending", False)
    assert drain(review.sqs, review.aws["PROCESSING_QUEUE_URL"]) == {"batchItemFailures": []}
    served = body(review.call("alice", "GET", f"/media/{photo}"))
    assert served["status"] == "ready" and served["review"]["second_look"] is True
    assert {"thumbnail", "preview"} <= set(served["renditions"])
    assert review.objects_under(f"renditions/user-alice/{photo}/")


def test_decisions_are_validated(review: Review) -> None:
    photo = review.photo()
    review.flag(photo, 0.9)
    path = f"/admin/moderation/{photo}"
    for bad in (
        {"decision": "delete"},
        {"decision": "approve", "extra": 1},
        {"decision": "reject"},  # a rejection needs a reason
        {"decision": "reject", "reason": "   "},
        {"reason": "x"},
        {"decision": "approve", "reason": "x" * 1001},
    ):
        assert_error(review.call("ada", "POST", path, bad), 400, "validation_error")
    assert_error(review.api.call("POST", path, review.tokens["ada"], raw=b"not json"), 400, "validation_error")
    # An unknown item (or a malformed id) is 404; one never flagged is 409
    missing = "/admin/moderation/0123456789abcdef0123456789abcdef"
    assert_error(review.call("ada", "POST", missing, {"decision": "approve"}), 404, "not_found")
    assert_error(review.call("ada", "POST", "/admin/moderation/nope", {"decision": "approve"}), 404, "not_found")
    unflagged = review.photo()
    assert_error(review.call("ada", "POST", f"/admin/moderation/{unflagged}", {"decision": "approve"}), 409)
    # AND the queue still holds the flagged item
    assert review.queued_ids() == [photo]
