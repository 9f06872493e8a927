"""Dead-letter queues: peek at what failed, and move it back to the queue it came from."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Long enough to read a batch, short enough that the consumers of the queue barely notice; set back to 0 at once.
PEEK_VISIBILITY_SECONDS = 5
_SUMMARY_CHARS = 300


@dataclass(frozen=True)
class DeadLetter:
    """A message waiting in a dead-letter queue."""

    message_id: str
    receive_count: int
    sent_at: int
    summary: str


@dataclass(frozen=True)
class DeadLetterView:
    """One dead-letter queue: how many wait, and a few of them."""

    queue: str
    approximate_messages: int
    messages: list[DeadLetter]


def summarize(body: str) -> str:
    """What a message is about in one line: the S3 keys of a notification, else the start of its body."""
    try:
        message = json.loads(body)
    except ValueError:
        return body[:_SUMMARY_CHARS]
    if isinstance(message, dict) and isinstance(message.get("Records"), list):
        keys = [
            str(r.get("s3", {}).get("object", {}).get("key", "")) for r in message["Records"] if isinstance(r, dict)
        ]
        return f"S3 notification: {', '.join(keys)}"[:_SUMMARY_CHARS]
    return json.dumps(message, separators=(",", ":"))[:_SUMMARY_CHARS]


class SqsDeadLetters:
    """The named source queues and the dead-letter queue each one's redrive policy names."""

    def __init__(self, client: Any, sources: dict[str, str], clock: Callable[[], float] = time.monotonic) -> None:
        self._sqs = client
        self._sources = {name: url for name, url in sources.items() if url}
        self._clock = clock

    @property
    def names(self) -> list[str]:
        """The queues that have a dead-letter queue configured here."""
        return sorted(self._sources)

    def _dead_letter_url(self, name: str) -> str:
        attributes = self._sqs.get_queue_attributes(QueueUrl=self._sources[name], AttributeNames=["RedrivePolicy"])
        arn = json.loads(attributes["Attributes"]["RedrivePolicy"])["deadLetterTargetArn"]
        return str(self._sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"])

    def peek(self, name: str, limit: int) -> DeadLetterView:
        """The approximate count and up to limit (<= 10) messages, left in the queue."""
        url = self._dead_letter_url(name)
        count = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        messages = self._sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(max(limit, 1), 10),
            VisibilityTimeout=PEEK_VISIBILITY_SECONDS,
            AttributeNames=["All"],
        ).get("Messages", [])
        for message in messages:
            self._sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return DeadLetterView(
            queue=name,
            approximate_messages=int(count["Attributes"].get("ApproximateNumberOfMessages", 0)),
            messages=[
                DeadLetter(
                    message_id=str(m["MessageId"]),
                    receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
                    sent_at=int(m.get("Attributes", {}).get("SentTimestamp", 0)),
                    summary=summarize(str(m.get("Body", ""))),
                )
                for m in messages[:limit]
            ],
        )

    def redrive(self, name: str, max_messages: int, budget_seconds: float) -> int:
        """Move up to max_messages back to their source queue (send, then delete) within the time budget."""
        url = self._dead_letter_url(name)
        moved = 0
        deadline = self._clock() + budget_seconds
        while moved < max_messages and self._clock() < deadline:
            messages = self._sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, max_messages - moved),
                VisibilityTimeout=30,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                # Sent before deleted: a crash in between duplicates a message, which the consumers tolerate,
                # rather than losing it.
                request: dict[str, Any] = {"QueueUrl": self._sources[name], "MessageBody": message["Body"]}
                if message.get("MessageAttributes"):
                    request["MessageAttributes"] = message["MessageAttributes"]
                self._sqs.send_message(**request)
                self._sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                moved += 1
        return moved
