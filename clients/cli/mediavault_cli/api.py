"""HTTP to the API, the identity server and storage: tokens, retries with backoff, one error type."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

from mediavault_cli.config import CLIENT_ID, ENV_TOKEN, Profile
from mediavault_cli.errors import ApiError, CliError, NotLoggedIn

log = logging.getLogger("mediavault")

# Statuses worth another try: throttling, and the API's "a dependency is unavailable, retry" (README).
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
ATTEMPTS = 5
MAX_RETRY_AFTER_SECONDS = 60.0
BACKOFF_SECONDS = float(os.environ.get("MEDIAVAULT_BACKOFF_SECONDS", "0.3"))
TIMEOUT = (5, 120)
# Refresh a little before expiry so a token cannot lapse between the check and the request.
EXPIRY_MARGIN_SECONDS = 30


def with_retries(send: Callable[[], requests.Response], what: str) -> requests.Response:
    """Call send until it answers with a non-transient status; network errors and 5xx are retried with backoff."""
    for attempt in range(ATTEMPTS):
        last = attempt == ATTEMPTS - 1
        try:
            response = send()
        except (requests.ConnectionError, requests.Timeout) as exc:
            log.debug("%s: attempt %d: %s", what, attempt + 1, exc)
            if last:
                raise CliError(f"cannot reach {what}: {_short(exc)}") from exc
        else:
            request = response.request
            log.debug("%s %s -> %d", request.method, (request.url or "").split("?")[0], response.status_code)
            if response.status_code not in TRANSIENT_STATUSES or last:
                return response
            wait = retry_after(response)
            if wait is not None:
                # A limit says when its window ends: waiting that long is what gets the request through.
                log.debug("%s: %s asks to wait %.0f s", what, response.status_code, wait)
                time.sleep(wait)
                continue
        time.sleep(BACKOFF_SECONDS * 2**attempt)
    raise AssertionError("unreachable")


def retry_after(response: requests.Response) -> float | None:
    """Seconds a 429/503 asks the client to wait (Retry-After in seconds, at most a minute), else None."""
    if response.status_code not in (429, 503):
        return None
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS) if seconds == seconds else None


def _short(exc: Exception) -> str:
    """The innermost reason of a requests error, without urllib3's nested reprs."""
    reason: BaseException = exc
    while reason.__context__ is not None and not isinstance(reason, OSError):
        reason = reason.__context__
    text = str(reason)
    return text.split(": ", 1)[-1] if "Errno" in text or "Connection" in text else text


def error_of(response: requests.Response) -> ApiError:
    """The API's {code, message}, or the identity server's {error, error_description}, as one error."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = body.get("code") or body.get("error") or response.reason or "error"
    message = body.get("message") or body.get("error_description") or response.text[:200].strip() or "no details"
    if body.get("errors"):
        details = "; ".join(f"{e.get('field')}: {e.get('problem')}" for e in body["errors"] if isinstance(e, dict))
        message = f"{message} ({details})"
    return ApiError(response.status_code, str(code), str(message))


class Identity:
    """The realm's token endpoint for the CLI client."""

    def __init__(self, profile: Profile, http: requests.Session) -> None:
        self.profile = profile
        self.http = http

    def grant(self, form: dict[str, str]) -> dict[str, Any]:
        """One token-endpoint request as the CLI client; a refusal raises ApiError with its OAuth error code."""
        url = f"{self.profile.issuer}/protocol/openid-connect/token"
        response = with_retries(
            lambda: self.http.post(url, data={"client_id": CLIENT_ID, **form}, timeout=TIMEOUT), "the identity server"
        )
        if response.status_code != 200:
            raise error_of(response)
        tokens: dict[str, Any] = response.json()
        return tokens

    def password(self, username: str, password: str) -> None:
        """Log in and store the tokens."""
        self.store(self.grant({"grant_type": "password", "username": username, "password": password}), username)

    def refresh(self) -> None:
        """Trade the refresh token for new tokens, or fail with NotLoggedIn."""
        token = self.profile.stored.get("refresh_token")
        if not token or self.profile.stored.get("refresh_expires_at", 0) < time.time():
            raise NotLoggedIn(f"session of profile {self.profile.name!r} expired: run `mediavault login`")
        try:
            tokens = self.grant({"grant_type": "refresh_token", "refresh_token": token})
        except ApiError as exc:
            raise NotLoggedIn(f"{exc} (run `mediavault login`)") from exc
        self.store(tokens, self.profile.stored.get("username", ""))

    def store(self, tokens: dict[str, Any], username: str) -> None:
        """Keep a token response in the profile (0600)."""
        now = time.time()
        self.profile.stored.update(
            username=username,
            access_token=tokens["access_token"],
            refresh_token=tokens.get("refresh_token", ""),
            access_expires_at=now + int(tokens.get("expires_in", 60)),
            refresh_expires_at=now + int(tokens.get("refresh_expires_in", 0)),
        )
        self.profile.save()


