"""Locust users for `make load` (tests/load/run.py starts them): a demo user's mixed traffic, and GET /health alone.

The issuer comes from LOAD_ISSUER; both the API host and the issuer must be 127.0.0.1 (a load test aimed elsewhere
is refused before any request is sent). A 429 is reported as a failure named `rate limited (429)`, which the
runner counts apart from errors.
"""

from __future__ import annotations

import itertools
import os
import random
from typing import Any

from locust import HttpUser, between, events, task
from locust.env import Environment

from tests.load.target import DEMO_USERS, RATE_LIMITED, require_loopback
from tests.support.http import password_token
from tests.support.images import jpeg_bytes

# One small JPEG for every upload: the processor's work per item stays small next to the API's.
PHOTO = jpeg_bytes(160, 120)
_accounts = itertools.cycle(DEMO_USERS)


@events.test_start.add_listener  # type: ignore[untyped-decorator]
def _refuse_remote_hosts(environment: Environment, **_: Any) -> None:
    require_loopback(environment.host or "")
    require_loopback(os.environ.get("LOAD_ISSUER", ""))


class HealthUser(HttpUser):
    """GET /health only: the floor of the local stack (no token, no table)."""

    wait_time = between(0, 0)

    @task
    def health(self) -> None:
        self.client.get("/health")


class MixedUser(HttpUser):
    """A demo user listing, opening, uploading and sharing their own items and reading what others shared."""

    wait_time = between(0, 0)

    def on_start(self) -> None:
        self.username = next(_accounts)
        token = password_token(os.environ["LOAD_ISSUER"], self.username)
        self.client.headers["Authorization"] = f"Bearer {token}"
        self.own: list[str] = []
        self.unshared: list[str] = []
        self.upload()

    def _checked(self, method: str, path: str, name: str, expected: tuple[int, ...], **kwargs: Any) -> Any:
        """One request, a 429 told apart from other failures; the response when it answered as expected."""
        with self.client.request(method, path, name=name, catch_response=True, **kwargs) as response:
            if response.status_code == 429:
                response.failure(RATE_LIMITED)
                return None
            if response.status_code not in expected:
                response.failure(f"{response.status_code}: {response.text[:120]}")
                return None
            response.success()
            return response

    @task(4)
    def list_media(self) -> None:
        self._checked("GET", "/media?limit=50", "GET /media", (200,))

    @task(4)
    def open_item(self) -> None:
        if self.own:
            self._checked("GET", f"/media/{random.choice(self.own)}", "GET /media/{id}", (200,))

    @task(2)
    def upload(self) -> None:
        declared = {"filename": "load.jpg", "content_type": "image/jpeg", "size": len(PHOTO)}
        declared_response = self._checked("POST", "/uploads", "POST /uploads", (201,), json=declared)
        if declared_response is None:
            return
        ticket = declared_response.json()
        form = ticket["upload"]
        files = {"file": ("upload", PHOTO, "image/jpeg")}
        require_loopback(form["url"])
        stored = self._checked(
            "POST", form["url"], "POST presigned form", (200, 201, 204), data=form["fields"], files=files
        )
        if stored is not None:
            self.own.append(ticket["media_id"])
            self.unshared.append(ticket["media_id"])

    @task(1)
    def share(self) -> None:
        # Each item is shared once: a second grant to the same person is a 409 by design, not a load error.
        if not self.unshared:
            return
        media_id = self.unshared.pop()
        grantee = random.choice([name for name in DEMO_USERS if name != self.username])
        grant = {"grantee": {"type": "user", "username": grantee}, "permissions": ["view"]}
        self._checked("POST", f"/media/{media_id}/shares", "POST /media/{id}/shares", (201,), json=grant)

    @task(2)
    def incoming(self) -> None:
        self._checked("GET", "/shares/incoming", "GET /shares/incoming", (200,))
