"""The CI's dependency audit (.ci/audit.py): what fails the build, and what it says when it cannot tell."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

AUDIT = Path(__file__).resolve().parents[2] / ".ci" / "audit.py"


@pytest.fixture
def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_audit", AUDIT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_only_vulnerabilities_with_a_fixed_release_fail_the_build(audit: ModuleType) -> None:
    report = {
        "dependencies": [
            {"name": "requests", "version": "2.25.0", "vulns": [{"id": "GHSA-1", "fix_versions": ["2.31.0"]}]},
            {"name": "pillow", "version": "12.0.0", "vulns": [{"id": "PYSEC-2", "fix_versions": []}]},
            {"name": "boto3", "version": "1.40.0", "vulns": []},
            {"name": "mediavault", "skip_reason": "editable"},
        ]
    }
    assert audit.fixable(report) == ["requests 2.25.0: GHSA-1 (fixed in 2.31.0)"]


def test_no_advisory_service_is_no_verdict_and_fails_only_when_required(
    audit: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(audit, "advisories_reachable", lambda: False)
    monkeypatch.delenv("AUDIT_REQUIRED", raising=False)
    assert audit.main() == 0
    assert "no verdict" in capsys.readouterr().out
    monkeypatch.setenv("AUDIT_REQUIRED", "1")
    assert audit.main() == 1


def test_a_fixable_finding_fails_and_is_named(
    audit: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Done:
        stdout = json.dumps(
            {"dependencies": [{"name": "urllib3", "version": "1.0", "vulns": [{"id": "X-1", "fix_versions": ["2.0"]}]}]}
        )
        stderr = ""

    monkeypatch.setattr(audit, "advisories_reachable", lambda: True)
    monkeypatch.setattr(audit.subprocess, "run", lambda *args, **kwargs: Done())
    assert audit.main() == 1
    assert "urllib3 1.0: X-1 (fixed in 2.0)" in capsys.readouterr().out
