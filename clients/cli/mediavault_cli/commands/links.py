"""Share links from the receiving end: open one or download what it shares, anonymously (no login needed)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from mediavault_cli.api import Api
from mediavault_cli.context import State, pass_state
from mediavault_cli.download import Downloader
from mediavault_cli.errors import ApiError, CliError
from mediavault_cli.output import emit_json, err, json_option, out, progress_bar, record_table

PASSWORD_HEADER = "X-Link-Password"  # noqa: S105 - a header name, not a password


def token_of(token_or_url: str) -> str:
    """The token of a link: the last segment of its address (query left out), or the argument as is."""
    path = token_or_url.strip().split("?", 1)[0].split("#")[-1].rstrip("/")
    token = path.rsplit("/", 1)[-1]
    if not token:
        raise click.BadParameter("neither a link's address nor its token", param_hint="TOKEN_OR_URL")
    return token


def _password_headers(prompted: bool, from_stdin: bool) -> dict[str, str]:
    if prompted and from_stdin:
        raise click.UsageError("give --password or --password-stdin, not both")
    if from_stdin:
        return {PASSWORD_HEADER: sys.stdin.readline().rstrip("\r\n")}
    if prompted:
        return {PASSWORD_HEADER: click.prompt("Link password", hide_input=True, err=True)}
    return {}


def _anonymous(api: Api, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
    """A link route, without the bearer token; a protected link asked without its password says how to give it."""
    try:
        return api.request("GET", path, anonymous=True, headers=headers, **kwargs)
    except ApiError as exc:
        if exc.status == 401 and not headers:
            raise CliError(f"{exc} (give it with --password or --password-stdin)") from exc
        raise


password_options = (
    click.option("--password", "prompt_password", is_flag=True, help="The link is protected: ask for its password."),
    click.option("--password-stdin", is_flag=True, help="Read the link's password from the first line of stdin."),
)


def with_password_options(command: Any) -> Any:
    for option in reversed(password_options):
        command = option(command)
    return command


@click.group()
def link() -> None:
    """Open a share link, or download what it shares (anonymously: no login needed).

    Give the link's address or its token; a token made before tokens stopped starting with "-" goes after
    `--` (`mediavault link open -- -0mq...`).
    """


@link.command("open")
@click.argument("token_or_url")
@with_password_options
@click.option("--all", "everything", is_flag=True, help="An album: every page of its items, not just the first.")
@json_option
@pass_state
def link_open(
    state: State, token_or_url: str, prompt_password: bool, password_stdin: bool, everything: bool, as_json: bool
) -> None:
    """What a link shares: the item, or the album and its items (counts as one use of the link)."""
    token = token_of(token_or_url)
    headers = _password_headers(prompt_password, password_stdin)
    api = state.api()
    opened = _anonymous(api, f"/links/{token}", headers, params={"limit": 100})
    album = opened.get("album")
    # Each further page is another open of the link, so another use: only when asked for.
    while everything and album and album.get("next_cursor"):
        more = _anonymous(api, f"/links/{token}", headers, params={"limit": 100, "cursor": album["next_cursor"]})
        album["items"] += more["album"]["items"]
        album["next_cursor"] = more["album"]["next_cursor"]
    if as_json:
        emit_json(opened)
        return
    downloads = "download allowed" if opened["download_allowed"] else "view only"
    if not album:
        media = opened["media"]
        out.print(record_table(_shown(media), f"{media['title'] or media['media_id']} ({downloads})"))
        return
    table = Table(title=escape(f"album {album['title']} ({len(album['items'])} items, {downloads})"))
    for column in ("media id", "kind", "title", "size", "taken"):
        table.add_column(column, overflow="fold")
    for item in album["items"]:
        size = f"{item['width']}x{item['height']}" if item.get("width") else ""
        table.add_row(item["media_id"], item["kind"], escape(item["title"]), size, (item.get("taken_at") or "")[:19])
    out.print(table)
    if album.get("next_cursor"):
        err.print("more items: --all lists every page", highlight=False)


def _shown(media: dict[str, Any]) -> dict[str, Any]:
    """An item for the table: its rendition URLs are long and short-lived, so only their names are shown."""
    return {**media, "renditions": ", ".join(sorted(media.get("renditions") or {}))}


@link.command("download")
@click.argument("token_or_url")
@with_password_options
@click.option("--item", "media_id", metavar="MEDIA_ID", help="An album link: this item of the album.")
@click.option("--out", "-o", "dest", type=click.Path(path_type=Path, file_okay=False), help="Folder (default: here).")
@json_option
@pass_state
def link_download(
    state: State,
    token_or_url: str,
    prompt_password: bool,
    password_stdin: bool,
    media_id: str | None,
    dest: Path | None,
    as_json: bool,
) -> None:
    """Download the original a link shares, if the link allows downloads (counts as one use of the link)."""
    token = token_of(token_or_url)
    headers = _password_headers(prompt_password, password_stdin)
    api = state.api()
    path = f"/links/{token}/items/{media_id}/download" if media_id else f"/links/{token}/download"
    signed = _anonymous(api, path, headers)
    target = dest or Path.cwd()
    target.mkdir(parents=True, exist_ok=True)
    with progress_bar() as progress:
        # The label names the file when the link's filename cannot be used, or is taken by another file already.
        fetched = Downloader(api, target, progress).save(signed["url"], signed["filename"], media_id or token[:8])
    if fetched.failed:
        raise CliError(fetched.detail)
    if as_json:
        emit_json({"path": fetched.path, "filename": signed["filename"], "sha256": fetched.sha256})
    else:
        out.print(escape(fetched.path), highlight=False, soft_wrap=True)


COMMANDS = (link,)
