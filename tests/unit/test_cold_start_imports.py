"""What each function loads at import: the API's cold start skips what only the authorizer or the queues use."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

# Only the authorizer verifies tokens; only the queue functions process, analyse and use batch/idempotency.
NOT_FOR_THE_API = (
    "jose",
    "cryptography",
    "PIL",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.data_classes",
    "functions.processing",
    "shared.media",
)


def _loaded_after(statement: str) -> list[str]:
    """Modules a fresh interpreter holds after running statement."""
    probe = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def _matching(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(f"{p}.") for p in prefixes)]


def test_importing_the_app_loads_nothing_only_the_authorizer_or_the_queues_need() -> None:
    assert _matching(_loaded_after("import app"), NOT_FOR_THE_API) == []


def test_the_authorizer_loads_its_token_library_with_its_container() -> None:
    loaded = _loaded_after("from functions import authorizer; authorizer.services()")
    assert _matching(loaded, ("jose",)) != []
    assert _matching(loaded, ("functions.processing", "shared.media", "pydantic")) == []
