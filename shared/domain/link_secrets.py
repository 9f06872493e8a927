"""A share link's secrets: its token (only a hash is kept) and its optional password (a slow salted hash)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# 32 random bytes: 256 bits nobody can guess, so one fast hash is enough to keep the token out of the table.
TOKEN_BYTES = 32
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{43}$"  # noqa: S105 - a pattern, not a secret
# scrypt at N=2^15, r=8, p=1 takes ~140 ms and 32 MiB here: slow for a guesser, affordable once per open.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16
_KEY_BYTES = 32
_MAX_MEMORY = 64 * 1024 * 1024
_SCHEME = "scrypt"
# Hashed when no stored password can be checked, so a refusal costs as long as a wrong password does.
_DECOY = f"{_SCHEME}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${'A' * 22}${'A' * 43}"


def new_token() -> str:
    """A fresh link token (URL-safe, 43 characters) that never starts with "-".

    A token pasted after a command (`mediavault link open <token>`) that starts with "-" reads as an option;
    drawing again in that 1-in-64 case costs under 0.03 of the token's 256 bits.
    """
    while (token := secrets.token_urlsafe(TOKEN_BYTES)).startswith("-"):
        pass
    return token


def token_hash(token: str) -> str:
    """What the table keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    """A salted scrypt hash with its parameters: `scrypt$N$r$p$salt$key` (base64 without padding)."""
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join((_SCHEME, str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(key)))


def password_matches(password: str, stored: str) -> bool:
    """True when password is the one stored (constant-time comparison of the derived keys)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != _SCHEME:
            return False
        expected = _unb64(key)
        derived = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(derived, expected)


def spend_a_check(password: str) -> None:
    """Do the work of one password check against nothing (unknown, expired or revoked links)."""
    password_matches(password, _DECOY)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=_KEY_BYTES, maxmem=_MAX_MEMORY)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
