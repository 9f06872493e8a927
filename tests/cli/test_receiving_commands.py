"""`mediavault` albums move, link open/download, partner ls, audit and notifications read, each user in their own
config dir (a link's holder in one where nobody ever logged in)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Result, Run, as_json, login, one_error_line
from tests.support.images import jpeg_bytes

As = Callable[..., Result]
AUDIT_WAIT_SECONDS = 30.0


@pytest.fixture
def as_user(run: Run, tmp_path: Path) -> Callable[[str | None], As]:
    """`mediavault` in a config dir of its own: logged in as the user, or never logged in (None)."""

    def make(user: str | None) -> As:
        env = {"MEDIAVAULT_CONFIG_DIR": str(tmp_path / f"{user or 'anonymous'}-config")}
        if user:
            login(run, user, env=env)

        def run_as(*args: str, **kwargs: Any) -> Result:
            return run(*args, env=env, **kwargs)

        return run_as

    return make


def upload(run: Run, tmp_path: Path, *widths: int) -> list[str]:
    """Distinct photos, uploaded in one run and processed; their media ids in the order given."""
    folder = tmp_path / f"photos-{'-'.join(map(str, widths))}"
    folder.mkdir()
    for n, width in enumerate(widths):
        (folder / f"p{n}.jpg").write_bytes(jpeg_bytes(width, 210))
    result = run("upload", str(folder), "--json")
    assert result.returncode == 0, result.stderr
    by_name = {Path(o["path"]).name: o["media_id"] for o in as_json(result)}
    return [by_name[f"p{n}.jpg"] for n in range(len(widths))]


def test_albums_move_reorders_items_at_the_albums_version(run: Run, tmp_path: Path) -> None:
    # GIVEN an album of ada's holding a, b, c in that order
    login(run, "ada")
    a, b, c = upload(run, tmp_path, 451, 452, 453)
    album_id = as_json(run("albums", "create", "Order", "--json"))["album_id"]
    assert run("albums", "add", album_id, a, b, c).returncode == 0

    def order() -> list[str]:
        return [i["media_id"] for i in as_json(run("albums", "show", album_id, "--json"))["items"]]

    # WHEN she moves c to the front, THEN it comes first
    moved = run("albums", "move", album_id, c, "--first", "--json")
    assert moved.returncode == 0, moved.stderr
    assert order() == [c, a, b]

    # WHEN she moves it after b, THEN it is last again, and the message says where it went
    after = run("albums", "move", album_id, c, "--after", b)
    assert after.returncode == 0, after.stderr
    assert f"moved {c} after {b}" in after.stderr
    assert order() == [a, b, c]

    # WHEN she moves it at a version the album has left, THEN one line says so and nothing moves
    stale = run("albums", "move", album_id, a, "--after", c, "--version", str(as_json(moved)["version"]))
    assert stale.returncode == 1 and one_error_line(stale.stderr).startswith("error: conflict: ")
    assert order() == [a, b, c]

    # AND an item that is not in the album, or neither --after nor --first, is one line
    outsider = upload(run, tmp_path, 454)[0]
    missing = run("albums", "move", album_id, outsider, "--first")
    assert missing.returncode == 1 and "404" in one_error_line(missing.stderr)
    unsaid = run("albums", "move", album_id, a)
    assert unsaid.returncode == 2 and "--after" in one_error_line(unsaid.stderr)


def test_link_open_and_download_work_without_a_login(
    run: Run, as_user: Callable[[str | None], As], tmp_path: Path
) -> None:
    # GIVEN ada's photo, shared as a password-protected link that allows downloads, and a view-only link
    login(run, "ada")
    media_id = upload(run, tmp_path, 461)[0]
    original = (tmp_path / "photos-461" / "p0.jpg").read_bytes()
    protected = as_json(
        run("share", media_id, "--link", "-p", "download", "--password-stdin", "--json", stdin="open sesame\n")
    )
    view_only = as_json(run("share", media_id, "--link", "--json"))
    stranger = as_user(None)

    # WHEN someone who never logged in opens the link by its address, THEN they see the item
    opened = stranger("link", "open", protected["url"], "--password-stdin", "--json", stdin="open sesame\n")
    assert opened.returncode == 0, opened.stderr
    shown = as_json(opened)
    assert (shown["type"], shown["download_allowed"], shown["media"]["media_id"]) == ("media", True, media_id)
    table = stranger("link", "open", protected["token"], "--password-stdin", stdin="open sesame\n")
    assert table.returncode == 0 and media_id in table.stdout

    # AND downloads the original by its token, byte for byte
    target = tmp_path / "received"
    fetched = stranger(
        "link",
        "download",
        protected["token"],
        "--out",
        str(target),
        "--password-stdin",
        "--json",
        stdin="open sesame\n",
    )
    assert fetched.returncode == 0, fetched.stderr
    assert Path(as_json(fetched)["path"]).read_bytes() == original

    # AND a second download keeps the first file and writes another next to it
    again = stranger(
        "link", "download", protected["token"], "-o", str(target), "--password-stdin", stdin="open sesame\n"
    )
    assert again.returncode == 0, again.stderr
    assert len(list(target.iterdir())) == 2

    # WHEN the password is missing or wrong, or the link allows no download, THEN it is one line and nothing else
    no_password = stranger("link", "open", protected["token"])
    assert no_password.returncode == 1 and "401" in one_error_line(no_password.stderr)
    assert "--password" in no_password.stderr
    wrong = stranger("link", "open", protected["token"], "--password-stdin", stdin="not the one\n")
    assert wrong.returncode == 1 and "404" in one_error_line(wrong.stderr)
    refused = stranger("link", "download", view_only["token"], "--out", str(tmp_path / "refused"))
    assert refused.returncode == 1 and "404" in one_error_line(refused.stderr)
    assert not (tmp_path / "refused").exists() or not list((tmp_path / "refused").iterdir())


def test_link_of_an_album_lists_its_items_and_downloads_one(
    run: Run, as_user: Callable[[str | None], As], tmp_path: Path
) -> None:
    # GIVEN an album of ada's with two photos, shared as a link that allows downloads
    login(run, "ada")
    first, second = upload(run, tmp_path, 471, 472)
    album_id = as_json(run("albums", "create", "Linked", "--json"))["album_id"]
    assert run("albums", "add", album_id, first, second).returncode == 0
    link = as_json(run("share", album_id, "--album", "--link", "-p", "download", "--json"))
    stranger = as_user(None)

    # WHEN someone opens it, THEN they see the album's items in order
    opened = stranger("link", "open", link["url"], "--all", "--json")
    assert opened.returncode == 0, opened.stderr
    album = as_json(opened)["album"]
    assert (album["title"], [i["media_id"] for i in album["items"]]) == ("Linked", [first, second])
    assert "Linked" in stranger("link", "open", link["token"]).stdout

    # AND they download one item of it
    fetched = stranger("link", "download", link["token"], "--item", second, "--out", str(tmp_path / "got"), "--json")
    assert fetched.returncode == 0, fetched.stderr
    assert Path(as_json(fetched)["path"]).read_bytes() == (tmp_path / "photos-471-472" / "p1.jpg").read_bytes()


def test_partner_ls_lists_what_is_shared_with_the_organisation(
    run: Run, as_user: Callable[[str | None], As], tmp_path: Path
) -> None:
    # GIVEN a photo of ada's shared with the partner organisation acme
    login(run, "ada")
    media_id = upload(run, tmp_path, 481)[0]
    grant = as_json(run("share", media_id, "--org", "acme", "--json"))
    pat = as_user("pat")

    # WHEN pat, a partner of acme, lists the organisation's media, THEN the photo is there with its grant
    listed = pat("partner", "ls", "--all", "--json")
    assert listed.returncode == 0, listed.stderr
    received = {r["share"]["share_id"]: r for r in as_json(listed)}
    assert received[grant["share_id"]]["media"]["media_id"] == media_id
    assert grant["share_id"] in pat("partner").stdout

    # AND the filters of `ls` apply
    ready = {r["share"]["share_id"] for r in as_json(pat("partner", "--status", "ready", "--type", "photo", "--json"))}
    assert grant["share_id"] in ready
    videos = {r["share"]["share_id"] for r in as_json(pat("partner", "--type", "video", "--all", "--json"))}
    assert grant["share_id"] not in videos

    # AND someone who is not a partner gets one line
    bob = as_user("bob")
    refused = bob("partner", "ls")
    assert refused.returncode == 1 and "403" in one_error_line(refused.stderr)


def test_audit_shows_what_others_did_with_my_media(
    run: Run, as_user: Callable[[str | None], As], tmp_path: Path
) -> None:
    # GIVEN alice's photo, shared with bob, who reads it
    bob = as_user("bob")
    login(run, "alice")
    media_id = upload(run, tmp_path, 491)[0]
    assert run("share", media_id, "--user", "bob", "-p", "download").returncode == 0
    assert bob("info", media_id).returncode == 0

    # WHEN alice looks at her audit log (the log is written asynchronously: poll for a while)
    deadline = time.monotonic() + AUDIT_WAIT_SECONDS
    while True:
        listed = run("audit", "--action", "media.read", "--all", "--json")
        assert listed.returncode == 0, listed.stderr
        reads = [e for e in as_json(listed) if e["resource"] == f"media#{media_id}"]
        if reads or time.monotonic() > deadline:
            break
        time.sleep(0.5)

    # THEN bob's read is there, and her own reads are not
    assert [(e["actor_name"], e["action"], e["outcome"]) for e in reads] == [("bob", "media.read", "allowed")]
    table = run("audit", "--action", "media.read")
    assert table.returncode == 0 and f"media#{media_id}" in table.stdout

    # AND a malformed filter, or no login, is one line
    bad = run("audit", "--action", "Not An Action")
    assert bad.returncode == 1 and "400" in one_error_line(bad.stderr)
    nobody = as_user(None)("audit")
    assert nobody.returncode == 1 and "not logged in" in one_error_line(nobody.stderr)


def test_notifications_read_marks_one_read(run: Run, as_user: Callable[[str | None], As], tmp_path: Path) -> None:
    # GIVEN a share from ada that bob has not read yet
    bob = as_user("bob")
    login(run, "ada")
    media_id = upload(run, tmp_path, 501)[0]
    grant = as_json(run("share", media_id, "--user", "bob", "--json"))
    unread = {n["share_id"]: n for n in as_json(bob("notifications", "--unread", "--all", "--json"))}
    notification_id = unread[grant["share_id"]]["notification_id"]
    assert notification_id in bob("notifications", "--unread").stdout

    # WHEN bob marks it read, THEN it says when, and it is no longer unread
    marked = bob("notifications", "read", notification_id, "--json")
    assert marked.returncode == 0, marked.stderr
    assert as_json(marked)[0]["read_at"]
    assert notification_id not in {n["notification_id"] for n in as_json(bob("notifications", "--unread", "--json"))}
    assert bob("notifications", "read", notification_id).returncode == 0  # again is fine

    # AND someone else's notification, or no such one, is one line
    others = run("notifications", "read", notification_id)
    assert others.returncode == 1 and "404" in one_error_line(others.stderr)