class Api:
    """The Media Vault API as the logged-in user; safe to share between upload threads."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "mediavault-cli/0.1"
        self.identity = Identity(profile, self.http)
        self._lock = threading.Lock()
        self._fixed_token = os.environ.get(ENV_TOKEN)

    def pool(self, connections: int) -> None:
        """Keep up to `connections` connections per host (requests keeps 10: more threads would open and drop
        a connection per request beyond that)."""
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=max(connections, 10))
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)

    def _token(self, force_refresh: bool = False) -> str:
        if self._fixed_token:
            return self._fixed_token
        with self._lock:
            stored = self.profile.stored
            if "access_token" not in stored:
                raise NotLoggedIn(f"not logged in (profile {self.profile.name!r}): run `mediavault login`")
            if force_refresh or stored.get("access_expires_at", 0) - EXPIRY_MARGIN_SECONDS < time.time():
                self.identity.refresh()
            return str(stored["access_token"])

    def request(
        self,
        method: str,
        path: str,
        *,
        ok: tuple[int, ...] = (200, 201, 202, 204),
        anonymous: bool = False,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """One API call; JSON body of the answer (None for 204). Non-ok statuses raise ApiError.

        `anonymous` sends no bearer token (share links): it works without a login.
        """
        url = f"{self.profile.api}{path}"

        def send(token: str | None) -> requests.Response:
            sent = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
            return with_retries(
                lambda: self.http.request(method, url, headers=sent, timeout=TIMEOUT, **kwargs), "the API"
            )

        response = send(None if anonymous else self._token())
        if response.status_code == 401 and not (anonymous or self._fixed_token):
            # The token may have been revoked or rotated under us: one refresh, one more try.
            try:
                response = send(self._token(force_refresh=True))
            except NotLoggedIn:
                raise error_of(response) from None
        if response.status_code not in ok:
            raise error_of(response)
        return None if response.status_code == 204 or not response.content else response.json()

    def pages(
        self, path: str, params: dict[str, Any], everything: bool = False, key: str = "items"
    ) -> Iterator[dict[str, Any]]:
        """Entries under `key` of a listing (None-valued params left out), following next_cursor when asked for all."""
        query = {k: v for k, v in params.items() if v is not None}
        while True:
            page = self.request("GET", path, params=query)
            yield from page[key]
            if not everything or not page.get("next_cursor"):
                return
            query["cursor"] = page["next_cursor"]

    def storage(self, method: str, url: str, what: str = "storage", **kwargs: Any) -> requests.Response:
        """A presigned storage request (no bearer token), retried on transient failures."""
        response = with_retries(lambda: self.http.request(method, url, timeout=TIMEOUT, **kwargs), what)
        if response.status_code >= 400:
            raise ApiError(response.status_code, "storage_error", storage_message(response))
        return response


def storage_message(response: requests.Response) -> str:
    """S3 answers XML: <Code> and <Message> are what a person needs."""
    found = {k: re.search(rf"<{k}>(.*?)</{k}>", response.text, re.S) for k in ("Code", "Message")}
    parts = [m.group(1).strip() for m in found.values() if m]
    return ": ".join(parts) or response.reason or "storage refused the request"
