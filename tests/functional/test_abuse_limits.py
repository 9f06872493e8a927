"""Abuse limits over HTTP: a burst above a caller's (or a link's) limit gets only 429s with Retry-After, never a
5xx; other callers and other links are unaffected; the next window admits again."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import app
from functions.containers.api import ApiContainer
from shared.adapters.dynamo.limits import DynamoWindowCounters
from shared.config import Settings
from shared.domain.limits import Limited, RateLimit, RequestLimits
from tests.functional.conftest import ApiClient
from tests.functional.test_api import assert_error
from tests.functional.test_integrity import at_once
from tests.functional.test_links import anonymous, make_link
from tests.functional.test_sharing import Vault
from tests.support.tokens import TokenFactory

# Ten seconds into a minute: the window ends 50 s later.
START = datetime(2026, 12, 2, 15, 0, 10, tzinfo=UTC)
UNKNOWN_ID = "0" * 32
DECLARATION = {"filename": "f.jpg", "content_type": "image/jpeg", "size": 1024}


class Clock:
    """The limiter's time, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def limited_to(clock: Clock, **requests: int) -> Callable[[], None]:
    """Serve the API with these limits per minute (kind name -> requests) on the limiter's clock."""
    settings = Settings.from_env()
    limits = {Limited(kind): RateLimit(count, 60) for kind, count in requests.items()}
    counters = DynamoWindowCounters(settings.limits_table, settings.region)
    app.api_services.replace(ApiContainer(settings, request_limits=RequestLimits(counters, limits, clock=clock)))
    return lambda: app.api_services.replace(None)


@pytest.fixture
def clock(aws: dict[str, str]) -> Clock:
    return Clock(START)


def assert_limited(response: Any, retry_after: int) -> None:
    assert_error(response, 429, "too_many_attempts")
    assert response.headers["Retry-After"] == str(retry_after)


def test_an_upload_burst_above_the_limit_gets_only_429s_and_other_users_are_unaffected(
    api: ApiClient, tokens: TokenFactory, clock: Clock, atomic_dynamodb: None
) -> None:
    # GIVEN uploads are limited to 5 a minute per caller
    limited_to(clock, uploads=5)
    alice, bob = tokens.token("alice"), tokens.token("bob")
    assert api.call("GET", "/me", alice).status_code == 200  # her account exists before the burst
    # WHEN alice fires 15 declarations at once
    responses = at_once(15, lambda _n: api.call("POST", "/uploads", alice, DECLARATION))
    # THEN exactly 5 are issued; each of the other 10 is a 429 (never a 5xx) with Retry-After to the window's end
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 5, 429: 10}, statuses
    for response in responses:
        if response.status_code == 429:
            assert_limited(response, 50)
    # AND bob, in the same window, is not affected
    assert api.call("POST", "/uploads", bob, DECLARATION).status_code == 201
    # AND a version of alice's item counts against the same limit
    media_id = next(json.loads(r.body)["media_id"] for r in responses if r.status_code == 201)
    assert_limited(api.call("POST", f"/media/{media_id}/versions", alice, DECLARATION), 50)


def test_the_next_window_admits_again(api: ApiClient, tokens: TokenFactory, clock: Clock) -> None:
    # GIVEN alice used her 2 uploads of this minute
    limited_to(clock, uploads=2)
    alice = tokens.token("alice")
    for _ in range(2):
        assert api.call("POST", "/uploads", alice, DECLARATION).status_code == 201
    clock.now += timedelta(seconds=45)
    assert_limited(api.call("POST", "/uploads", alice, DECLARATION), 5)
    # WHEN the window ends
    clock.now += timedelta(seconds=5)
    # THEN she may upload again, up to the limit
    for _ in range(2):
        assert api.call("POST", "/uploads", alice, DECLARATION).status_code == 201
    assert_limited(api.call("POST", "/uploads", alice, DECLARATION), 60)


def test_describe_is_limited_per_caller_before_anything_is_queued(
    api: ApiClient, tokens: TokenFactory, clock: Clock
) -> None:
    limited_to(clock, describe=1)
    alice = tokens.token("alice")
    # The first request counts even though it names no item of hers (an unknown id is not free to spam).
    assert_error(api.call("POST", f"/media/{UNKNOWN_ID}/describe", alice), 404)
    assert_limited(api.call("POST", f"/media/{UNKNOWN_ID}/describe", alice), 50)


def test_a_link_open_burst_gets_only_429s_and_other_links_are_unaffected(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory, clock: Clock
) -> None:
    from tests.functional.flows import ready_item

    # GIVEN two links to alice's photo, opens limited to 3 a minute per link
    vault = Vault(api, tokens)
    photo = ready_item(api, s3, sqs, aws["PROCESSING_QUEUE_URL"], vault.tokens["alice"])
    first = make_link(vault, photo, ["view", "download"])["token"]
    second = make_link(vault, photo, ["view"])["token"]
    limited_to(clock, link_opens=3)
    # WHEN the first link is opened and downloaded 8 times
    paths = [f"/links/{first}", f"/links/{first}/download"] * 4
    responses = [anonymous(api, path) for path in paths]
    # THEN its first 3 uses are served and the other 5 are 429s
    assert [r.status_code for r in responses] == [200] * 3 + [429] * 5
    for response in responses[3:]:
        assert_limited(response, 50)
        assert response.headers["Cache-Control"] == "no-store"
    # AND the second link still opens
    assert anonymous(api, f"/links/{second}").status_code == 200


def test_limited_routes_document_429(api: ApiClient) -> None:
    document = json.loads(api.call("GET", "/openapi.json").body)
    for path, method in (("/uploads", "post"), ("/media/{media_id}/describe", "post"), ("/links/{token}", "get")):
        assert "429" in document["paths"][path][method]["responses"], (method, path)
