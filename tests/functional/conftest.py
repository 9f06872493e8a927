"""Functional tier: the Chalice app in-process behind API Gateway semantics, AWS mocked by moto."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from chalice.test import HTTPResponse, TestHTTPClient
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from functions import authorizer
from infra.local.api import Gateway, local_config
from infra.local.provision import Provisioner, load_template
from shared.adapters.identity import JwksCache, TokenVerifier
from shared.config import Settings
from tests.support.tokens import AUDIENCE, ISSUER, TokenFactory


class ApiClient(TestHTTPClient):
    """Chalice's test client, routed through the same gateway emulation as the local API."""

    def __init__(self) -> None:
        from app import app

        super().__init__(app, local_config())
        self._local_gateway = Gateway(app, self._config)

    def call(
        self, method: str, path: str, token: str | None = None, body: Any = None, raw: bytes | None = None
    ) -> HTTPResponse:
        """One request; body is sent as JSON."""
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        return self.request(method, path, headers=headers, body=payload)


def fresh_containers() -> None:
    """Every entry point but the authorizer builds a new container from the environment on its next call."""
    import app

    for entry_point in (
        app.api_services,
        app.processor_services,
        app.analyzer_services,
        app.janitor_services,
        app.notifier_services,
        app.recorder_services,
    ):
        entry_point.replace(None)


def trust_tokens_of(tokens: TokenFactory) -> None:
    """The authorizer verifies tokens against the factory's keys (the environment's issuer and audience)."""
    from functions import authorizer
    from functions.containers.authorizer import AuthorizerContainer

    verifier = TokenVerifier(ISSUER, AUDIENCE, JwksCache("unused", fetcher=lambda _url: tokens.jwks()))
    authorizer.services.replace(AuthorizerContainer(Settings.from_env(), token_verifier=verifier))


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    return TokenFactory()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tokens: TokenFactory) -> Iterator[dict[str, str]]:
    """moto with the template's resources; the app's settings point at them."""
    with mock_aws():
        environment = Provisioner(load_template(), "media-vault-test").provision()
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("OIDC_ISSUER", ISSUER)
        monkeypatch.setenv("OIDC_AUDIENCE", AUDIENCE)
        fresh_containers()
        trust_tokens_of(tokens)
        yield environment
        fresh_containers()
        authorizer.services.replace(None)


@pytest.fixture
def api(aws: dict[str, str]) -> ApiClient:
    return ApiClient()


@pytest.fixture
def s3(aws: dict[str, str]) -> Any:
    return boto3.client("s3", region_name="us-east-1")


@pytest.fixture
def sqs(aws: dict[str, str]) -> Any:
    return boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each conditional write atomically; moto's in-process backend does not lock, so
    concurrent writes are serialised here to give the threads DynamoDB's guarantee."""
    lock = threading.RLock()

    def locked(method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(*args, **kwargs)

        return call

    for name in ("put_item", "update_item", "delete_item", "get_item", "transact_write_items"):
        monkeypatch.setattr(DynamoDBBackend, name, locked(getattr(DynamoDBBackend, name)))
