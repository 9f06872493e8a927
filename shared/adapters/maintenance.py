"""The AWS side of maintenance jobs: the worker's queue, reprocess requests, and the bucket's inventory."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.storage import S3Storage
from shared.domain.media import MediaItem

REPROCESS = "reprocess"


class SqsJobQueue:
    """JobQueue on the maintenance queue."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._sqs = client
        self._queue_url = queue_url

    def send(self, job_id: str, step: int) -> None:
        """One message per step."""
        body = json.dumps({"job_id": job_id, "step": step})
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=body)


def reprocess_message(bucket: str, key: str, job_id: str) -> str:
    """The processor's reprocess request: no version id or sequencer, so it is not deduplicated as a replay of the
    upload's own notification; the item was reopened (pending) first, and the processor's conditional claim lets
    exactly one delivery process it."""
    return json.dumps({REPROCESS: {"bucket": bucket, "key": key, "job_id": job_id}})


class SqsProcessingRequests:
    """ProcessingRequests on the processing queue."""

    def __init__(self, client: Any, queue_url: str, bucket: str) -> None:
        self._sqs = client
        self._queue_url = queue_url
        self._bucket = bucket

    def reprocess(self, item: MediaItem, job_id: str) -> None:
        """Announce the item's original to the processor again."""
        body = reprocess_message(self._bucket, item.object_key, job_id)
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=body)


class S3Inventory:
    """BucketInventory on the media bucket."""

    def __init__(self, client: Any, bucket: str, storage: S3Storage) -> None:
        self._s3 = client
        self._bucket = bucket
        self._storage = storage

    def list_keys(self, prefix: str, token: str) -> tuple[list[str], str]:
        """One ListObjectsV2 page (up to 1,000 keys)."""
        request: dict[str, Any] = {"Bucket": self._bucket, "Prefix": prefix, "MaxKeys": 1000}
        if token:
            request["ContinuationToken"] = token
        response = self._s3.list_objects_v2(**request)
        keys = [str(entry["Key"]) for entry in response.get("Contents", [])]
        return keys, str(response.get("NextContinuationToken") or "") if response.get("IsTruncated") else ""

    def exists(self, key: str) -> bool:
        """HEAD the key's current object."""
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def keys_under(self, prefix: str) -> set[str]:
        """Every current key under prefix."""
        keys: set[str] = set()
        token = ""
        while True:
            page, token = self.list_keys(prefix, token)
            keys.update(page)
            if not token:
                return keys

    def delete_everything(self, exact_keys: list[str], prefixes: list[str]) -> None:
        """Every version and delete marker of the keys and prefixes."""
        self._storage.purge(exact_keys=exact_keys, prefixes=prefixes)
