"""PersonalObjects on the media bucket: every version, delete marker and unfinished upload under a person's prefixes."""

from __future__ import annotations

from typing import Any

from shared.domain.export import EXPORT_PREFIX
from shared.domain.media import ORIGINALS_PREFIX, RENDITIONS_PREFIX

# ListObjectVersions and DeleteObjects both take up to 1,000 keys: one page is one of each.
PAGE = 1000


def personal_prefixes(user_id: str) -> list[str]:
    """Where a person's originals, renditions and exports live (the trailing slash keeps "bob" from matching
    "bobby")."""
    return [f"{prefix}{user_id}/" for prefix in (ORIGINALS_PREFIX, RENDITIONS_PREFIX, EXPORT_PREFIX)]


class S3PersonalObjects:
    """Deletes a page at a time; a page deleted is gone, so the next page starts from the prefix again."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    def erase_page(self, user_id: str) -> tuple[int, bool]:
        """One page of versions and delete markers, else the unfinished multipart uploads; True once none is left."""
        for prefix in personal_prefixes(user_id):
            listed = self._s3.list_object_versions(Bucket=self._bucket, Prefix=prefix, MaxKeys=PAGE)
            found = [
                {"Key": entry["Key"], "VersionId": entry["VersionId"]}
                for entry in listed.get("Versions", []) + listed.get("DeleteMarkers", [])
            ][:PAGE]
            if found:
                response = self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": found, "Quiet": True})
                if response.get("Errors"):
                    first = response["Errors"][0]
                    raise RuntimeError(f"S3 refused to delete a version: {first.get('Code')}")
                return len(found), False
        aborted = 0
        for prefix in personal_prefixes(user_id):
            uploads = self._s3.list_multipart_uploads(Bucket=self._bucket, Prefix=prefix).get("Uploads", [])
            for upload in uploads:
                self._s3.abort_multipart_upload(Bucket=self._bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                aborted += 1
        return aborted, True
