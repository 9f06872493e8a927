"""Abuse limits on the real local stack: a concurrent burst at twice a caller's upload limit, measured.

The limits table is the emulator's DynamoDB; the API is the threaded local server, so the requests really overlap.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from infra.local.stack import DevStack
from shared.config import Settings
from tests.integration.conftest import UPLOAD_LIMIT
from tests.support.http import password_token
from tests.support.realm import create_realm_user

LIMIT = UPLOAD_LIMIT  # the integration stack's (tests/integration/conftest.py)
WINDOW = Settings().rate_limit_window_seconds
BURST = 2 * LIMIT
THREADS = 16
DECLARATION = {"filename": "burst.jpg", "content_type": "image/jpeg", "size": 1024}


def _start_of_a_fresh_window(needed_seconds: float) -> None:
    """Windows are aligned to the clock: start the burst where it cannot straddle two of them."""
    into = time.time() % WINDOW
    if into > WINDOW - needed_seconds:
        time.sleep(WINDOW - into + 0.5)


def test_a_burst_at_twice_the_upload_limit_gets_429_for_all_of_the_excess_and_no_5xx(stack: DevStack) -> None:
    # GIVEN two fresh users (no other test has counted against their limits)
    for username in ("burster", "bystander"):
        create_realm_user(stack.issuer, username)
    burster = password_token(stack.issuer, "burster")
    bystander = password_token(stack.issuer, "bystander")
    local = threading.local()

    def declare(token: str) -> requests.Response:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        headers = {"Authorization": f"Bearer {token}"}
        return local.session.post(f"{stack.api_url}/uploads", json=DECLARATION, headers=headers, timeout=30)

    for token in (burster, bystander):  # accounts exist before the burst, so it measures only the limit
        assert requests.get(f"{stack.api_url}/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).ok
    _start_of_a_fresh_window(needed_seconds=30)
    # WHEN the burster fires twice the limit from 16 threads while the bystander declares 10 uploads among them
    calls = [burster] * BURST
    for n in range(10):
        calls.insert(n * (BURST // 10), bystander)
    started = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        responses = list(pool.map(declare, calls))
    elapsed = time.monotonic() - started
    bursts = [r for token, r in zip(calls, responses, strict=True) if token == burster]
    others = [r for token, r in zip(calls, responses, strict=True) if token == bystander]
    statuses = Counter(r.status_code for r in bursts)
    share = statuses[429] / (BURST - LIMIT)
    print(
        f"\nburst of {BURST} POST /uploads (limit {LIMIT}/{WINDOW}s) from {THREADS} threads in {elapsed:.1f}s:"
        f" {dict(statuses)}; share of the excess answered 429: {share:.0%};"
        f" 5xx: {sum(n for s, n in statuses.items() if s >= 500)}"
    )
    # THEN exactly the limit is issued, all of the excess is 429 (never a 5xx), each with the error body and Retry-After
    assert statuses == {201: LIMIT, 429: BURST - LIMIT}, statuses
    for response in bursts:
        if response.status_code == 429:
            _assert_limited(response)
    # AND the bystander, in the same window, was not affected
    assert [r.status_code for r in others] == [201] * 10


def _assert_limited(response: requests.Response) -> None:
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == "too_many_attempts"
    assert 1 <= int(response.headers["Retry-After"]) <= WINDOW
