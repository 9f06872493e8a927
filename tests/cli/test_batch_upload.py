"""A folder upload declares its files in groups (POST /uploads/batch), not one request per file."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from mediavault_cli.upload import BATCH_FILES
from PIL import Image

from infra.local.stack import DevStack
from tests.cli.conftest import Run, as_json, login

FILES = 30


def unique_jpeg(width: int = 96, height: int = 64) -> bytes:
    """A small JPEG no other test uploads (random pixels)."""
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, format="JPEG", quality=90)
    return out.getvalue()


def api_requests(stack: DevStack) -> list[tuple[str, str]]:
    """(method, path template) of every request the local API logged so far."""
    assert stack.log_dir is not None
    seen = []
    for log in stack.log_dir.glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if '"message":"request"' not in line:
                continue
            try:
                entry = json.loads(line[line.index("{") :])
            except ValueError:
                continue
            if "path" in entry and "method" in entry:
                seen.append((entry["method"], entry["path"]))
    return seen


def groups_of(count: int) -> int:
    """How many batch requests the CLI sends for count new files: groups of 1, 2, 4, ... up to BATCH_FILES."""
    groups, size = 0, 1
    while count > 0:
        count -= size
        groups += 1
        size = min(BATCH_FILES, size * 2)
    return groups


def test_a_folder_of_30_photos_is_declared_in_groups_and_every_one_ends_ready(
    run: Run, stack: DevStack, tmp_path: Path
) -> None:
    folder = tmp_path / "holiday"
    folder.mkdir()
    for n in range(FILES):
        (folder / f"img{n:02d}.jpg").write_bytes(unique_jpeg())
    login(run, "alice")
    before = api_requests(stack)

    result = run("upload", str(folder), "--json")

    assert result.returncode == 0, result.stderr
    outcomes = as_json(result)
    assert len(outcomes) == FILES
    assert {o["result"] for o in outcomes} == {"ready"}
    assert len({o["media_id"] for o in outcomes}) == FILES
    during = api_requests(stack)[len(before) :]
    assert during.count(("POST", "/uploads/batch")) == groups_of(FILES) == 5
    assert ("POST", "/uploads") not in during


def test_each_small_file_goes_to_storage_in_one_put_at_its_own_key(run: Run, stack: DevStack, tmp_path: Path) -> None:
    folder = tmp_path / "puts"
    folder.mkdir()
    for n in range(3):
        (folder / f"p{n}.jpg").write_bytes(unique_jpeg())
    login(run, "alice")

    result = run("--verbose", "upload", str(folder), "--json", "--no-wait")

    assert result.returncode == 0, result.stderr
    media_ids = {o["media_id"] for o in as_json(result)}
    bucket = stack.env["MEDIA_BUCKET"]
    sent = [line for line in result.stderr.splitlines() if stack.emulator_url in line]
    # One storage request per file, each a PUT to the item's original (signed headers pin type, size, checksum).
    assert len(sent) == len(media_ids) == 3, sent
    for line in sent:
        assert " PUT " in f" {line} " and line.rstrip().endswith("-> 200"), line
    keys = [line.split(f"{stack.emulator_url}/{bucket}/", 1)[1].split()[0].split("/") for line in sent]
    assert {(prefix, media_id) for prefix, _, media_id in keys} == {("originals", m) for m in media_ids}
