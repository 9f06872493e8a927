"""A wall-clock budget for one item's processing: a hostile file cannot hold a worker forever."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from shared.domain.errors import OutOfTime, UnreadableMedia


class BudgetExceeded(UnreadableMedia):
    """Processing one item took longer than it may."""


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise BudgetExceeded inside the block once `seconds` have passed.

    SIGALRM interrupts Python between the decoder's C calls (Pillow decodes in chunks), so a slow decode stops
    within one chunk. Signals reach only the main thread, which is where Lambda and the local worker run
    handlers; elsewhere (tests driving the processor from threads) the block runs unbudgeted.
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise BudgetExceeded(f"processing took longer than its {seconds:g} s time budget")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def time_budget_within(budget_s: float, time_left_s: float | None) -> Iterator[None]:
    """time_budget(budget_s), cut to the invocation's time left when that is shorter; running out of the
    invocation's time is OutOfTime (the item failed for lack of time, not for its content)."""
    if time_left_s is None or budget_s <= time_left_s:
        with time_budget(budget_s):
            yield
        return
    if time_left_s <= 0:
        raise OutOfTime("processing ran out of time: the invocation had no time left to render")
    try:
        with time_budget(time_left_s):
            yield
    except BudgetExceeded as exc:
        raise OutOfTime(f"processing ran out of time: the invocation had {time_left_s:.1f} s left to render") from exc
