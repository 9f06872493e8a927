"""Listing cursors: DynamoDB's resume position, signed so that only the listing it came from accepts it back."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from shared.domain.errors import ValidationError

_INVALID = "cursor is not valid for this listing (pass next_cursor back with the same filters)"
_MAC_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorSigner:
    """Turns a LastEvaluatedKey into an opaque token and back, for one scope (owner and query)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the cursor signing key must be at least 16 bytes")
        self._key = key

    def _mac(self, scope: str, payload: str) -> bytes:
        return hmac.new(self._key, f"{scope}\n{payload}".encode(), hashlib.sha256).digest()

    def sign(self, position: dict[str, Any], scope: str) -> str:
        """A token for a DynamoDB position (string attributes only, as every key of the media table is)."""
        plain = {name: value["S"] for name, value in position.items()}
        payload = _b64(json.dumps(plain, separators=(",", ":"), sort_keys=True).encode())
        return f"{payload}.{_b64(self._mac(scope, payload))}"

    def open(self, token: str, scope: str, attributes: frozenset[str]) -> dict[str, Any]:
        """The position a token names; ValidationError unless this signer issued it for this scope."""
        payload, dot, signature = token.partition(".")
        try:
            mac = _unb64(signature) if dot else b""
        except (ValueError, binascii.Error):
            mac = b""
        if len(mac) != _MAC_BYTES or not hmac.compare_digest(mac, self._mac(scope, payload)):
            raise ValidationError(_INVALID, field="cursor")
        # Signed by us, so well-formed; checked anyway, since a changed key layout must not become a 500.
        try:
            plain = json.loads(_unb64(payload))
        except (ValueError, binascii.Error):
            raise ValidationError(_INVALID, field="cursor") from None
        if not isinstance(plain, dict) or set(plain) != attributes:
            raise ValidationError(_INVALID, field="cursor")
        if not all(isinstance(value, str) for value in plain.values()):
            raise ValidationError(_INVALID, field="cursor")
        return {name: {"S": value} for name, value in plain.items()}
