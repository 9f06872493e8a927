"""`mediavault` share, shares, unshare, albums and notifications, with two users in two config dirs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Result, Run, as_json, login, one_error_line
from tests.support.images import jpeg_bytes

As = Callable[..., Result]


@pytest.fixture
def as_bob(run: Run, tmp_path: Path) -> As:
    """`mediavault` as bob: his own config dir, logged in (so the vault knows him before anyone shares)."""
    env = {"MEDIAVAULT_CONFIG_DIR": str(tmp_path / "bob-config")}
    login(run, "bob", env=env)
    assert run("shares", "--incoming", env=env).returncode == 0

    def run_as_bob(*args: str, **kwargs: object) -> Result:
        return run(*args, env=env, **kwargs)

    return run_as_bob


def upload_one(run: Run, tmp_path: Path, name: str, width: int) -> str:
    photo = tmp_path / name
    photo.write_bytes(jpeg_bytes(width, 200))
    result = run("upload", str(photo), "--json")
    assert result.returncode == 0, result.stderr
    return str(as_json(result)[0]["media_id"])


def test_share_with_bob_reaches_his_incoming_list_and_unshare_takes_it_back(
    run: Run, as_bob: As, tmp_path: Path
) -> None:
    # GIVEN an item of ada's
    login(run, "ada")
    media_id = upload_one(run, tmp_path, "lake.jpg", 410)

    # WHEN she shares it with bob for a week
    shared = run("share", media_id, "--user", "bob", "--permission", "download", "--expires-in", "7d", "--json")

    # THEN the grant says so, and bob sees it among his incoming shares and notifications
    assert shared.returncode == 0, shared.stderr
    grant = as_json(shared)
    assert (grant["grantee"]["name"], grant["permissions"]) == ("bob", ["download", "view"])
    assert grant["expires_at"] and grant["token"] is None
    incoming = {r["share"]["share_id"]: r for r in as_json(as_bob("shares", "--incoming", "--json"))}
    assert incoming[grant["share_id"]]["media"]["media_id"] == media_id
    assert incoming[grant["share_id"]]["share"]["owner_name"] == "ada"
    assert grant["share_id"] in as_bob("shares", "--incoming").stdout
    unread = as_json(as_bob("notifications", "--unread", "--json"))
    assert grant["share_id"] in {n["share_id"] for n in unread}
    assert as_bob("notifications", "--mark-read").returncode == 0
    assert as_json(as_bob("notifications", "--unread", "--json")) == []

    # AND ada sees it on the item and among her shares
    assert [g["share_id"] for g in as_json(run("shares", media_id, "--json"))] == [grant["share_id"]]
    assert grant["share_id"] in {g["share_id"] for g in as_json(run("shares", "--outgoing", "--json"))}
    assert grant["share_id"] in run("shares").stdout

    # WHEN she narrows it, THEN the change shows
    narrowed = run("shares", "edit", grant["share_id"], "--permission", "view", "--no-expiry", "--json")
    assert narrowed.returncode == 0, narrowed.stderr
    assert (as_json(narrowed)["permissions"], as_json(narrowed)["expires_at"]) == (["view"], None)

    # WHEN she unshares it, THEN bob's list no longer holds it
    assert run("unshare", grant["share_id"]).returncode == 0
    assert grant["share_id"] not in {r["share"]["share_id"] for r in as_json(as_bob("shares", "--incoming", "--json"))}
    assert as_json(run("shares", media_id, "--json")) == []

    # AND bob can be named by his email address too
    by_email = run("share", media_id, "--email", "bob@example.test", "--json")
    assert by_email.returncode == 0, by_email.stderr
    assert as_json(by_email)["grantee"]["name"] == "bob"
    assert run("unshare", as_json(by_email)["share_id"]).returncode == 0

    # AND sharing with nobody known, or unsharing again, is one line and a non-zero exit
    unknown = run("share", media_id, "--user", "no-such-user")
    assert unknown.returncode != 0 and "404" in one_error_line(unknown.stderr)
    again = run("unshare", grant["share_id"])
    assert again.returncode != 0 and "404" in one_error_line(again.stderr)


def test_a_link_share_prints_its_token_once(run: Run, tmp_path: Path) -> None:
    login(run, "ada")
    media_id = upload_one(run, tmp_path, "hill.jpg", 420)

    # WHEN ada shares a link, THEN its address and token are printed
    printed = run("share", media_id, "--link", "--max-uses", "3")
    assert printed.returncode == 0, printed.stderr
    lines = dict(line.split(": ", 1) for line in printed.stdout.splitlines())
    assert lines["url"].endswith(f"/links/{lines['token']}") and len(lines["token"]) >= 32

    # AND --json gives it to a script, with a password read from stdin and an expiry
    scripted = run(
        "share", media_id, "--link", "--password-stdin", "--expires", "2099-01-01", "--json", stdin="correct horse\n"
    )
    assert scripted.returncode == 0, scripted.stderr
    link = as_json(scripted)
    assert link["token"] and link["url"].endswith(link["token"])
    assert link["link"]["password_protected"] is True and link["expires_at"].startswith("2099-01-01")

    # AND the token is never shown again
    listed = {g["share_id"]: g for g in as_json(run("shares", media_id, "--json"))}
    assert listed[link["share_id"]]["token"] is None
    assert listed[link["share_id"]]["link"]["max_uses"] is None
    assert lines["token"] not in run("shares", media_id).stdout

    # AND link-only terms on a user share, or a short password, are refused before any request
    refused = run("share", media_id, "--user", "bob", "--max-uses", "2")
    assert refused.returncode == 2 and "--link only" in one_error_line(refused.stderr)
    short = run("share", media_id, "--link", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "8 characters" in one_error_line(short.stderr)


def test_albums_create_add_show_share_remove_and_delete(run: Run, as_bob: As, tmp_path: Path) -> None:
    login(run, "ada")
    first = upload_one(run, tmp_path, "a1.jpg", 430)
    second = upload_one(run, tmp_path, "a2.jpg", 440)

    # WHEN ada creates an album and adds two items
    created = run("albums", "create", "Road trip", "--description", "June", "--json")
    assert created.returncode == 0, created.stderr
    album_id = as_json(created)["album_id"]
    added = run("albums", "add", album_id, first, second, "--json")
    assert added.returncode == 0, added.stderr
    assert as_json(added)["item_count"] == 2

    # THEN it is listed, and shown with its items in order
    assert album_id in {a["album_id"] for a in as_json(run("albums", "--json"))}
    assert "Road trip" in run("albums", "ls").stdout
    shown = as_json(run("albums", "show", album_id, "--json"))
    assert (shown["title"], [i["media_id"] for i in shown["items"]]) == ("Road trip", [first, second])
    assert first in run("albums", "show", album_id).stdout

    # WHEN she shares it with bob, THEN he finds the album among his incoming shares
    shared = run("share", album_id, "--album", "--user", "bob", "--json")
    assert shared.returncode == 0, shared.stderr
    assert as_json(shared)["album_id"] == album_id
    incoming = {r["share"]["share_id"]: r for r in as_json(as_bob("shares", "--incoming", "--json"))}
    assert incoming[as_json(shared)["share_id"]]["album"]["album_id"] == album_id
    assert [g["share_id"] for g in as_json(run("shares", album_id, "--album", "--json"))] == [
        as_json(shared)["share_id"]
    ]

    # WHEN she renames it and removes an item, THEN the album shows it
    assert run("albums", "edit", album_id, "--title", "Road trip 2026").returncode == 0
    assert run("albums", "remove", album_id, first).returncode == 0
    shown = as_json(run("albums", "show", album_id, "--json"))
    assert (shown["title"], [i["media_id"] for i in shown["items"]]) == ("Road trip 2026", [second])

    # WHEN she deletes it, THEN it is gone and its items stay in her library
    assert run("albums", "rm", album_id).returncode == 0
    gone = run("albums", "show", album_id)
    assert gone.returncode != 0 and "404" in one_error_line(gone.stderr)
    assert {first, second} <= {i["media_id"] for i in as_json(run("ls", "--json"))}
