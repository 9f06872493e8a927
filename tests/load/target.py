"""What the load runner and its Locust users agree on, kept free of Locust (importing it patches with gevent)."""

from __future__ import annotations

from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"
# The realm's demo accounts (infra/identity/users.json; password = username), taken in turn by the users.
DEMO_USERS = ("alice", "bob", "pat", "gina", "ada")
RATE_LIMITED = "rate limited (429)"


def require_loopback(url: str) -> None:
    """Refuse any target but 127.0.0.1: this load is only ever aimed at the local stack."""
    if urlsplit(url).hostname != LOOPBACK:
        raise SystemExit(f"refusing to load {url!r}: only http://{LOOPBACK}:<port> is allowed")
