"""The media bucket on S3: pinned presigned POSTs and PUTs, short-lived GETs, bounded reads."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from shared.domain.errors import Conflict, RejectedMedia, UnreadableMedia
from shared.domain.media import expires_at
from shared.domain.ports import (
    DownloadedObject,
    ObjectVersion,
    PresignedPost,
    PresignedPut,
    RenditionFile,
    UploadedPart,
)
from shared.domain.sniff import SNIFF_BYTES


def content_disposition(filename: str) -> str:
    """An attachment header that survives any filename (RFC 6266 with an ASCII fallback)."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename) or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


class S3Storage:
    """ObjectStorage on one S3 bucket.

    With the client's credentials, plain GET URLs (renditions: 2-4 per item shown, 100+ per page) are signed
    straight by botocore's SigV4 query signer: the same URL as generate_presigned_url, without its per-call endpoint
    resolution, parameter validation and event hooks (60 instead of 150 us a URL here).
    """

    def __init__(self, client: Any, bucket: str, credentials: Any = None) -> None:
        self._s3 = client
        self._bucket = bucket
        self._credentials = credentials
        self._object_url = f"{client.meta.endpoint_url}/{bucket}/"
        self._region = str(client.meta.region_name)
        if credentials is not None and not self._signs_like_botocore():
            # Not the path-style layout signed here (a virtual-host or access-point client): botocore signs all.
            self._credentials = None

    def presign_post(self, key: str, content_type: str, max_size: int, ttl_seconds: int) -> PresignedPost:
        """A POST form S3 accepts only for this key, this Content-Type and at most max_size bytes."""
        post = self._s3.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", 1, max_size],
            ],
            ExpiresIn=ttl_seconds,
        )
        return PresignedPost(
            url=post["url"],
            fields={k: str(v) for k, v in post["fields"].items()},
            expires_at=expires_at(ttl_seconds),
        )

    def presign_put(self, key: str, content_type: str, size: int, sha256: str, ttl_seconds: int) -> PresignedPut:
        """A PUT URL whose signature covers Content-Type, Content-Length and, with a declared SHA-256,
        x-amz-checksum-sha256: S3 refuses another type or size (403) and bytes of another checksum (400 BadDigest),
        so what lands is what was declared, before processing ever reads it."""
        params: dict[str, Any] = {
            "Bucket": self._bucket,
            "Key": key,
            "ContentType": content_type,
            "ContentLength": size,
        }
        headers = {"Content-Type": content_type}
        if sha256:
            checksum = base64.b64encode(bytes.fromhex(sha256)).decode("ascii")
            params["ChecksumSHA256"] = checksum
            headers["x-amz-checksum-sha256"] = checksum
        url: str = self._s3.generate_presigned_url("put_object", Params=params, ExpiresIn=ttl_seconds)
        return PresignedPut(url=url, headers=headers, expires_at=expires_at(ttl_seconds))

    def presign_get(
        self, key: str, ttl_seconds: int, filename: str | None = None, version_id: str | None = None
    ) -> str:
        """A GET URL valid for ttl_seconds; with filename, served as a download; with version_id, that version
        only, whatever was written to the key since."""
        if self._credentials is not None and not filename and not version_id:
            return self._signed_get(key, ttl_seconds)
        return self._botocore_get(key, ttl_seconds, filename, version_id)

    def _botocore_get(
        self, key: str, ttl_seconds: int, filename: str | None = None, version_id: str | None = None
    ) -> str:
        params: dict[str, str] = {"Bucket": self._bucket, "Key": key}
        if version_id:
            params["VersionId"] = version_id
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        url: str = self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl_seconds)
        return url

    def _signs_like_botocore(self) -> bool:
        return self._signed_get("probe", 60).split("?")[0] == self._botocore_get("probe", 60).split("?")[0]

    def _signed_get(self, key: str, ttl_seconds: int) -> str:
        request = AWSRequest(method="GET", url=self._object_url + quote(key, safe="/~"))
        credentials = self._credentials.get_frozen_credentials()  # refreshed when they are about to expire
        S3SigV4QueryAuth(credentials, "s3", self._region, expires=ttl_seconds).add_auth(request)
        return str(request.prepare().url)

    def download(self, key: str, version_id: str, path: str, max_bytes: int) -> DownloadedObject:
        """Stream one version to local disk in chunks (bounded memory), hashing and counting as it goes."""
        params = {"Bucket": self._bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
        try:
            response = self._s3.get_object(**params)
        except ClientError as exc:
            raise UnreadableMedia(f"object cannot be read: {exc.response['Error'].get('Code')}") from exc
        declared = int(response["ContentLength"])
        if declared > max_bytes:
            response["Body"].close()
            raise RejectedMedia(f"object is {declared} bytes, more than the {max_bytes} declared")
        digest, size, head = hashlib.sha256(), 0, b""
        with open(path, "wb") as out:
            for chunk in response["Body"].iter_chunks(chunk_size=1024 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise RejectedMedia(f"object is larger than the {max_bytes} bytes declared")
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                digest.update(chunk)
                out.write(chunk)
        return DownloadedObject(
            path=path,
            size=size,
            sha256=digest.hexdigest(),
            head=head,
            version_id=str(response.get("VersionId") or version_id),
        )

    def current_version(self, key: str) -> str:
        """The version id of the key's current object ("" when unversioned or missing)."""
        try:
            response = self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError:
            return ""
        return str(response.get("VersionId") or "")

    def store_rendition(self, key: str, rendition: RenditionFile) -> None:
        """Store a derivative; files go up in parts (boto3's managed transfer), bytes in one PUT."""
        if rendition.path:
            self._s3.upload_file(rendition.path, self._bucket, key, ExtraArgs={"ContentType": rendition.content_type})
        else:
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=rendition.data, ContentType=rendition.content_type)

    def read_small(self, key: str, max_bytes: int = 20 * 1024 * 1024) -> bytes:
        """A small object's bytes (renditions); UnreadableMedia when missing or over max_bytes."""
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            raise UnreadableMedia(f"object cannot be read: {exc.response['Error'].get('Code')}") from exc
        if int(response["ContentLength"]) > max_bytes:
            response["Body"].close()
            raise UnreadableMedia(f"object is larger than {max_bytes} bytes")
        data: bytes = response["Body"].read()
        return data

    def _versions(self, prefix: str) -> Iterator[tuple[str, str]]:
        paginator = self._s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                yield entry["Key"], entry["VersionId"]

    def purge(self, exact_keys: list[str], prefixes: list[str]) -> int:
        """Delete every version and delete marker of the keys and of everything under the prefixes."""
        targets = [(k, v) for key in exact_keys for k, v in self._versions(key) if k == key]
        targets += [pair for prefix in prefixes for pair in self._versions(prefix)]
        for start in range(0, len(targets), 1000):  # DeleteObjects takes at most 1000 keys
            batch = [{"Key": k, "VersionId": v} for k, v in targets[start : start + 1000]]
            response = self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": batch, "Quiet": True})
            if response.get("Errors"):
                first = response["Errors"][0]
                raise RuntimeError(f"S3 refused to delete {first.get('Key')}: {first.get('Code')}")
        return len(targets)

    def delete_version(self, key: str, version_id: str) -> None:
        """Delete one version of an object; S3 answers success when it is already gone."""
        self._s3.delete_object(Bucket=self._bucket, Key=key, VersionId=version_id)

    def start_multipart(self, key: str, content_type: str) -> str:
        """Begin a multipart upload (Content-Type is fixed here, not by the client)."""
        response = self._s3.create_multipart_upload(Bucket=self._bucket, Key=key, ContentType=content_type)
        return str(response["UploadId"])

    def presign_part(self, key: str, upload_id: str, part_number: int, size: int, ttl_seconds: int) -> str:
        """A PUT URL for one part, bound to this upload, part number and size (Content-Length is a signed
        header, so S3 refuses a body of any other size)."""
        url: str = self._s3.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "UploadId": upload_id,
                "PartNumber": part_number,
                "ContentLength": size,
            },
            ExpiresIn=ttl_seconds,
        )
        return url

    def list_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        """Every part S3 holds for the upload."""
        parts: list[UploadedPart] = []
        paginator = self._s3.get_paginator("list_parts")
        try:
            for page in paginator.paginate(Bucket=self._bucket, Key=key, UploadId=upload_id):
                parts += [
                    UploadedPart(part_number=int(p["PartNumber"]), etag=str(p["ETag"]), size=int(p["Size"]))
                    for p in page.get("Parts", [])
                ]
        except ClientError as exc:
            if exc.response["Error"].get("Code") == "NoSuchUpload":
                raise Conflict("the multipart upload no longer exists (completed, aborted or expired)") from exc
            raise
        return sorted(parts, key=lambda p: p.part_number)

    def complete_multipart(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        """Assemble the object."""
        self._s3.complete_multipart_upload(
            Bucket=self._bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]},
        )

    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop an unfinished upload; already gone is fine."""
        try:
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if exc.response["Error"].get("Code") != "NoSuchUpload":
                raise

    def list_versions(self, key: str) -> list[ObjectVersion]:
        """Every stored version of exactly this key, newest first."""
        return self.versions_under(key).get(key, [])

    def versions_under(self, prefix: str) -> dict[str, list[ObjectVersion]]:
        """Every stored version of every key under the prefix, by key, each newest first (one listing: 1,000
        versions a call, where one call per key costs a round trip each)."""
        by_key: dict[str, list[ObjectVersion]] = {}
        paginator = self._s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            for v in page.get("Versions", []):
                by_key.setdefault(str(v["Key"]), []).append(
                    ObjectVersion(
                        version_id=str(v["VersionId"]),
                        size=int(v["Size"]),
                        last_modified=v["LastModified"].isoformat(),
                        is_current=bool(v["IsLatest"]),
                    )
                )
        # S3 lists a key's versions newest first; the stable sort keeps that order within one second.
        return {key: sorted(found, key=lambda v: v.last_modified, reverse=True) for key, found in by_key.items()}

    def copy_version_to_current(self, key: str, version_id: str) -> None:
        """Copy an older version onto the key: S3 keeps history, and the copy fires ObjectCreated."""
        self._s3.copy_object(
            Bucket=self._bucket, Key=key, CopySource={"Bucket": self._bucket, "Key": key, "VersionId": version_id}
        )
