"""Rendition URLs signed without botocore's request pipeline are exactly the URLs botocore would make."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from botocore.config import Config

from shared.adapters.storage import S3Storage

KEYS = ["renditions/user-alice/0f8f/preview.jpg", "renditions/üser @+=&%/x y~!'()*.webp"]


def _client(session: boto3.session.Session, endpoint: str | None, style: str = "path") -> object:
    return session.client(
        "s3", endpoint_url=endpoint, config=Config(signature_version="s3v4", s3={"addressing_style": style})
    )


def _same_second_pair(storage: S3Storage, key: str) -> tuple[str, str]:
    """(our URL, botocore's) signed within the same second, so both carry the same X-Amz-Date."""
    for _ in range(5):
        ours = storage.presign_get(key, 300)
        theirs = storage._botocore_get(key, 300)
        if parse_qs(urlparse(ours).query)["X-Amz-Date"] == parse_qs(urlparse(theirs).query)["X-Amz-Date"]:
            return ours, theirs
    raise AssertionError("never signed within one second")


@pytest.mark.parametrize("endpoint", [None, "http://127.0.0.1:4566"])
@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
@pytest.mark.parametrize("key", KEYS)
def test_a_rendition_url_is_the_one_botocore_signs(endpoint: str | None, region: str, key: str) -> None:
    session = boto3.session.Session(region_name=region)
    storage = S3Storage(_client(session, endpoint), "media-bucket", session.get_credentials())
    ours, theirs = _same_second_pair(storage, key)
    assert ours == theirs
    assert "X-Amz-Signature=" in ours


def test_a_client_addressing_buckets_by_host_is_left_to_botocore() -> None:
    session = boto3.session.Session(region_name="us-east-1")
    storage = S3Storage(_client(session, None, style="virtual"), "media-bucket", session.get_credentials())
    assert urlparse(storage.presign_get(KEYS[0], 300)).netloc == "media-bucket.s3.amazonaws.com"


def test_a_download_keeps_its_version_and_disposition() -> None:
    session = boto3.session.Session(region_name="us-east-1")
    storage = S3Storage(_client(session, None), "media-bucket", session.get_credentials())
    query = parse_qs(urlparse(storage.presign_get("originals/u/m", 300, filename="a.jpg", version_id="v1")).query)
    assert query["versionId"] == ["v1"]
    assert query["response-content-disposition"][0].startswith("attachment;")
