"""The deploy template and the code agree: table keys and indexes, bucket notifications, env names."""

from __future__ import annotations

from typing import Any

import pytest

from infra.local.provision import load_template
from shared.adapters.dynamo.albums import AlbumModel
from shared.adapters.dynamo.audit import AuditModel
from shared.adapters.dynamo.grants import ShareModel
from shared.adapters.dynamo.jobs import JobModel
from shared.adapters.dynamo.limits import WindowCounterModel
from shared.adapters.dynamo.media_model import MediaModel
from shared.adapters.dynamo.notifications import NotificationModel
from shared.adapters.dynamo.users import UserModel
from shared.config import Settings
from shared.domain.media import ORIGINALS_PREFIX

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]


def _keys(schema: list[dict[str, str]]) -> dict[str, str]:
    return {k["AttributeName"]: k["KeyType"] for k in schema}


@pytest.mark.parametrize(
    ("logical_id", "model_class"),
    [
        ("MediaTable", MediaModel),
        ("UsersTable", UserModel),
        ("SharesTable", ShareModel),
        ("AlbumsTable", AlbumModel),
        ("NotificationsTable", NotificationModel),
        ("AuditTable", AuditModel),
        ("JobsTable", JobModel),
        ("LimitsTable", WindowCounterModel),
    ],
)
def test_table_keys_attributes_and_indexes_match_the_pynamodb_model(logical_id: str, model_class: Any) -> None:
    table = RESOURCES[logical_id]["Properties"]
    model = model_class._get_schema()
    assert _keys(table["KeySchema"]) == _keys(model["key_schema"])
    as_set = lambda defs: {(d["AttributeName"], d["AttributeType"]) for d in defs}  # noqa: E731
    assert as_set(table["AttributeDefinitions"]) == as_set(model["attribute_definitions"])
    template_indexes = {
        i["IndexName"]: (_keys(i["KeySchema"]), i["Projection"]) for i in table.get("GlobalSecondaryIndexes", [])
    }
    model_indexes = {
        i["index_name"]: (_keys(i["key_schema"]), i["projection"]) for i in model["global_secondary_indexes"]
    }
    assert template_indexes == model_indexes
    template_local = {
        i["IndexName"]: (_keys(i["KeySchema"]), i["Projection"]) for i in table.get("LocalSecondaryIndexes", [])
    }
    model_local = {
        i["index_name"]: (_keys(i["key_schema"]), i["projection"]) for i in model.get("local_secondary_indexes", [])
    }
    assert template_local == model_local


def test_only_originals_trigger_processing() -> None:
    notifications = RESOURCES["MediaBucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert [n["Event"] for n in notifications] == ["s3:ObjectCreated:*"]
    assert notifications[0]["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": ORIGINALS_PREFIX}]


def test_dead_letter_after_three_receives() -> None:
    assert RESOURCES["ProcessingQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 3


def test_function_environment_names_are_settings_fields() -> None:
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    fields = {name.upper() for name in Settings.__dataclass_fields__}
    assert set(variables) <= fields
