"""Link grants in the shares table on moto's DynamoDB: found by token, counted, throttled and revoked at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from infra.local.provision import load_template
from shared.adapters.dynamo.grants import DynamoGrantRepository, ShareModel
from shared.domain.errors import NotFound
from shared.domain.grants import Grant, Grantee, GranteeType, LinkTerms, Permission, ResourceType
from tests.contract.conftest import CURSOR_KEY, REGION

EPOCH = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WINDOW = 600


@pytest.fixture
def grants() -> Iterator[DynamoGrantRepository]:
    props = load_template()["Resources"]["SharesTable"]["Properties"]
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="contract-link-shares",
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
            BillingMode="PAY_PER_REQUEST",
        )
        yield DynamoGrantRepository("contract-link-shares", REGION, cursor_key=CURSOR_KEY)


def a_link(share_id: str, token_hash: str, max_uses: int | None = None) -> Grant:
    return Grant(
        share_id=share_id,
        resource_type=ResourceType.MEDIA,
        resource_id="m1",
        owner_id="user-alice",
        grantee=Grantee(GranteeType.LINK, share_id, "link"),
        permissions=frozenset({Permission.VIEW}),
        granted_by="user-alice",
        created_at=EPOCH,
        link=LinkTerms(token_hash=token_hash, password_hash="scrypt$...", max_uses=max_uses),
    )


def test_a_link_reads_back_by_token_and_by_share_id_and_stays_out_of_every_index(
    grants: DynamoGrantRepository,
) -> None:
    link = a_link("s1", "h1")
    grants.create(link)
    assert grants.by_token("h1") == link
    assert grants.get("s1") == link
    assert grants.by_token("h2") is None
    assert grants.on_resource(ResourceType.MEDIA, "m1") == [link]
    assert [g for g, _ in grants.made_by("user-alice", None, "scope")] == [link]
    # the token's pointer item carries no indexed attribute
    assert [m.share_id for m in ShareModel.share_id_index.query("s1")] == ["s1"]


def test_revoking_a_link_removes_its_token_in_the_same_step(grants: DynamoGrantRepository) -> None:
    link = a_link("s1", "h1")
    grants.create(link)
    grants.delete([link])
    assert grants.by_token("h1") is None
    assert grants.get("s1") is None
    grants.delete([link])  # already gone is fine


def test_uses_are_counted_per_kind_and_stop_at_the_limit(grants: DynamoGrantRepository) -> None:
    link = a_link("s1", "h1", max_uses=2)
    grants.create(link)
    grants.count_link_use(link, download=False)
    grants.count_link_use(link, download=True)
    with pytest.raises(NotFound):
        grants.count_link_use(link, download=False)
    terms = grants.by_token("h1").link  # type: ignore[union-attr]
    assert terms is not None
    assert (terms.uses, terms.views, terms.downloads) == (2, 1, 1)
    assert terms.used_up()
    unlimited = a_link("s2", "h2")
    grants.create(unlimited)
    for _ in range(3):
        grants.count_link_use(unlimited, download=False)
    grants.delete([unlimited])
    with pytest.raises(NotFound):
        grants.count_link_use(unlimited, download=False)


def test_password_failures_count_within_a_window_and_start_over_after_it(grants: DynamoGrantRepository) -> None:
    link = a_link("s1", "h1")
    grants.create(link)
    for minute in range(3):
        grants.record_link_failure(link, EPOCH + timedelta(minutes=minute), WINDOW)
    terms = grants.by_token("h1").link  # type: ignore[union-attr]
    assert terms is not None
    assert (terms.failed_attempts, terms.failed_since) == (3, EPOCH)
    later = EPOCH + timedelta(seconds=WINDOW + 1)
    grants.record_link_failure(link, later, WINDOW)
    terms = grants.by_token("h1").link  # type: ignore[union-attr]
    assert terms is not None
    assert (terms.failed_attempts, terms.failed_since) == (1, later)
    grants.delete([link])
    grants.record_link_failure(link, later, WINDOW)  # revoked meanwhile: nothing to count, no error
