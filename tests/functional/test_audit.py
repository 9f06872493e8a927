"""The audit log over HTTP: what gets recorded, who may read it, filters and paging, and that it is append-only."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from infra.local.provision import load_template
from shared.adapters.dynamo.erasure import PSEUDONYMISED_ATTRIBUTES
from tests.functional.conftest import ApiClient
from tests.functional.flows import ready_item
from tests.functional.test_api import assert_error
from tests.support.tokens import TokenFactory

PEOPLE = ("alice", "bob", "ada")
ADA, ALICE, BOB = "user-ada", "user-alice", "user-bob"


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


class People:
    """Tokens of people whose accounts exist, and their calls."""

    def __init__(self, api: ApiClient, tokens: TokenFactory) -> None:
        self.api = api
        self.tokens = {name: tokens.token(name) for name in PEOPLE}
        for name in PEOPLE:
            assert api.call("GET", "/me", self.tokens[name]).status_code == 200

    def call(self, who: str | None, method: str, path: str, payload: Any = None) -> Any:
        return self.api.call(method, path, self.tokens[who] if who else None, payload)

    def browse(self, who: str, path: str) -> Any:
        """A GET as a browser sends it (with a User-Agent)."""
        headers = {"Authorization": f"Bearer {self.tokens[who]}", "User-Agent": "Vault-Console/1.0"}
        return self.api.request("GET", path, headers=headers, body=b"")

    def audit(self, who: str | None, path: str, **filters: Any) -> Any:
        return self.call(who, "GET", f"{path}?{urlencode(filters)}" if filters else path)

    def entries(self, who: str, path: str, **filters: Any) -> list[dict[str, Any]]:
        response = self.audit(who, path, **filters)
        assert response.status_code == 200, response.body
        return list(body(response)["entries"])


@pytest.fixture
def people(api: ApiClient, tokens: TokenFactory) -> People:
    return People(api, tokens)


@pytest.fixture
def photo(api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], people: People) -> str:
    """A ready photo of alice's."""
    return ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], people.tokens["alice"])


def test_an_admin_reading_alices_item_is_recorded_and_alice_sees_it(people: People, photo: str) -> None:
    # GIVEN alice's photo WHEN the admin reads it
    assert people.browse("ada", f"/media/{photo}").status_code == 200
    # THEN the admin log has who, what, which, outcome, when and from where
    [entry] = people.entries("ada", "/admin/audit", actor=ADA, action="media.read")
    assert entry["resource"] == f"media#{photo}"
    assert (entry["actor"], entry["actor_role"], entry["owner"]) == (ADA, "admin", ALICE)
    assert (entry["outcome"], entry["status"]) == ("allowed", 200)
    assert (entry["source_ip"], entry["user_agent"]) == ("127.0.0.1", "Vault-Console/1.0")
    assert entry["request_id"] and entry["at"]
    # AND alice sees that the admin read her photo, without the admin's address or software
    [seen] = people.entries("alice", "/me/audit")
    assert (seen["actor"], seen["actor_name"], seen["action"]) == (ADA, "ada", "media.read")
    assert seen["resource"] == f"media#{photo}"
    assert "source_ip" not in seen and "user_agent" not in seen


def test_alice_reading_her_own_item_leaves_no_trace_in_her_feed(people: People, photo: str) -> None:
    assert people.call("alice", "GET", f"/media/{photo}").status_code == 200
    assert people.call("alice", "GET", f"/media/{photo}/download").status_code == 200
    assert people.entries("alice", "/me/audit") == []
    assert people.entries("ada", "/admin/audit", actor=ALICE, action="media.read") == []


def test_a_refused_read_by_a_stranger_shows_in_nobodys_feed(people: People, photo: str) -> None:
    assert people.call("bob", "GET", f"/media/{photo}").status_code == 404
    assert people.entries("alice", "/me/audit") == []


def test_a_grantees_read_shows_in_the_owners_feed(people: People, photo: str) -> None:
    share = {"grantee": {"type": "user", "username": "bob"}, "permissions": ["view"]}
    assert people.call("alice", "POST", f"/media/{photo}/shares", share).status_code == 201
    assert people.call("bob", "GET", f"/media/{photo}").status_code == 200
    [seen] = people.entries("alice", "/me/audit")
    assert (seen["actor"], seen["actor_role"], seen["action"], seen["outcome"]) == (
        BOB,
        "user",
        "media.read",
        "allowed",
    )
    # The share itself was alice's own write: in the admin log, not in her feed.
    [made] = people.entries("ada", "/admin/audit", actor=ALICE, action="share.create")
    assert (made["status"], made["owner"]) == (201, ALICE)


def test_every_edit_is_recorded_with_its_outcome(people: People, photo: str) -> None:
    assert people.call("alice", "PATCH", f"/media/{photo}", {"version": 0, "title": "One"}).status_code == 200
    assert people.call("alice", "PATCH", f"/media/{photo}", {"version": 0, "title": "Two"}).status_code == 409
    assert people.call("bob", "PATCH", f"/media/{photo}", {"version": 1, "title": "Three"}).status_code == 404
    edits = people.entries("ada", "/admin/audit", resource=f"media#{photo}", action="media.update")
    assert [(e["actor"], e["status"], e["outcome"]) for e in edits] == [
        (BOB, 404, "denied"),
        (ALICE, 409, "rejected"),
        (ALICE, 200, "allowed"),
    ]


def test_admin_actions_are_recorded_even_reads(people: People) -> None:
    assert people.call("ada", "GET", "/admin/settings").status_code == 200
    [entry] = people.entries("ada", "/admin/audit", action="admin.settings.read")
    assert (entry["actor"], entry["resource"], entry["outcome"]) == (ADA, "settings", "allowed")


