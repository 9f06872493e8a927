"""The grants table adapter on moto's DynamoDB with the template's table: the guarantees sharing relies on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice

import boto3
import pytest
from moto import mock_aws

from infra.local.provision import load_template
from shared.adapters.dynamo.grants import DynamoGrantRepository
from shared.domain.errors import Conflict, NotFound, ValidationError
from shared.domain.grants import Grant, Grantee, GranteeType, Permission, ResourceRef, ResourceType
from tests.contract.conftest import CURSOR_KEY, REGION

EPOCH = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BOB = Grantee(GranteeType.USER, "user-bob", "bob")
ACME = Grantee(GranteeType.ORG, "acme", "acme")


@pytest.fixture
def grants() -> Iterator[DynamoGrantRepository]:
    props = load_template()["Resources"]["SharesTable"]["Properties"]
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="contract-shares",
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
            BillingMode="PAY_PER_REQUEST",
        )
        yield DynamoGrantRepository("contract-shares", REGION, cursor_key=CURSOR_KEY)


def a_grant(share_id: str, media_id: str = "m1", grantee: Grantee = BOB, minutes: int = 0, **fields: object) -> Grant:
    values: dict[str, object] = {
        "resource_type": ResourceType.MEDIA,
        "resource_id": media_id,
        "owner_id": "user-alice",
        "grantee": grantee,
        "permissions": frozenset({Permission.VIEW}),
        "granted_by": "user-alice",
        "created_at": EPOCH + timedelta(minutes=minutes),
        **fields,
    }
    return Grant(share_id=share_id, **values)  # type: ignore[arg-type]


def test_a_grant_reads_back_by_key_and_by_share_id(grants: DynamoGrantRepository) -> None:
    grant = a_grant("s1", permissions=frozenset(Permission), expires_at=EPOCH + timedelta(days=1))
    grants.create(grant)
    assert grants.grants_for([ResourceRef(ResourceType.MEDIA, "m1")], [BOB, ACME]) == [grant]
    assert grants.grants_for([ResourceRef(ResourceType.MEDIA, "m2")], [BOB]) == []
    assert grants.get("s1") == grant
    assert grants.get("nope") is None


def test_one_grant_per_grantee_and_resource(grants: DynamoGrantRepository) -> None:
    grants.create(a_grant("s1"))
    with pytest.raises(Conflict):
        grants.create(a_grant("s2"))
    grants.create(a_grant("s3", grantee=ACME))
    assert {g.share_id for g in grants.on_resource(ResourceType.MEDIA, "m1")} == {"s1", "s3"}


def test_a_reshare_needs_its_parent_to_still_exist(grants: DynamoGrantRepository) -> None:
    parent = a_grant("s1", permissions=frozenset({Permission.VIEW, Permission.RESHARE}))
    grants.create(parent)
    grants.delete([parent])
    with pytest.raises(Conflict):
        grants.create(a_grant("s2", grantee=ACME, parent_share_id="s1", granted_by="user-bob"))


def test_update_and_delete_act_on_that_grant_only(grants: DynamoGrantRepository) -> None:
    old = a_grant("s1")
    grants.create(old)
    grants.delete([old])
    with pytest.raises(NotFound):
        grants.update(old)
    newer = a_grant("s2")
    grants.create(newer)
    grants.delete([old])  # a stale revoke does not take the newer grant to the same grantee
    assert grants.get("s2") == newer
    changed = a_grant("s2", permissions=frozenset({Permission.VIEW, Permission.EDIT}), expires_at=EPOCH)
    grants.update(changed)
    assert grants.get("s2") == changed


def test_received_pages_each_grantee_newest_first_with_scoped_cursors(grants: DynamoGrantRepository) -> None:
    for n in range(3):
        grants.create(a_grant(f"u{n}", media_id=f"m{n}", minutes=n))
        grants.create(a_grant(f"o{n}", media_id=f"m{n}", grantee=ACME, minutes=n))
    entries = list(grants.received([BOB, ACME], None, "scope"))
    assert [g.share_id for g, _ in entries] == ["u2", "u1", "u0", "o2", "o1", "o0"]
    # a cursor resumes after its entry, also across the boundary between grantees
    for position in range(len(entries)):
        rest = grants.received([BOB, ACME], entries[position][1], "scope")
        assert [g.share_id for g, _ in rest] == [g.share_id for g, _ in entries[position + 1 :]]
    with pytest.raises(ValidationError):
        list(islice(grants.received([BOB, ACME], entries[0][1], "another listing"), 1))
    made = [g.share_id for g, _ in grants.made_by("user-alice", None, "scope")]
    assert sorted(made) == ["o0", "o1", "o2", "u0", "u1", "u2"]
