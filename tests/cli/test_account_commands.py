"""`mediavault export` and `mediavault account delete`, as a subprocess against the local stack.

Each test has a realm user of its own (made for it), so the erasure leaves the seed users the other tests share.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from infra.local.stack import DevStack
from tests.cli.conftest import Run, as_json, login, one_error_line, upload_one
from tests.support.images import jpeg_bytes
from tests.support.realm import create_realm_user


def test_export_downloads_every_volume_of_the_archive(run: Run, stack: DevStack, tmp_path: Path) -> None:
    # GIVEN cleo with one photo
    create_realm_user(stack.issuer, "cleo")
    login(run, "cleo")
    photo = tmp_path / "lighthouse.jpg"
    photo.write_bytes(jpeg_bytes(410, 300))
    media_id = upload_one(run, photo)

    # WHEN she starts an export without waiting THEN she gets its job id at once
    started = run("export", "--no-wait", "--json")
    assert started.returncode == 0, started.stderr
    job_id = as_json(started)["job_id"]
    assert as_json(started)["status"] in ("queued", "running", "done")

    # WHEN she follows it THEN every volume is downloaded, of the size the vault announced, holding her photo
    target = tmp_path / "export"
    followed = run("export", "--job", job_id, "--dir", str(target), "--json", timeout=240)
    assert followed.returncode == 0, followed.stderr
    report = as_json(followed)
    assert (report["status"], report["items_done"], report["items_total"]) == ("done", 1, 1)
    files = [Path(entry["path"]) for entry in report["files"]]
    assert files and all(path.parent == target and path.stat().st_size == entry["size"]
                         for path, entry in zip(files, report["files"], strict=True))  # fmt: skip
    assert not list(target.glob("*.part"))
    names: dict[str, bytes] = {}
    for path in files:
        with zipfile.ZipFile(path) as archive:
            assert archive.testzip() is None
            names |= {name: archive.read(name) for name in archive.namelist()}
    assert names[f"media/{media_id}/v1-lighthouse.jpg"] == photo.read_bytes()
    assert "export.json" in names

    # AND a plain `export` starts, waits for and downloads a new one, showing what it saved
    again = run("export", "--dir", str(tmp_path / "again"), timeout=240)
    assert again.returncode == 0, again.stderr
    [saved] = list((tmp_path / "again").glob("media-vault-export-*.zip"))
    assert "1 items in 1 volume(s)" in again.stdout and saved.stat().st_size > 0


def test_account_delete_refuses_without_yes_and_erases_with_it(run: Run, stack: DevStack, tmp_path: Path) -> None:
    # GIVEN dora with one photo
    create_realm_user(stack.issuer, "dora")
    login(run, "dora")
    photo = tmp_path / "door.jpg"
    photo.write_bytes(jpeg_bytes(300, 200))
    media_id = upload_one(run, photo)

    # WHEN she asks to delete her account without --yes THEN one line says what it would do and nothing happens
    refused = run("account", "delete")
    assert refused.returncode != 0
    line = one_error_line(refused.stderr)
    assert "--yes" in line and "dora" in line and "for good" in line
    assert [item["media_id"] for item in as_json(run("ls", "--json"))] == [media_id]

    # WHEN she confirms THEN the account is deleted and this profile logged out
    deleted = run("account", "delete", "--yes", "--json")
    assert deleted.returncode == 0, deleted.stderr
    assert as_json(deleted)["kind"] == "erase" and as_json(deleted)["job_id"]
    after = run("ls")
    assert after.returncode != 0 and "not logged in" in one_error_line(after.stderr)

    # AND signing in again gets no account back: the vault refuses the erased account
    relogin = run("login", "--username", "dora", "--password", "dora")
    assert relogin.returncode != 0
    assert "403" in one_error_line(relogin.stderr) and "erased" in relogin.stderr
