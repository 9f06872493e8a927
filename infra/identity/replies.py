"""What the dev identity server answers: JSON errors, HTML pages and redirects (shared by its modules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]
Reply = tuple[int, Any]


class HttpError(Exception):
    """An error answered as a JSON body with an HTTP status."""

    def __init__(self, status: int, body: Json) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


class InvalidToken(Exception):
    """A token failed its key, signature, expiry, issuer or type check."""


def oauth_error(status: int, error: str, description: str) -> HttpError:
    """Build a Keycloak-shaped OAuth error."""
    return HttpError(status, {"error": error, "error_description": description})


def bad_request(description: str) -> HttpError:
    """Build a 400 invalid_request error."""
    return oauth_error(400, "invalid_request", description)


@dataclass(frozen=True)
class Html:
    """An HTML page; `form_targets` are the origins its forms may submit to or be redirected to (CSP)."""

    text: str
    form_targets: tuple[str, ...] = ()
    cookies: tuple[str, ...] = ()
    status: int = 200


@dataclass(frozen=True)
class Redirect:
    """A 302 to `location`, optionally setting cookies (Set-Cookie values)."""

    location: str
    cookies: tuple[str, ...] = ()
