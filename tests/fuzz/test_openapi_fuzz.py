"""Generated requests for every operation in the live /openapi.json, as each role: no 5xx, every answer documented.

Two passes per operation, both built by Schemathesis from the document the running API serves:
- coverage: its deterministic boundary cases (missing and extra fields, wrong types, edge numbers and strings,
  undeclared methods), valid and invalid;
- fuzzing: Hypothesis-generated requests, valid and invalid (FUZZ_EXAMPLES per mode).
Path ids are often real ones (the caller's own items, another role's item, a bystander's account), so requests
get past the lookup. Every failure is recorded rather than raised, so one run lists them all; the test fails at
the end if there is any.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from infra.local.stack import DevStack
from tests.fuzz.conftest import ROLES, FuzzLedger, RealmBearer, examples_per_operation, is_short_run

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_answer_is_documented_and_none_is_a_server_error(
    role: str, fuzz_stack: DevStack, real_ids: dict[str, dict[str, list[str]]], fuzz_ledger: FuzzLedger
) -> None:
    # GIVEN the document the running API serves, and a valid token of this role on every request
    schema = schemathesis.openapi.from_url(f"{fuzz_stack.api_url}/openapi.json", timeout=10)
    schema.config.update(base_url=fuzz_stack.api_url)
    # The budget goes to inputs, not to dropping the token: the integration tier attacks tokens.
    schema.config.generation.update(with_security_parameters=False)
    caller = Caller(role, RealmBearer(fuzz_stack.issuer, ROLES[role]), real_ids[role], fuzz_ledger)

    # WHEN every operation gets Schemathesis' boundary cases and generated requests, valid and invalid
    for methods in schema.values():
        for operation in methods.values():
            _cover(schema, operation, caller)
            for mode in MODES:
                _fuzz(operation, mode, caller)

    # THEN no answer was a 5xx or off the document
    found = fuzz_ledger.findings_for(role)
    if found:
        pytest.fail(fuzz_ledger.markdown(found), pytrace=False)


class Caller:
    """Sends a case as one role, checks the answer, and records what broke."""

    def __init__(self, role: str, bearer: RealmBearer, ids: dict[str, list[str]], ledger: FuzzLedger) -> None:
        self.role = role
        self.bearer = bearer
        self.ids = ids
        self.ledger = ledger

    def send(self, case: schemathesis.Case) -> None:
        """One request; its failures go to the ledger."""
        response = case.call(headers=self.bearer.header(), timeout=10)
        assert urlsplit(response.request.url).hostname == "127.0.0.1", response.request.url
        self.ledger.sent(self.role, response.status_code)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as failures:
            self.ledger.record(self.role, case, response, failures.exceptions)


def _cover(schema: Any, operation: Any, caller: Caller) -> None:
    cases = schema.iter_coverage_cases(operation, generation_modes=MODES, generation_config=schema.config.generation)
    role_number = sorted(ROLES).index(caller.role)
    for number, case in enumerate(cases):
        # The short run sends each boundary case once, as one of the roles in turn; the long one as every role.
        if is_short_run() and number % len(ROLES) != role_number:
            continue
        path = case.meta.components.get("path") if case.meta else None
        if path is not None and path.mode is GenerationMode.POSITIVE and number % 2 == 0:
            for name in case.path_parameters or {}:
                if caller.ids.get(name):
                    case.path_parameters[name] = caller.ids[name][number // 2 % len(caller.ids[name])]
        caller.send(case)


def _fuzz(operation: Any, mode: GenerationMode, caller: Caller) -> None:
    @settings(
        max_examples=examples_per_operation(),
        derandomize=is_short_run(),
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # failures are recorded, not raised: nothing to shrink
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def send(case: schemathesis.Case, data: st.DataObject) -> None:
        for name in list(case.path_parameters or {}):
            if caller.ids.get(name) and data.draw(st.booleans(), label=f"real {name}"):
                case.path_parameters[name] = data.draw(st.sampled_from(caller.ids[name]), label=name)
        caller.send(case)

    try:
        send()
    except Unsatisfiable:
        # Nothing in this operation's input can be made invalid (GET /health): the positive run covered it.
        assert mode is GenerationMode.NEGATIVE
