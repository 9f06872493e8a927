"""Position keys: strings whose sort order is an album's order, so a move rewrites one member, not the album."""

from __future__ import annotations

from datetime import UTC, datetime

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_BASE = len(DIGITS)
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
# Microseconds since 2020 in base 36 fit 11 digits until the 2130s: appended keys have a fixed width.
_APPEND_WIDTH = 11


def _digit(key: str, index: int) -> int:
    return DIGITS.index(key[index]) if index < len(key) else 0


def key_between(low: str | None, high: str | None) -> str:
    """A key strictly between low and high (None: open end); keys never end in "0", so there is always room."""
    if low is not None and high is not None and not low < high:
        raise ValueError(f"{low!r} is not before {high!r}")
    return _midpoint(low or "", high)


def _midpoint(low: str, high: str | None) -> str:
    if high is not None:
        shared = 0
        while shared < len(high) and (low[shared] if shared < len(low) else "0") == high[shared]:
            shared += 1
        if shared:
            return high[:shared] + _midpoint(low[shared:], high[shared:])
    below = _digit(low, 0) if low else 0
    above = _digit(high, 0) if high else _BASE
    if above - below > 1:
        return DIGITS[(below + above) // 2]
    if high is not None and len(high) > 1:
        return high[:1]
    return DIGITS[below] + _midpoint(low[1:], None)


def key_after(last: str | None, now: datetime) -> str:
    """A key for appending after last: the time in fixed width, so appends stay short however many there are."""
    micros = max(0, int((now - _EPOCH).total_seconds() * 1_000_000))
    digits = ""
    while micros:
        micros, rest = divmod(micros, _BASE)
        digits = DIGITS[rest] + digits
    # The trailing "i" keeps the no-trailing-zero rule; a clock behind the last key extends that key instead.
    stamped = digits.rjust(_APPEND_WIDTH, "0") + "i"
    if last is None or stamped > last:
        return stamped
    return last + "i"
