"""Errors the command reports as one line."""

from __future__ import annotations


class CliError(Exception):
    """Anything the user should read as one line (no traceback unless --verbose)."""

    exit_code = 1


class ApiError(CliError):
    """An answer of the API or the identity server that is not a success."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class NotLoggedIn(CliError):
    """No usable tokens for the profile."""
