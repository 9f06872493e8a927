"""Local stand-in for Lambda's SQS event source: drain the queue, call the processor, honour partial failures."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from chalice.local import LambdaContext

SqsHandler = Callable[[dict[str, Any], Any], Any]
# The Lambda entry point in app.py of each queue-driven function, and the setting naming its queue.
QUEUES = {
    "processor": "PROCESSING_QUEUE_URL",
    "analyzer": "ANALYSIS_QUEUE_URL",
    "notifier": "NOTIFICATIONS_QUEUE_URL",
    "maintainer": "MAINTENANCE_QUEUE_URL",
}


def lambda_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message in the shape Lambda's event source mapping delivers it."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class QueueWorker:
    """Receives batches, invokes the handler like Lambda would, deletes what succeeded.

    Failed messages become visible again after `retry_delay` seconds; the queue's redrive policy
    moves them to the dead-letter queue after its maxReceiveCount, exactly as on AWS.
    """

    def __init__(
        self,
        queue_url: str,
        handler: SqsHandler,
        *,
        region: str = "us-east-1",
        batch_size: int = 10,
        wait_seconds: int = 1,
        retry_delay: int = 2,
    ) -> None:
        self._sqs = boto3.client("sqs", region_name=region)
        self._queue_url = queue_url
        self._handler = handler
        self._region = region
        self._batch_size = batch_size
        self._wait = wait_seconds
        self._retry_delay = retry_delay
        self._queue_arn = self._sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    def poll_once(self) -> int:
        """Handle at most one batch; return how many messages it held."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=self._wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [lambda_record(m, self._queue_arn, self._region) for m in messages]}
        # The deployed processor's timeout (.chalice/config.json): processing budgets come from the time left.
        context = LambdaContext("processor", memory_size=1536, max_runtime_ms=420_000)
        try:
            result = self._handler(event, context) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:  # noqa: BLE001 - like Lambda, an invocation error fails the whole batch
            failed = {m["MessageId"] for m in messages}
        for message in messages:
            if message["MessageId"] in failed:
                self._sqs.change_message_visibility(
                    QueueUrl=self._queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=self._retry_delay,
                )
            else:
                self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def run(self, stop: threading.Event) -> None:
        """Poll until stop is set; an unreachable queue is retried (the emulator may be restarting)."""
        while not stop.is_set():
            try:
                self.poll_once()
            except (BotoCoreError, ClientError) as exc:
                print(f"worker: queue unreachable ({type(exc).__name__}); retrying", file=sys.stderr, flush=True)
                stop.wait(1.0)


class SpoolWorker:
    """Local stand-in for a CloudWatch Logs subscription: tails the API's record spool (shared/adapters/records.py)
    and hands new lines to the recorder in the event shape Lambda delivers them.

    A failed batch is retried, as Lambda retries an asynchronous invocation twice; after that it is set aside (on
    AWS it would go to the function's failure destination) and logged.
    """

    ATTEMPTS = 3

    def __init__(self, path: str, handler: SqsHandler, *, max_lines: int = 1000, retry_delay: float = 1.0) -> None:
        self._path = path
        self._handler = handler
        self._max_lines = max_lines
        self._retry_delay = retry_delay
        self._offset = 0

    def poll_once(self) -> int:
        """Deliver at most one batch of complete lines; return how many lines it held."""
        try:
            with open(self._path, "rb") as spool:
                spool.seek(self._offset)
                data = spool.read(4 << 20)
        except FileNotFoundError:
            return 0
        end = data.rfind(b"\n")
        if end < 0:
            return 0
        lines: list[tuple[str, int, str]] = []
        position = 0
        now = int(time.time() * 1000)
        for raw in data[: end + 1].split(b"\n")[:-1][: self._max_lines]:
            lines.append((str(self._offset + position), now, raw.decode(errors="replace")))
            position += len(raw) + 1
        from functions.recorder import subscription_event

        event = subscription_event("/aws/lambda/media-vault-local-api", "local", lines)
        context = LambdaContext("recorder", memory_size=256, max_runtime_ms=60_000)
        for attempt in range(1, self.ATTEMPTS + 1):
            try:
                self._handler(event, context)
                break
            except Exception as exc:  # noqa: BLE001 - like Lambda: the invocation failed, retry it
                print(f"recorder: batch failed ({exc!r}), attempt {attempt}", file=sys.stderr, flush=True)
                time.sleep(self._retry_delay)
        self._offset += position
        return len(lines)

    def run(self, stop: threading.Event) -> None:
        """Tail until stop is set."""
        while not stop.is_set():
            if not self.poll_once():
                stop.wait(0.2)


def main(argv: list[str] | None = None) -> int:
    """Drain one function's queue (or the recorder's spool) until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--function", choices=sorted([*QUEUES, "recorder"]), default="processor")
    parser.add_argument("--queue-url", default="")
    parser.add_argument("--retry-delay", type=int, default=2)
    args = parser.parse_args(argv)
    if args.function == "recorder":
        return _tail_spool()
    args.queue_url = args.queue_url or os.environ.get(QUEUES[args.function], "")
    if not args.queue_url:
        parser.error(f"--queue-url or {QUEUES[args.function]} is required")
    import app

    handler = getattr(app, args.function)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    worker = QueueWorker(
        args.queue_url, handler, region=os.environ.get("AWS_REGION", "us-east-1"), retry_delay=args.retry_delay
    )
    print(f"worker draining {args.queue_url}", flush=True)
    worker.run(stop)
    return 0


def _tail_spool() -> int:
    from shared.adapters.records import spool_path

    path = spool_path(os.environ.get("RECORD_DELIVERY", ""))
    if not path:
        print("recorder: RECORD_DELIVERY is not file:<path>; nothing to tail", file=sys.stderr)
        return 2
    import app

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"recorder tailing {path}", flush=True)
    SpoolWorker(path, app.recorder).run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
