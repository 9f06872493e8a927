"""Contract tier: the in-memory fakes and the DynamoDB adapters answer the same calls the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.provision import load_template
from shared.adapters.dynamo.media import DynamoMediaRepository
from shared.adapters.dynamo.quota import DynamoQuotaLedger
from shared.adapters.dynamo.users import DynamoUserRepository, UserModel
from shared.domain.principal import Role
from shared.domain.users import User
from tests.unit.fakes import MemoryLedger, MemoryRepository

REGION = "us-east-1"
CURSOR_KEY = "contract-cursor-signing-key"


@dataclass
class Vault:
    """A media repository, the quota ledger its deletes release to, and a way to read that ledger."""

    media: Any
    ledger: Any
    reserved: Callable[[str], int]
    open_account: Callable[[str], None]


def _fake() -> Iterator[Vault]:
    ledger = MemoryLedger()
    yield Vault(
        media=MemoryRepository(ledger, cursor_key=CURSOR_KEY),
        ledger=ledger,
        reserved=lambda owner: ledger.reserved.get(owner, 0),
        open_account=lambda owner: None,
    )


def _dynamo() -> Iterator[Vault]:
    resources = load_template()["Resources"]
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        names = {}
        for logical_id in ("MediaTable", "UsersTable"):
            props = resources[logical_id]["Properties"]
            names[logical_id] = f"contract-{logical_id}"
            dynamodb.create_table(
                TableName=names[logical_id],
                AttributeDefinitions=props["AttributeDefinitions"],
                KeySchema=props["KeySchema"],
                BillingMode="PAY_PER_REQUEST",
                **(
                    {"GlobalSecondaryIndexes": props["GlobalSecondaryIndexes"]}
                    if "GlobalSecondaryIndexes" in props
                    else {}
                ),
            )
        users = DynamoUserRepository(names["UsersTable"], REGION)

        def open_account(owner: str) -> None:
            users.create(User(user_id=owner, username=owner, email="", role=Role.USER, quota_bytes=10**12))

        def reserved(owner: str) -> int:
            return int(UserModel.get(owner, consistent_read=True).reserved_bytes or 0)

        yield Vault(
            media=DynamoMediaRepository(
                names["MediaTable"], REGION, cursor_key=CURSOR_KEY, users_table=names["UsersTable"]
            ),
            ledger=DynamoQuotaLedger(names["UsersTable"], REGION),
            reserved=reserved,
            open_account=open_account,
        )


@pytest.fixture(params=["fake", "dynamo"])
def vault(request: pytest.FixtureRequest) -> Iterator[Vault]:
    """The same repository contract, once in memory and once on moto's DynamoDB with the template's tables."""
    yield from (_fake() if request.param == "fake" else _dynamo())
