"""Sharing notifications over HTTP: alice shares with bob, the notifier runs on the queued event, bob reads them."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from chalice.local import LambdaContext
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from app import notifier
from infra.local.worker import lambda_record
from tests.functional.conftest import ApiClient
from tests.functional.flows import ready_item
from tests.functional.test_api import assert_error
from tests.support.tokens import TokenFactory

UNKNOWN = "ffffffffffffffffffffffffffffffff"


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


class People:
    """alice, bob and carol with their tokens; each has called the API once, so each has an account."""

    def __init__(self, api: ApiClient, tokens: TokenFactory) -> None:
        self.api = api
        self.tokens = {
            "alice": tokens.token("alice"),
            "bob": tokens.token("bob"),
            "carol": tokens.token("bob", sub="user-carol", preferred_username="carol", email="carol@example.test"),
            "pat": tokens.token("pat"),
            "gina": tokens.token("gina"),
        }
        for token in self.tokens.values():
            assert api.call("GET", "/me", token).status_code == 200

    def call(self, who: str | None, method: str, path: str, payload: Any = None) -> Any:
        return self.api.call(method, path, self.tokens[who] if who else None, payload)

    def notifications(self, who: str, query: str = "") -> dict[str, Any]:
        response = self.call(who, "GET", f"/notifications{query}")
        assert response.status_code == 200, response.body
        result: dict[str, Any] = body(response)
        return result


def queued_events(sqs: Any, queue_url: str) -> dict[str, Any]:
    """The sharing events waiting on the notifications queue, as Lambda's event source would deliver them."""
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
        "Messages", []
    )
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for message in messages:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return {"Records": [lambda_record(m, arn, "us-east-1") for m in messages]}


def deliver(event: dict[str, Any]) -> dict[str, Any]:
    """Run the notifier on an event, as Lambda would."""
    result: dict[str, Any] = notifier(event, LambdaContext("notifier", 256, max_runtime_ms=30_000))
    return result


def sent_emails() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


@pytest.fixture
def people(api: ApiClient, tokens: TokenFactory) -> People:
    return People(api, tokens)


@pytest.fixture
def photo(api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], people: People) -> str:
    """A ready photo of alice's, titled."""
    media_id = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], people.tokens["alice"])
    edited = people.call("alice", "PATCH", f"/media/{media_id}", {"version": 0, "title": "Beach day"})
    assert edited.status_code == 200, edited.body
    return media_id


def share_with_bob(people: People, photo: str) -> str:
    response = people.call(
        "alice",
        "POST",
        f"/media/{photo}/shares",
        {"grantee": {"type": "user", "username": "bob"}, "permissions": ["view", "download"]},
    )
    assert response.status_code == 201, response.body
    return str(body(response)["share_id"])


def test_a_share_and_its_revoke_reach_the_grantee_in_the_app_and_by_email(
    people: People, photo: str, sqs: Any, aws: dict[str, str]
) -> None:
    queue = aws["NOTIFICATIONS_QUEUE_URL"]
    # GIVEN alice shared her photo with bob, and the notifier ran on the queued event
    share_id = share_with_bob(people, photo)
    assert people.notifications("bob")["items"] == []  # nothing yet: the request did not notify by itself
    granted = queued_events(sqs, queue)
    assert len(granted["Records"]) == 1
    assert deliver(granted) == {"batchItemFailures": []}

    # THEN bob sees who shared what, unread
    listing = people.notifications("bob")
    assert listing["unread_count"] == 1 and listing["next_cursor"] is None
    [notice] = listing["items"]
    assert notice["kind"] == "share.granted" and notice["read_at"] is None
    assert (notice["actor_name"], notice["share_id"]) == ("alice", share_id)
    assert notice["resource"] == {"type": "media", "id": photo, "title": "Beach day"}
    assert notice["permissions"] == ["download", "view"]
    assert people.notifications("alice")["items"] == []

    # AND one email, to bob, saying so and linking only to the console
    [email] = sent_emails()
    assert email.destinations["ToAddresses"] == ["bob@example.test"]
    assert "alice" in email.subject and "Beach day" in email.subject
    assert "http://127.0.0.1:8090/#/shared" in email.body  # the console `make run` serves, its Shared-with-me page
    assert photo not in email.body and share_id not in email.body
    assert not re.search(r"X-Amz-|Signature=|token=|/media/", email.body)

    # WHEN the same message is delivered again
    assert deliver(granted) == {"batchItemFailures": []}
    # THEN nothing is duplicated
    assert len(people.notifications("bob")["items"]) == 1
    assert len(sent_emails()) == 1

    # WHEN carol tries to mark bob's notification read, then bob does
    assert_error(people.call("carol", "POST", f"/notifications/{notice['notification_id']}/read"), 404, "not_found")
    assert people.notifications("bob")["unread_count"] == 1
    marked = people.call("bob", "POST", f"/notifications/{notice['notification_id']}/read")
    assert marked.status_code == 200, marked.body
    assert body(marked)["read_at"] is not None
    # THEN his unread count drops to 0 and the unread-only listing is empty
    assert people.notifications("bob")["unread_count"] == 0
    assert people.notifications("bob", "?unread_only=true")["items"] == []

    # WHEN alice revokes the grant
    assert people.call("alice", "DELETE", f"/shares/{share_id}").status_code == 204
    assert deliver(queued_events(sqs, queue)) == {"batchItemFailures": []}
    # THEN bob has a second, unread notification, newest first, and a second email
    listing = people.notifications("bob")
    assert [n["kind"] for n in listing["items"]] == ["share.revoked", "share.granted"]
    assert listing["unread_count"] == 1
    revoked_email = sent_emails()[-1]
    assert len(sent_emails()) == 2 and "stopped sharing" in revoked_email.subject


