"""Dependency audit: every package installed in the project venv (runtime, layers, dev) against PyPI's advisories.

Fails when a pinned version has a known vulnerability that a released version fixes; a vulnerability with no fix
yet is listed and does not fail (there is nothing to move to). pip-audit asks PyPI's JSON API for advisories: where
that API cannot be reached (the build machines reach only a package mirror) the audit says so and, unless
AUDIT_REQUIRED=1, passes without a verdict rather than pretending to one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

PROBE = "https://pypi.org/pypi/pip/json"


def advisories_reachable(timeout: float = 10.0) -> bool:
    """True when PyPI's JSON API answers with the advisories field pip-audit reads."""
    try:
        with urllib.request.urlopen(PROBE, timeout=timeout) as response:
            return "vulnerabilities" in json.load(response)
    except (OSError, ValueError, urllib.error.URLError):
        return False


def fixable(report: dict[str, Any]) -> list[str]:
    """'name version: id (fixed in ...)' for every vulnerability that has a fixed version."""
    found = []
    for dependency in report.get("dependencies", []):
        for vulnerability in dependency.get("vulns", []):
            if vulnerability.get("fix_versions"):
                fixes = ", ".join(vulnerability["fix_versions"])
                found.append(f"{dependency['name']} {dependency['version']}: {vulnerability['id']} (fixed in {fixes})")
    return found


def main() -> int:
    if not advisories_reachable():
        print(f"dependency audit: no verdict, PyPI's advisory API ({PROBE}) is not reachable from this machine")
        return 1 if os.environ.get("AUDIT_REQUIRED") == "1" else 0
    done = subprocess.run(
        [sys.executable, "-m", "pip_audit", "--skip-editable", "--progress-spinner", "off", "--format", "json"],
        capture_output=True,
        text=True,
    )
    try:
        report = json.loads(done.stdout)
    except ValueError:
        print(done.stderr, file=sys.stderr)
        return 2
    to_fix = fixable(report)
    audited = len(report.get("dependencies", []))
    for line in to_fix:
        print(f"  vulnerable: {line}")
    print(f"dependency audit: {audited} packages, {len(to_fix)} known vulnerabilities with a fix")
    return 1 if to_fix else 0


if __name__ == "__main__":
    sys.exit(main())
