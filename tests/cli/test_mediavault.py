"""`mediavault` end to end: login, folder upload, duplicates, a killed multipart upload, downloads, errors."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path
from typing import Any

from tests.cli.conftest import MIB, Run, as_json, login, one_error_line
from tests.conftest import free_port
from tests.support.images import jpeg_bytes, photo_bytes, png_bytes


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def by_name(outcomes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {Path(o["path"]).name: o for o in outcomes}


def test_login_stores_private_tokens_and_logout_forgets_them(run: Run, config_dir: Path) -> None:
    # GIVEN a fresh config dir, WHEN alice logs in
    login(run, "alice")
    # THEN her tokens sit in a file only she can read, and the API accepts them
    token_file = config_dir / "profiles" / "default.json"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert json.loads(token_file.read_text())["refresh_token"]
    assert run("ls", "--json").returncode == 0
    # AND a token that has expired locally is refreshed without asking her again
    stored = json.loads(token_file.read_text())
    old_access = stored["access_token"]
    token_file.write_text(json.dumps({**stored, "access_expires_at": 0}))
    assert run("ls").returncode == 0
    assert json.loads(token_file.read_text())["access_token"] != old_access
    # AND another profile is another vault login
    assert "not logged in" in one_error_line(run("--profile", "work", "ls").stderr)
    # WHEN she logs out, THEN commands say so in one line
    assert run("logout").returncode == 0
    assert "access_token" not in json.loads(token_file.read_text())
    result = run("ls")
    assert result.returncode != 0
    assert "mediavault login" in one_error_line(result.stderr)


def test_wrong_password_bad_token_and_unreachable_api_are_one_clear_line(run: Run) -> None:
    wrong = run("login", "--username", "alice", "--password", "nope")
    assert wrong.returncode != 0
    assert "invalid_grant" in one_error_line(wrong.stderr)

    bad_token = run("ls", env={"MEDIAVAULT_TOKEN": "not-a-token"})
    assert bad_token.returncode != 0
    assert "401" in one_error_line(bad_token.stderr)

    unreachable = run("ls", env={"MEDIAVAULT_TOKEN": "x", "MEDIAVAULT_API": f"http://127.0.0.1:{free_port()}"})
    assert unreachable.returncode != 0
    assert "cannot reach the API" in one_error_line(unreachable.stderr)


def test_folder_upload_reports_each_outcome_then_skips_duplicates_and_downloads_match(run: Run, tmp_path: Path) -> None:
    # GIVEN a folder of photos (one of them twice), a fake photo, a text file and a temp file to exclude
    folder = tmp_path / "camera"
    (folder / "trip").mkdir(parents=True)
    (folder / "a.jpg").write_bytes(jpeg_bytes(640, 480))
    (folder / "trip" / "a-copy.jpg").write_bytes(jpeg_bytes(640, 480))
    (folder / "trip" / "b.jpg").write_bytes(jpeg_bytes(800, 600, quality=70))
    (folder / "trip" / "c.png").write_bytes(png_bytes())
    (folder / "fake.jpg").write_bytes(b"this is not a JPEG at all" * 40)
    (folder / "notes.txt").write_text("not media")
    (folder / "scratch.tmp").write_bytes(jpeg_bytes(64, 64))
    login(run, "bob")

    # WHEN bob uploads it
    first = run("upload", str(folder), "--exclude", "*.tmp", "--jobs", "3", "--json")

    # THEN photos are ready, the fake is rejected with the reason, the text file refused by the API; exit non-zero
    assert first.returncode == 1, first.stderr
    outcomes = by_name(as_json(first))
    assert set(outcomes) == {"a.jpg", "a-copy.jpg", "b.jpg", "c.png", "fake.jpg", "notes.txt"}
    assert {outcomes[n]["result"] for n in ("b.jpg", "c.png")} == {"ready"}
    # the same bytes twice in one run are sent once
    assert sorted(outcomes[n]["result"] for n in ("a.jpg", "a-copy.jpg")) == ["duplicate", "ready"]
    assert outcomes["a.jpg"]["media_id"] == outcomes["a-copy.jpg"]["media_id"]
    assert outcomes["fake.jpg"]["result"] == "rejected" and outcomes["fake.jpg"]["detail"]
    assert outcomes["notes.txt"]["result"] == "error" and "415" in outcomes["notes.txt"]["detail"]
    assert "2 of 6 files failed" in one_error_line(first.stderr)

    # WHEN he runs it again without the failures, THEN every file is skipped as a duplicate, exit 0
    again = run("upload", str(folder), "--exclude", "*.tmp", "--exclude", "fake.jpg", "--exclude", "*.txt", "--json")
    assert again.returncode == 0, again.stderr
    assert [o["result"] for o in as_json(again)] == ["duplicate"] * 4
    assert {o["media_id"] for o in as_json(again)} == {outcomes[n]["media_id"] for n in ("a.jpg", "b.jpg", "c.png")}

    # AND the table shows the same thing to a person
    table = run("upload", str(folder / "a.jpg"))
    assert table.returncode == 0 and "duplicate" in table.stdout and "a.jpg" in table.stdout

    # WHEN he downloads everything, THEN every ready item comes back byte for byte
    backup = tmp_path / "backup"
    fetched = run("download", "--all", str(backup), "--json")
    assert fetched.returncode == 0, fetched.stderr
    assert {r["result"] for r in as_json(fetched)} == {"downloaded"}
    originals = {sha256(p) for p in (folder / "a.jpg", folder / "trip" / "b.jpg", folder / "trip" / "c.png")}
    assert {sha256(p) for p in backup.iterdir()} == originals
    assert sorted(p.name for p in backup.iterdir()) == ["a.jpg", "b.jpg", "c.png"]
    # AND a second run finds them already present
    assert {r["result"] for r in as_json(run("download", "--all", str(backup), "--json"))} == {"present"}


def test_listing_info_trash_and_restore(run: Run, tmp_path: Path) -> None:
    photo = tmp_path / "gina.jpg"
    photo.write_bytes(jpeg_bytes(320, 240))
    login(run, "gina")
    media_id = as_json(run("upload", str(photo), "--json"))[0]["media_id"]

    listed = as_json(run("ls", "--status", "ready", "--json"))
    assert [i["media_id"] for i in listed] == [media_id]
    assert as_json(run("info", media_id, "--json"))["width"] == 320
    assert media_id in run("ls").stdout

    assert run("rm", media_id).returncode == 0
    assert as_json(run("ls", "--json")) == []
    assert [i["media_id"] for i in as_json(run("trash", "ls", "--json"))] == [media_id]
    assert run("restore", media_id).returncode == 0
    assert [i["media_id"] for i in as_json(run("ls", "--json"))] == [media_id]

    assert run("rm", media_id).returncode == 0
    assert run("trash", "purge", "--yes", media_id).returncode == 0
    assert as_json(run("trash", "ls", "--json")) == []
    assert as_json(run("ls", "--json")) == []

    missing = run("info", "0" * 26)
    assert missing.returncode != 0
    assert "404" in one_error_line(missing.stderr)


def test_a_killed_multipart_upload_resumes_to_ready(run: Run, tmp_path: Path, config_dir: Path) -> None:
    big = tmp_path / "big.jpg"
    big.write_bytes(photo_bytes(4200, 3200, seed=5))
    assert big.stat().st_size > 5 * MIB, "at least two parts of 5 MiB"
    login(run, "pat")

    # GIVEN an upload that dies (as if killed) once its first part is stored
    killed = run("upload", str(big), env={"MEDIAVAULT_TEST_EXIT_AFTER_PARTS": "1"})
    assert killed.returncode == 137, killed.stderr
    states = list((config_dir / "uploads" / "default").glob("*.json"))
    assert len(states) == 1
    state = json.loads(states[0].read_text())
    assert list(state["etags"]) == ["1"]

    # WHEN it is run again, THEN it sends only what S3 lacks, completes and the item is processed
    resumed = run("upload", str(big), "--json")
    assert resumed.returncode == 0, resumed.stderr
    [outcome] = as_json(resumed)
    assert (outcome["result"], outcome["media_id"]) == ("ready", state["media_id"])
    assert not list((config_dir / "uploads" / "default").glob("*.json"))
    assert [i["media_id"] for i in as_json(run("ls", "--json"))] == [state["media_id"]]

    # AND the download is the same bytes
    fetched = as_json(run("download", state["media_id"], "--out", str(tmp_path / "back"), "--json"))
    assert fetched[0]["sha256"] == sha256(big)
    assert sha256(tmp_path / "back" / "big.jpg") == sha256(big)
