"""What the README says about the licences the functions ship, checked against the installed wheels.

The README answers the NudeNet licence question and names the copyleft binaries the layers carry; these tests
read the same wheels (runtime requirements, every layer, and what they pull in) so that a new dependency or a
change of licence fails here instead of leaving the README wrong.
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
REQUIREMENT_FILES = [ROOT / "requirements.txt", *sorted((ROOT / "layers").glob("*/requirements.txt"))]
# Declared licences (License-Expression, License or a classifier) that ask nothing of a deployer.
PERMISSIVE = re.compile(
    r"\b(MIT|MIT-0|MIT-CMU|BSD|0BSD|BSD-2-Clause|BSD-3-Clause|Apache|PSF|Python Software Foundation|ISC|HPND)\b"
    r"|Dual License",
    re.IGNORECASE,
)


def _pins() -> list[Requirement]:
    """Every pinned line of the runtime and layer requirements, `# no-deps:` lines included."""
    pins = []
    for path in REQUIREMENT_FILES:
        for raw in path.read_text().splitlines():
            line = raw.removeprefix("# no-deps:").strip()
            if line and not line.startswith("#"):
                pins.append(Requirement(line))
    return pins


def _shipped() -> dict[str, metadata.Distribution]:
    """The installed distributions the functions ship: the pins and their dependencies (extras followed)."""
    found: dict[str, metadata.Distribution] = {}
    no_deps = {canonicalize_name("nudenet")}  # installed without its dependencies (see layers/ml/requirements.txt)
    pending = [(req, set(req.extras)) for req in _pins()]
    while pending:
        req, extras = pending.pop()
        name = canonicalize_name(req.name)
        if name in found:
            continue
        found[name] = distribution = metadata.distribution(name)
        if name in no_deps:
            continue
        for text in distribution.requires or []:
            dependency = Requirement(text)
            environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if dependency.marker is None or any(dependency.marker.evaluate(env) for env in environments):
                pending.append((dependency, set(dependency.extras)))
    return found


def _declared(distribution: metadata.Distribution) -> str:
    meta = distribution.metadata
    classifiers = [c for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return " | ".join(filter(None, [meta.get("License-Expression"), meta.get("License"), *classifiers]))


def test_nudenet_ships_the_agpl_whatever_its_metadata_says_and_the_readme_says_so() -> None:
    nudenet = metadata.distribution("nudenet")
    assert nudenet.version == "3.4.2"
    for name in ("LICENSE", "LICENSE.md"):
        text = nudenet.read_text(name) or ""
        assert text.lstrip().startswith("GNU AFFERO GENERAL PUBLIC LICENSE"), name
        assert "Version 3, 19 November 2007" in text
    assert "NudeNet 3.4.2 is **AGPL-3.0**" in README
    # Only its model file is used: no module of ours imports NudeNet's code.
    ours = [*ROOT.glob("shared/**/*.py"), *ROOT.glob("functions/**/*.py")]
    assert not [p for p in ours if re.search(r"^\s*(import nudenet|from nudenet)", p.read_text(), re.MULTILINE)]


@pytest.mark.parametrize(("distribution", "libraries"), [("av", {"libx264", "libx265"}), ("pillow-heif", {"libx265"})])
def test_the_gpl_codecs_the_readme_names_are_the_ones_the_wheels_bundle(distribution: str, libraries: set[str]) -> None:
    bundled = {Path(str(f)).name.split("-")[0] for f in metadata.files(distribution) or [] if ".libs/" in str(f)}
    gpl = {name for name in bundled if name in {"libx264", "libx265", "libfdk", "libxvidcore", "librubberband"}}
    assert gpl == libraries
    assert all(name in README for name in libraries)


def test_everything_else_the_functions_ship_declares_a_permissive_licence() -> None:
    shipped = _shipped()
    assert {"boto3", "pydantic", "pillow", "av", "onnxruntime", "numpy"} <= set(shipped)
    copyleft_named_in_readme = {"nudenet"}
    unclear = {
        name: _declared(dist)
        for name, dist in shipped.items()
        if name not in copyleft_named_in_readme and not PERMISSIVE.search(_declared(dist))
    }
    assert not unclear, f"licences the README does not account for: {unclear}"
