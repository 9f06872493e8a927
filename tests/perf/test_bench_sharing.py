"""`make bench`: what sharing costs. GET /media/{id} by a grantee against the same call by the owner, taken in turn
(the policy's grant lookup rides in the item's own BatchGetItem, and the audit entry and view counts are spooled
for the recorder, not written in the request; goal <= 1.2x); GET /shares/incoming for a user holding 1,000 grants
against one page of the owner's own GET /media (same page size, same run); and opening a share link anonymously,
with and without a password (scrypt is the point of a password: its cost is shown, not hidden)."""

from __future__ import annotations

import statistics
from collections.abc import Iterator

import boto3
import pytest
import requests

from infra.local.stack import DevStack
from tests.perf.measure import row, running_stack, seed_ready_items, session_of, timed, timed_together

GRANTS = 1_000
PAGE = 50


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    # Link opens are timed 100 times a link: above the per-link limit (60 a minute), which still counts each one.
    yield from running_stack(tmp_path_factory.mktemp("bench-sharing"), extra_env={"RATE_LIMIT_LINK_OPENS": "1000"})


def _link(session: requests.Session, stack: DevStack, media_id: str, terms: dict[str, str]) -> str:
    body = {"grantee": {"type": "link"}, "permissions": ["view"], **terms}
    response = session.post(f"{stack.api_url}/media/{media_id}/shares", json=body, timeout=30)
    response.raise_for_status()
    return f"{stack.api_url}/links/{response.json()['token']}"


def test_bench_grantee_reads_and_incoming_listing(stack: DevStack) -> None:
    alice, bob = session_of(stack, "alice"), session_of(stack, "bob")
    owner = alice.get(f"{stack.api_url}/me", timeout=10).json()["user_id"]
    bob.get(f"{stack.api_url}/me", timeout=10).raise_for_status()  # bob's account exists: he can be named
    dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=stack.dynamodb_url)
    ids = seed_ready_items(dynamodb, stack.env["MEDIA_TABLE"], owner, GRANTS)

    def share(media_id: str) -> None:
        body = {"grantee": {"type": "user", "username": "bob"}, "permissions": ["view"]}
        alice.post(f"{stack.api_url}/media/{media_id}/shares", json=body, timeout=30).raise_for_status()

    # One at a time: moto's TransactWriteItems is not thread-safe (concurrent ones fail with a 500 inside moto).
    for media_id in ids:
        share(media_id)

    target = ids[len(ids) // 2]
    open_link = _link(alice, stack, target, {})
    protected = _link(alice, stack, target, {"password": "correct horse battery"})
    anonymous = requests.Session()
    owner_get, grantee_get = timed_together(
        [
            lambda: alice.get(f"{stack.api_url}/media/{target}", timeout=10).raise_for_status(),
            lambda: bob.get(f"{stack.api_url}/media/{target}", timeout=10).raise_for_status(),
        ]
    )
    own_page, incoming = timed_together(
        [
            lambda: alice.get(f"{stack.api_url}/media?limit={PAGE}", timeout=10).raise_for_status(),
            lambda: bob.get(f"{stack.api_url}/shares/incoming?limit={PAGE}", timeout=10).raise_for_status(),
        ],
        100,
    )

    link_open = timed(lambda: anonymous.get(open_link, timeout=10).raise_for_status(), 100)
    password = {"X-Link-Password": "correct horse battery"}
    protected_open = timed(lambda: anonymous.get(protected, headers=password, timeout=10).raise_for_status(), 30)

    seen, cursor = 0, None
    while True:
        params = {"limit": str(PAGE)} | ({"cursor": cursor} if cursor else {})
        page = bob.get(f"{stack.api_url}/shares/incoming", params=params, timeout=10).json()
        seen += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == GRANTS

    print(f"\n== sharing: a grantee's read and the incoming listing over {GRANTS} grants (local HTTP API)")
    print(row("GET /media/{id} by the owner (baseline)", owner_get))
    print(row("GET /media/{id} by a grantee", grantee_get, owner_get))
    print(row(f"GET /media?limit={PAGE} (baseline)", own_page))
    print(row(f"GET /shares/incoming?limit={PAGE}", incoming, own_page))
    print(row("GET /links/{token}", link_open, owner_get))
    print(row("GET /links/{token} with a password", protected_open, owner_get))
    ratio = statistics.median(grantee_get) / statistics.median(owner_get)
    print(f"  grantee/owner p50 ratio {ratio:.2f}x (goal <= 1.2x)")
