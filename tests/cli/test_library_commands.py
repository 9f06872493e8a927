"""`mediavault` edit, versions, describe and usage errors, as a subprocess against the local stack."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Run, as_json, login, one_error_line, upload_one
from tests.support.images import jpeg_bytes


def test_edit_changes_what_info_and_ls_show_and_a_stale_edit_is_one_line(run: Run, tmp_path: Path) -> None:
    # GIVEN an item of alice's
    photo = tmp_path / "harbour.jpg"
    photo.write_bytes(jpeg_bytes(330, 250))
    login(run, "alice")
    media_id = upload_one(run, photo)
    before = as_json(run("info", media_id, "--json"))

    # WHEN she edits its title, description, tags, capture date and location visibility
    edited = run(
        "edit", media_id, "--title", "Harbour", "--description", "boats at dawn", "--tag", "Sea", "--tag", "boats",
        "--taken-at", "2024-07-14T06:30:00", "--hide-location", "--json",
    )  # fmt: skip

    # THEN info shows every change, and ls finds it by tag and kind
    assert edited.returncode == 0, edited.stderr
    item = as_json(run("info", media_id, "--json"))
    assert (item["title"], item["description"], item["tags"]) == ("Harbour", "boats at dawn", ["boats", "sea"])
    assert item["taken_at"].startswith("2024-07-14T06:30") and item["location_visible"] is False
    assert item["version"] > before["version"]
    assert "Harbour" in run("info", media_id).stdout
    tagged = as_json(run("ls", "--tag", "boats", "--type", "photo", "--json"))
    assert [i["media_id"] for i in tagged] == [media_id]

    # AND tags can be added and removed one by one, or cleared
    assert run("edit", media_id, "--add-tag", "dawn", "--remove-tag", "sea").returncode == 0
    assert as_json(run("info", media_id, "--json"))["tags"] == ["boats", "dawn"]
    assert run("edit", media_id, "--clear-tags").returncode == 0
    assert as_json(run("info", media_id, "--json"))["tags"] == []

    # WHEN an edit is based on a version that is no longer current, THEN one line says so, exit non-zero
    stale = run("edit", media_id, "--title", "Old news", "--version", str(before["version"]))
    assert stale.returncode != 0
    assert "conflict" in one_error_line(stale.stderr)
    assert as_json(run("info", media_id, "--json"))["title"] == "Harbour"

    # AND an edit that changes nothing, or of a missing item, is one line too
    nothing = run("edit", media_id)
    assert nothing.returncode == 2 and "nothing to change" in one_error_line(nothing.stderr)
    missing = run("edit", "0" * 32, "--title", "x")
    assert missing.returncode != 0 and "404" in one_error_line(missing.stderr)


def test_a_new_version_is_listed_and_an_older_one_restored(run: Run, tmp_path: Path) -> None:
    first, second = tmp_path / "door.jpg", tmp_path / "door-2.jpg"
    first.write_bytes(jpeg_bytes(300, 200))
    second.write_bytes(jpeg_bytes(360, 240))
    login(run, "alice")
    media_id = upload_one(run, first)

    # WHEN alice uploads a replacement original, THEN it is processed and the old one stays as a version
    replaced = run("upload", "--new-version", media_id, str(second), "--json")
    assert replaced.returncode == 0, replaced.stderr
    assert [(o["media_id"], o["result"]) for o in as_json(replaced)] == [(media_id, "ready")]
    assert as_json(run("info", media_id, "--json"))["width"] == 360
    found = as_json(run("versions", media_id, "--json"))
    assert [(v["size"], v["is_current"]) for v in found] == [
        (second.stat().st_size, True),
        (first.stat().st_size, False),
    ]
    assert media_id in run("versions", media_id).stdout

    # WHEN she restores the older one, THEN its bytes are current again
    restored = run("versions", media_id, "--restore", found[1]["version_id"], "--json")
    assert restored.returncode == 0, restored.stderr
    current = [v for v in as_json(run("versions", media_id, "--json")) if v["is_current"]]
    assert [v["size"] for v in current] == [first.stat().st_size]

    # AND an unknown version is one line
    unknown = run("versions", media_id, "--restore", "no-such-version")
    assert unknown.returncode != 0
    one_error_line(unknown.stderr)


def test_describe_waits_for_the_description(run: Run, tmp_path: Path) -> None:
    photo = tmp_path / "field.jpg"
    photo.write_bytes(jpeg_bytes(300, 220))
    login(run, "alice")
    media_id = upload_one(run, photo)

    described = run("describe", media_id, "--wait", "--json")

    assert described.returncode == 0, described.stderr
    description = as_json(described)["ai_description"]
    assert description["status"] == "ready" and description["text"]
    assert as_json(run("info", media_id, "--json"))["ai_description"]["text"] == description["text"]
    assert description["text"] in run("describe", media_id, "--wait").stdout.replace("\n", " ")


def test_usage_errors_are_one_line(run: Run) -> None:
    for args in (("ls", "--no-such-option"), ("share", "x"), ("edit",), ("shares", "edit", "x")):
        result = run(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert "--help" in one_error_line(result.stderr)