def test_only_admins_search_the_log_and_an_attempt_is_recorded(people: People) -> None:
    assert_error(people.audit("bob", "/admin/audit"), 403, "forbidden")
    assert_error(people.audit(None, "/admin/audit"), 401)
    assert_error(people.audit(None, "/me/audit"), 401)
    [attempt] = people.entries("ada", "/admin/audit", actor=BOB, action="admin.audit.search")
    assert (attempt["status"], attempt["outcome"]) == (403, "denied")


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"resource": "media"}, "resource"),
        ({"limit": "0"}, "limit"),
        ({"owner": ALICE}, "owner"),
    ],
)
def test_bad_filters_are_400_naming_the_field(people: People, filters: dict[str, str], field: str) -> None:
    for path, who in (("/admin/audit", "ada"), ("/me/audit", "alice")):
        if path == "/me/audit" and field == "resource":
            continue
        response = people.audit(who, path, **filters)
        assert_error(response, 400, "validation_error")
        assert [problem["field"] for problem in body(response)["errors"]] == [field]


def test_pages_follow_each_other_and_a_cursor_keeps_its_filters(people: People, photo: str) -> None:
    for _ in range(5):
        assert people.call("ada", "GET", f"/media/{photo}").status_code == 200
    for who, path, filters in (
        ("ada", "/admin/audit", {"actor": ADA, "action": "media.read"}),
        ("ada", "/admin/audit", {"action": "media.read"}),
        ("alice", "/me/audit", {}),
    ):
        seen: list[str] = []
        sizes: list[int] = []
        cursor = ""
        while True:
            page = body(people.audit(who, path, limit=2, **filters, **({"cursor": cursor} if cursor else {})))
            seen += [e["entry_id"] for e in page["entries"]]
            sizes.append(len(page["entries"]))
            if page["next_cursor"] is None:
                break
            cursor = page["next_cursor"]
        assert sizes == [2, 2, 1] and len(set(seen)) == 5, (path, filters)
    first = body(people.audit("ada", "/admin/audit", actor=ADA, action="media.read", limit=2))
    other = people.audit("ada", "/admin/audit", actor=ADA, limit=2, cursor=first["next_cursor"])
    assert_error(other, 400, "validation_error")


def test_only_the_recorder_appends_to_the_log_and_nothing_may_change_it() -> None:
    resources = load_template()["Resources"]

    def actions(role: str, effect: str) -> set[str]:
        statements = resources[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        return {
            action
            for statement in statements
            if statement["Effect"] == effect and "AuditTable" in json.dumps(statement["Resource"])
            for action in statement["Action"]
        }

    assert actions("ApiHandlerRole", "Allow") == {"dynamodb:Query"}
    assert actions("RecorderRole", "Allow") == {"dynamodb:PutItem"}
    for role in ("ApiHandlerRole", "RecorderRole"):
        assert {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} <= actions(role, "Deny")
    # The maintainer reads the log through its indexes (exports, erasure) and may make one change on the table: an
    # erased person's identity attributes become their pseudonym (shared/domain/erasure.py). It appends and deletes
    # nothing, and a Deny stops any other attribute even if a broader Allow ever names the table.
    table = {"Fn::GetAtt": ["AuditTable", "Arn"]}
    statements = resources["MaintainerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    on_table = [
        s for s in statements if table in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    [rewrite] = [s for s in on_table if s["Effect"] == "Allow"]
    assert rewrite["Action"] == ["dynamodb:UpdateItem"]
    identity = set(rewrite["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"])
    assert identity == {"day", "sort", *PSEUDONYMISED_ATTRIBUTES}
    assert not identity & {"action", "at", "status", "entry_id", "resource_type", "request_id", "expires"}
    [fence] = [s for s in on_table if s["Effect"] == "Deny" and "Condition" in s]
    assert fence["Action"] == ["dynamodb:UpdateItem"]
    assert set(fence["Condition"]["ForAnyValue:StringNotEquals"]["dynamodb:Attributes"]) == identity
    denied = {a for s in on_table if s["Effect"] == "Deny" and "Condition" not in s for a in s["Action"]}
    assert {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:PartiQLUpdate"} <= denied
    # No other function may touch the log at all.
    others = [
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::IAM::Role"
        and logical_id not in ("ApiHandlerRole", "RecorderRole", "MaintainerRole")
        if "AuditTable" in json.dumps(resource)
    ]
    assert others == []
    assert resources["AuditTable"]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires",
        "Enabled": True,
    }
    # The API's records reach the recorder through its log group's subscription, and only record lines do.
    assert resources["APIHandler"]["Properties"]["Environment"]["Variables"]["RECORD_DELIVERY"] == "stdout"
    subscription = resources["ApiRecordsSubscription"]["Properties"]
    assert subscription["FilterPattern"] == "{ $.mv_record = 1 }"
    assert subscription["DestinationArn"] == {"Fn::GetAtt": ["Recorder", "Arn"]}


def test_a_link_holders_read_shows_in_the_owners_feed_without_the_token(people: People, photo: str) -> None:
    link = {"grantee": {"type": "link"}, "permissions": ["view"]}
    created = people.call("alice", "POST", f"/media/{photo}/shares", link)
    assert created.status_code == 201, created.body
    token, share_id = body(created)["token"], body(created)["share_id"]
    assert people.api.request("GET", f"/links/{token}", headers={}, body=b"").status_code == 200
    [seen] = people.entries("alice", "/me/audit")
    assert (seen["actor"], seen["actor_role"], seen["action"]) == (f"link:{share_id}", "link", "link.open")
    assert seen["resource"] == f"media#{photo}"
    assert token not in json.dumps(people.entries("ada", "/admin/audit"))
