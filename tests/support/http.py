"""HTTP helpers for tiers that talk to running processes: tokens, presigned POST uploads, polling."""

from __future__ import annotations

import time
from typing import Any

import requests


def password_token(issuer: str, username: str, password: str | None = None, client_id: str = "media-vault-web") -> str:
    """An access token from the realm's token endpoint (password grant)."""
    response = requests.post(
        f"{issuer}/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": client_id, "username": username, "password": password or username},
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


class ApiSession:
    """A user's view of the API: bearer token on every call."""

    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, json: Any = None) -> requests.Response:
        """One request."""
        return self.session.request(method, f"{self.base_url}{path}", json=json, timeout=10)

    def upload(
        self, data: bytes, content_type: str = "image/jpeg", filename: str = "photo.jpg"
    ) -> tuple[str, requests.Response]:
        """Declare a file, then POST it to storage with the signed form; (media_id, storage response)."""
        declared = self.call(
            "POST", "/uploads", {"filename": filename, "content_type": content_type, "size": len(data)}
        )
        assert declared.status_code == 201, declared.text
        ticket = declared.json()
        stored = post_form(ticket["upload"], data, content_type)
        return str(ticket["media_id"]), stored

    def wait_for_status(self, media_id: str, statuses: set[str], timeout: float = 30.0) -> dict[str, Any]:
        """Poll GET /media/{id} until its status is one of statuses."""
        deadline = time.monotonic() + timeout
        while True:
            item: dict[str, Any] = self.call("GET", f"/media/{media_id}").json()
            if item.get("status") in statuses or time.monotonic() > deadline:
                return item
            time.sleep(0.05)


def post_form(upload: dict[str, Any], data: bytes, content_type: str, **overrides: str) -> requests.Response:
    """POST a presigned form (fields, then the file) as a browser would."""
    fields = {**upload["fields"], **overrides}
    files = {"file": ("upload", data, content_type)}
    return requests.post(upload["url"], data=fields, files=files, timeout=30)
