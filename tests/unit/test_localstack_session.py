"""The local stack's boto3 clients for LocalStack come from localstack_client, pointed at the port in use."""

from __future__ import annotations

import pytest

from infra.local.localstack import aws_session


def test_every_client_of_the_session_goes_to_the_localstack_port_in_use() -> None:
    session = aws_session("127.0.0.1:45123")
    for service in ("s3", "sqs", "sts"):
        client = session.client(service)
        assert client.meta.endpoint_url == "http://127.0.0.1:45123"
        assert client.meta.region_name == "us-east-1"
        # The credentials every process of the local stack uses: LocalStack files everything under one account.
        assert client._request_signer._credentials.access_key == "test"


def test_an_aws_endpoint_url_naming_the_same_localstack_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:45123")
    assert aws_session("127.0.0.1:45123").client("s3").meta.endpoint_url == "http://127.0.0.1:45123"


def test_an_aws_endpoint_url_naming_another_emulator_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """localstack_client would follow it instead of the port it was given: moto's S3 would get the uploads."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4567")
    with pytest.raises(RuntimeError, match=r"127\.0\.0\.1:4567"):
        aws_session("127.0.0.1:45123")
