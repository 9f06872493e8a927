"""Finished export archives in the media bucket, under exports/ only (shared/domain/retention.py ExportRetention).

The export job writes them; this adapter only lists and deletes. The bucket is versioned, so an archive goes with
every version and delete marker of its key: a plain DeleteObject would leave its bytes behind as a noncurrent
version.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from shared.domain.retention import EXPORTS_PREFIX


class S3ExportArchives:
    """ExportArchives on the media bucket."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def _entries(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self._s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            yield from page.get("Versions", [])
            yield from page.get("DeleteMarkers", [])

    def written_before(self, before: datetime) -> Iterator[str]:
        """Keys under exports/ whose newest write (a version or a delete marker) is older than `before`."""
        newest: dict[str, datetime] = {}
        for entry in self._entries(EXPORTS_PREFIX):
            key, written = str(entry["Key"]), entry["LastModified"]
            newest[key] = max(newest.get(key, written), written)
        yield from sorted(key for key, written in newest.items() if written < before)

    def delete(self, key: str) -> int:
        """Delete every version and delete marker of exactly key (never outside exports/); how many there were."""
        if not key.startswith(EXPORTS_PREFIX):
            raise ValueError(f"{key!r} is not an export archive")
        targets = [{"Key": key, "VersionId": e["VersionId"]} for e in self._entries(key) if e["Key"] == key]
        for start in range(0, len(targets), 1000):  # DeleteObjects takes at most 1000 keys
            response = self._s3.delete_objects(
                Bucket=self._bucket, Delete={"Objects": targets[start : start + 1000], "Quiet": True}
            )
            if response.get("Errors"):
                first = response["Errors"][0]
                raise RuntimeError(f"S3 refused to delete {first.get('Key')}: {first.get('Code')}")
        return len(targets)
