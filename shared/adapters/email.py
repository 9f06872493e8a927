"""Notification emails through SES: who shared what, and a link to the console's "shared with me" page.

The link is the console's own page, never a presigned URL or a link token: an email outlives any grant, and whoever
follows the link still signs in and is checked by the policy.
"""

from __future__ import annotations

from typing import Any

from shared.domain.notifications import Notification, NotificationKind

# The console's hash route (clients/web/src/main.ts): its static host serves index.html at the origin, and the
# console keeps the hash across sign-in, so the link lands on the page once the reader has signed in.
SHARED_WITH_ME_PATH = "/#/shared"


class SesNotificationMailer:
    """NotificationMailer on SES SendEmail, from one verified sender address."""

    def __init__(self, client: Any, sender: str, console_url: str) -> None:
        self._ses = client
        self._sender = sender
        self._link = console_url.rstrip("/") + SHARED_WITH_ME_PATH

    def send(self, address: str, notification: Notification) -> None:
        """One plain-text email; SES's errors propagate (the message is retried)."""
        subject, text = self.compose(notification)
        self._ses.send_email(
            Source=self._sender,
            Destination={"ToAddresses": [address]},
            Message={
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
            },
        )

    def compose(self, notification: Notification) -> tuple[str, str]:
        """Subject and body."""
        payload = notification.payload
        who = _one_line(payload.actor_name) or "Someone"
        title = _one_line(payload.resource_title)
        what = f'"{title}"' if title else f"a {payload.resource_type} item"
        if notification.kind is NotificationKind.SHARE_GRANTED:
            subject = f"{who} shared {what} with you"
            permissions = ", ".join(payload.permissions)
            lines = [f"{who} shared {what} with you on Media Vault ({permissions}).", "", f"Open it: {self._link}"]
        else:
            subject = f"{who} stopped sharing {what} with you"
            lines = [
                f"{who} no longer shares {what} with you on Media Vault.",
                "",
                f"What is still shared: {self._link}",
            ]
        return subject, "\n".join(lines) + "\n"


def _one_line(text: str, limit: int = 120) -> str:
    """Titles are the sharer's words: no line breaks reach a subject line, and no essay either."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
