"""The local stack reaches LocalStack's S3 and SQS through localstack_client; its DynamoDB stays on moto."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from infra.local.localstack import aws_session
from infra.local.provision import provision
from infra.local.stack import DevStack


def test_provisioning_puts_buckets_and_queues_on_localstack_and_tables_on_moto(
    stack: DevStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the session's LocalStack and the moto DynamoDB beside it, and no AWS_ENDPOINT_URL at all
    localstack_host = f"{stack.host}:{stack.ports.emulator}"
    moto = f"http://{stack.host}:{stack.ports.dynamodb}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto)

    # WHEN a second stack's resources are provisioned, told only where LocalStack listens
    env = provision("media-vault-ls-clients", localstack_host=localstack_host)

    # THEN the bucket and queues are LocalStack's, and the tables moto's
    aws = aws_session(localstack_host)
    aws.client("s3").head_bucket(Bucket=env["MEDIA_BUCKET"])
    sqs = aws.client("sqs")
    for queue in ("PROCESSING_QUEUE_URL", "ANALYSIS_QUEUE_URL"):
        assert sqs.get_queue_attributes(QueueUrl=env[queue], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert env["MEDIA_TABLE"] in boto3.client("dynamodb", endpoint_url=moto).list_tables()["TableNames"]


def test_the_inspecting_s3_client_is_localstacks(stack: DevStack, s3_client: Any) -> None:
    assert s3_client.meta.endpoint_url == f"http://{stack.host}:{stack.ports.emulator}"
    assert stack.env["MEDIA_BUCKET"] in [bucket["Name"] for bucket in s3_client.list_buckets()["Buckets"]]
