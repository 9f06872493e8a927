"""What every long-running local process shares: dying with its parent, and stopping cleanly on SIGTERM."""

from __future__ import annotations

import contextlib
import ctypes
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child (preexec_fn), Linux: SIGTERM when the parent dies, so nothing is orphaned even on kill -9."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """SIGTERM (and SIGINT) raise KeyboardInterrupt in the main thread: `finally` blocks run, children stop."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