def test_revoking_a_grant_notifies_the_grantees_of_its_reshares_too(
    people: People, photo: str, sqs: Any, aws: dict[str, str]
) -> None:
    queue = aws["NOTIFICATIONS_QUEUE_URL"]
    # GIVEN bob may reshare and reshared with carol
    response = people.call(
        "alice",
        "POST",
        f"/media/{photo}/shares",
        {"grantee": {"type": "user", "username": "bob"}, "permissions": ["view", "reshare"]},
    )
    share_id = body(response)["share_id"]
    reshared = people.call(
        "bob",
        "POST",
        f"/media/{photo}/shares",
        {"grantee": {"type": "user", "username": "carol"}, "permissions": ["view"]},
    )
    assert reshared.status_code == 201, reshared.body
    deliver(queued_events(sqs, queue))
    assert people.notifications("carol")["items"][0]["actor_name"] == "bob"
    # WHEN alice revokes bob's grant
    assert people.call("alice", "DELETE", f"/shares/{share_id}").status_code == 204
    assert deliver(queued_events(sqs, queue)) == {"batchItemFailures": []}
    # THEN carol hears her reshare is gone too
    assert [n["kind"] for n in people.notifications("carol")["items"]] == ["share.revoked", "share.granted"]
    assert [n["kind"] for n in people.notifications("bob")["items"]] == ["share.revoked", "share.granted"]


def test_an_org_grant_notifies_every_partner_of_that_org_only(
    people: People, photo: str, sqs: Any, aws: dict[str, str]
) -> None:
    response = people.call(
        "alice", "POST", f"/media/{photo}/shares", {"grantee": {"type": "org", "org": "acme"}, "permissions": ["view"]}
    )
    assert response.status_code == 201, response.body
    assert deliver(queued_events(sqs, aws["NOTIFICATIONS_QUEUE_URL"])) == {"batchItemFailures": []}
    [notice] = people.notifications("pat")["items"]
    assert notice["kind"] == "share.granted" and notice["resource"]["id"] == photo
    assert people.notifications("gina")["items"] == []
    assert [email.destinations["ToAddresses"] for email in sent_emails()] == [["pat@example.test"]]


def test_listing_pages_newest_first_with_a_cursor_only_its_listing_accepts(
    people: People, api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str]
) -> None:
    # GIVEN three items shared with bob
    photos = [ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], people.tokens["alice"]) for _ in range(3)]
    for media_id in photos:
        share_with_bob(people, media_id)
    assert deliver(queued_events(sqs, aws["NOTIFICATIONS_QUEUE_URL"])) == {"batchItemFailures": []}
    # WHEN bob pages by two
    first = people.notifications("bob", "?limit=2")
    rest = people.notifications("bob", f"?limit=2&cursor={first['next_cursor']}")
    # THEN he sees all three, newest first, and the last page has no cursor
    assert [n["resource"]["id"] for n in first["items"] + rest["items"]] == photos[::-1]
    assert rest["next_cursor"] is None and first["unread_count"] == 3
    # AND the cursor is refused by another listing and by another user
    assert_error(people.call("bob", "GET", f"/notifications?unread_only=true&cursor={first['next_cursor']}"), 400)
    assert_error(people.call("carol", "GET", f"/notifications?cursor={first['next_cursor']}"), 400)
    # WHEN he marks everything read
    marked = people.call("bob", "POST", "/notifications/read-all")
    assert body(marked) == {"marked": 3, "unread_count": 0}


@pytest.mark.parametrize(
    "query", ["?limit=0", "?limit=101", "?limit=ten", "?cursor=forged", "?unread_only=perhaps", "?page=2"]
)
def test_bad_listing_input_is_a_400_with_the_error_body(people: People, query: str) -> None:
    response = people.call("bob", "GET", f"/notifications{query}")
    assert_error(response, 400, "validation_error")
    assert body(response)["errors"]


def test_no_token_is_a_401(people: People) -> None:
    assert_error(people.call(None, "GET", "/notifications"), 401)
    assert_error(people.call(None, "POST", f"/notifications/{UNKNOWN}/read"), 401)
    assert_error(people.call(None, "POST", "/notifications/read-all"), 401)


def test_an_unknown_or_malformed_notification_id_is_a_404(people: People) -> None:
    assert_error(people.call("bob", "POST", f"/notifications/{UNKNOWN}/read"), 404, "not_found")
    assert_error(people.call("bob", "POST", "/notifications/not-an-id/read"), 404, "not_found")


def test_the_routes_are_in_the_openapi_document(api: ApiClient) -> None:
    paths = body(api.call("GET", "/openapi.json"))["paths"]
    assert {"/notifications", "/notifications/{notification_id}/read", "/notifications/read-all"} <= set(paths)
