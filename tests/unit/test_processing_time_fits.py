"""Processing budgets fit the processor's timeout, so every attempt has time to write its outcome."""

from __future__ import annotations

import json

import pytest

from infra.local.provision import load_template
from shared.config import Settings
from shared.media.render import VIDEO_OVERHEAD_S
from tests.conftest import ROOT

CHALICE_CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
DEPLOYED_STAGES = [
    name for name, stage in CHALICE_CONFIG["stages"].items() if "processor" in stage.get("lambda_functions", {})
]


def processor_timeout(stage: str) -> int:
    return int(CHALICE_CONFIG["stages"][stage]["lambda_functions"]["processor"]["lambda_timeout"])


def test_every_deployed_stage_configures_the_processor() -> None:
    assert DEPLOYED_STAGES == ["dev", "prod"]


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_the_longest_budget_plus_the_outcome_margin_fits_the_processor_timeout(stage: str) -> None:
    settings = Settings.from_env({})
    margin = settings.processing_outcome_margin_seconds
    assert margin > 0
    longest = max(settings.image_time_budget_seconds, settings.video_time_budget_seconds + VIDEO_OVERHEAD_S)
    assert longest + margin <= processor_timeout(stage)


@pytest.mark.parametrize("stage", DEPLOYED_STAGES)
def test_a_live_attempt_is_never_taken_over_and_sqs_waits_for_it(stage: str) -> None:
    settings = Settings.from_env({})
    visibility = int(load_template()["Resources"]["ProcessingQueue"]["Properties"]["VisibilityTimeout"])
    # The lease outlives any invocation (no takeover of a live attempt); SQS hides a message at least as long.
    assert processor_timeout(stage) < settings.processing_lease_seconds <= visibility
