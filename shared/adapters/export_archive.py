"""Export archives on S3: each volume a zip written with `zipfile` into a stream that uploads multipart parts as
they fill.

Memory stays at about one part: the stream keeps at most `part_size` bytes before handing them to S3, and media is
copied into the zip a chunk at a time (zipfile writes a data descriptor after each entry, so it never seeks back).
"""

from __future__ import annotations

import contextlib
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from botocore.exceptions import ClientError

from shared.adapters.storage import S3Storage
from shared.domain.errors import UnreadableMedia
from shared.domain.export import json_bytes
from shared.domain.ports import ObjectVersion

# S3's smallest part (every part but the last); parts of exactly this size keep memory at one part.
MIN_PART_BYTES = 5 * 1024 * 1024
# How much of an object is read from S3 at a time.
CHUNK_BYTES = 1024 * 1024


class PartSink(Protocol):
    """Where full parts go: a multipart upload."""

    def upload_part(self, number: int, data: bytes) -> None:
        """Store part `number` (1-based)."""

    def complete(self) -> None:
        """Assemble the parts stored so far into the object."""

    def abort(self) -> None:
        """Drop the parts stored so far."""


class PartWriter:
    """A write-only, forward-only file that hands every full part (and the tail, on close) to a sink."""

    def __init__(self, sink: PartSink, part_size: int = MIN_PART_BYTES) -> None:
        if part_size < MIN_PART_BYTES:
            raise ValueError(f"S3 parts (but the last) are at least {MIN_PART_BYTES} bytes")
        self._sink = sink
        self._part_size = part_size
        self._buffer = bytearray()
        self._written = 0
        self._parts = 0
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Take bytes; every time a part's worth is held, send it (after abort: discarded, nothing is sent)."""
        if self.closed:
            return len(data)
        view = memoryview(data)
        while view:
            room = self._part_size - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(self._buffer) == self._part_size:
                self._send()
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        """Bytes written so far (zipfile records each entry's offset from this)."""
        return self._written

    def seekable(self) -> bool:
        """Never: what was sent is gone."""
        return False

    def flush(self) -> None:
        """Nothing to do: parts leave when they are full (a short part may only be the last)."""

    def close(self) -> None:
        """Send the tail as the last part and complete the upload."""
        if self.closed:
            return
        if self._buffer or self._parts == 0:
            self._send()
        self._sink.complete()
        self.closed = True

    def abort(self) -> None:
        """Drop everything sent."""
        self._buffer.clear()
        self.closed = True
        self._sink.abort()

    @property
    def buffered(self) -> int:
        """Bytes held, not yet sent."""
        return len(self._buffer)

    def _send(self) -> None:
        self._parts += 1
        self._sink.upload_part(self._parts, bytes(self._buffer))
        self._buffer.clear()


class ZipArchive:
    """The export's Archive: a zip streamed through a PartWriter."""

    def __init__(self, writer: PartWriter) -> None:
        self._writer = writer
        # zipfile asks the stream for tell() and then finds it cannot seek: entries get data descriptors.
        self._zip = zipfile.ZipFile(writer, mode="w", allowZip64=True)

    def add_file(self, name: str, chunks: Iterable[bytes], size: int) -> None:
        """Stored, not deflated: photos and videos are compressed already."""
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_STORED
        info.file_size = size  # only tells zipfile whether the entry needs ZIP64 headers
        with self._zip.open(info, mode="w", force_zip64=size >= zipfile.ZIP64_LIMIT) as entry:
            for chunk in chunks:
                entry.write(chunk)

    def add_json(self, name: str, document: Any) -> None:
        """Deflated JSON."""
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with self._zip.open(info, mode="w") as entry:
            entry.write(json_bytes(document))

    def close(self) -> int:
        """Write the central directory, send the last part, complete the upload; the zip's size in bytes."""
        self._zip.close()
        self._writer.close()
        return self._writer.tell()

    def abort(self) -> None:
        """Abandon the archive: the upload is aborted, nothing appears at the key (a volume written before at the
        same key, by an earlier delivery of the step, stays until the new one replaces it)."""
        self._writer.abort()
        with contextlib.suppress(Exception):  # an entry left open mid-write; what it writes now is discarded
            self._zip.close()


class S3MultipartSink:
    """PartSink on one S3 multipart upload."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self._s3 = client
        self._bucket = bucket
        self._key = key
        self._upload_id = str(
            client.create_multipart_upload(Bucket=bucket, Key=key, ContentType="application/zip")["UploadId"]
        )
        self._etags: list[tuple[int, str]] = []

    def upload_part(self, number: int, data: bytes) -> None:
        """UploadPart."""
        response = self._s3.upload_part(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=data
        )
        self._etags.append((number, str(response["ETag"])))

    def complete(self) -> None:
        """CompleteMultipartUpload."""
        parts = [{"PartNumber": n, "ETag": etag} for n, etag in self._etags]
        self._s3.complete_multipart_upload(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, MultipartUpload={"Parts": parts}
        )

    def abort(self) -> None:
        """AbortMultipartUpload (the bucket's lifecycle rule catches one that this misses)."""
        try:
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
        except ClientError as exc:
            if exc.response["Error"].get("Code") != "NoSuchUpload":
                raise


class S3ExportBucket:
    """ExportBucket and ExportLinks on the media bucket."""

    def __init__(self, client: Any, bucket: str, storage: S3Storage, part_size: int = MIN_PART_BYTES) -> None:
        self._s3 = client
        self._bucket = bucket
        self._storage = storage
        self._part_size = part_size
        # The versions of every original in one folder (an export reads one person's), listed once.
        self._listed: tuple[str, dict[str, list[ObjectVersion]]] = ("", {})

    def open_archive(self, key: str) -> ZipArchive:
        """A zip going up to key as it is written."""
        return ZipArchive(PartWriter(S3MultipartSink(self._s3, self._bucket, key), self._part_size))

    def versions(self, key: str) -> list[ObjectVersion]:
        """Every stored version of the key, newest first: the key's folder is listed on the first ask and the
        listing kept, so exporting a library costs one ListObjectVersions per 1,000 versions, not one per item."""
        folder = key.rpartition("/")[0] + "/"
        if self._listed[0] != folder:
            self._listed = (folder, self._storage.versions_under(folder))
        listed = self._listed[1].get(key)
        # An original written after the listing (an upload during the export) is asked for on its own.
        return listed if listed is not None else self._storage.list_versions(key)

    def chunks(self, key: str, version_id: str = "") -> Iterator[bytes]:
        """GetObject, read a chunk at a time."""
        params = {"Bucket": self._bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
        try:
            response = self._s3.get_object(**params)
        except ClientError as exc:
            raise UnreadableMedia(f"{key} cannot be read: {exc.response['Error'].get('Code')}") from exc
        body = response["Body"]
        try:
            yield from body.iter_chunks(chunk_size=CHUNK_BYTES)
        finally:
            body.close()

    def download_link(self, key: str, filename: str, ttl_seconds: int) -> str:
        """A presigned GET served as an attachment."""
        return self._storage.presign_get(key, ttl_seconds, filename=filename)
