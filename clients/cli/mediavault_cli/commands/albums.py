"""Albums: named, ordered collections of your media (shared with `mediavault share --album`)."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from mediavault_cli.context import DefaultGroup, State, each, pass_state
from mediavault_cli.errors import ApiError, CliError
from mediavault_cli.output import emit_json, err, json_option, media_table, out, when


@click.group(cls=DefaultGroup)
def albums() -> None:
    """Albums: list (default), create, show, add, move and remove items, edit, delete."""


@albums.command("ls")
@click.option("--all", "everything", is_flag=True, help="Every page, not just the first.")
@json_option
@pass_state
def albums_ls(state: State, everything: bool, as_json: bool) -> None:
    """List your albums, newest first."""
    found = list(state.api().pages("/albums", {"limit": 100}, everything))
    if as_json:
        emit_json(found)
        return
    table = Table(title=f"albums ({len(found)})")
    table.add_column("album id", no_wrap=True)
    for column in ("title", "items", "updated"):
        table.add_column(column, overflow="fold", justify="right" if column == "items" else "left")
    for a in found:
        table.add_row(a["album_id"], escape(a["title"]), str(a["item_count"]), when(a["updated_at"]))
    out.print(table)


@albums.command("create")
@click.argument("title")
@click.option("--description", default="")
@json_option
@pass_state
def albums_create(state: State, title: str, description: str, as_json: bool) -> None:
    """Create an empty album; prints its id."""
    album = state.api().request("POST", "/albums", json={"title": title, "description": description})
    if as_json:
        emit_json(album)
    else:
        out.print(album["album_id"])
        err.print(f"created album {escape(album['title'])!r}", highlight=False)


@albums.command("show")
@click.argument("album_id")
@click.option("--all", "everything", is_flag=True, help="Every page of items, not just the first.")
@json_option
@pass_state
def albums_show(state: State, album_id: str, everything: bool, as_json: bool) -> None:
    """An album and its items, in order."""
    api = state.api()
    album = api.request("GET", f"/albums/{album_id}")
    items = list(api.pages(f"/albums/{album_id}/items", {"limit": 100}, everything))
    if as_json:
        emit_json({**album, "items": items})
        return
    about = f" - {album['description']}" if album["description"] else ""
    title = f"{escape(album['title'])}{escape(about)} (items: {album['item_count']}, id {album_id})"
    out.print(media_table(items, title))


@albums.command("add")
@click.argument("album_id")
@click.argument("media_ids", nargs=-1, required=True)
@json_option
@pass_state
def albums_add(state: State, album_id: str, media_ids: tuple[str, ...], as_json: bool) -> None:
    """Append items to an album (ones already in it stay where they are)."""
    album = state.api().request("POST", f"/albums/{album_id}/items", json={"media_ids": list(media_ids)})
    if as_json:
        emit_json(album)
    else:
        err.print(f"album {album_id} now holds items: {album['item_count']}", highlight=False)


@albums.command("remove")
@click.argument("album_id")
@click.argument("media_ids", nargs=-1, required=True)
@pass_state
def albums_remove(state: State, album_id: str, media_ids: tuple[str, ...]) -> None:
    """Take items out of an album (they stay in your library)."""
    each(state.api(), media_ids, "DELETE", f"/albums/{album_id}/items/{{id}}", "removed")


@albums.command("move")
@click.argument("album_id")
@click.argument("media_id")
@click.option("--after", "after_id", metavar="MEDIA_ID", help="Put it right after this item of the album.")
@click.option("--first", is_flag=True, help="Put it at the front.")
@click.option("--version", "based_on", type=int, metavar="N", help="Refuse the move if the album is no longer at N.")
@json_option
@pass_state
def albums_move(
    state: State, album_id: str, media_id: str, after_id: str | None, first: bool, based_on: int | None, as_json: bool
) -> None:
    """Move an item of an album right after another (--after) or to the front (--first)."""
    if bool(after_id) == first:
        raise click.UsageError("give --after MEDIA_ID or --first (one of them)")
    api = state.api()
    version = api.request("GET", f"/albums/{album_id}")["version"] if based_on is None else based_on
    try:
        album = api.request(
            "PATCH", f"/albums/{album_id}/items/{media_id}", json={"after": after_id, "version": version}
        )
    except ApiError as exc:
        if exc.status == 409:
            raise CliError(f"conflict: album {album_id} is no longer at version {version} ({exc.message})") from exc
        raise
    if as_json:
        emit_json(album)
    else:
        where = f"after {after_id}" if after_id else "to the front"
        err.print(f"moved {media_id} {where} in album {album_id} (version {album['version']})", highlight=False)


@albums.command("edit")
@click.argument("album_id")
@click.option("--title")
@click.option("--description")
@click.option("--cover", "cover_media_id", metavar="MEDIA_ID", help="An item of the album as its cover.")
@click.option("--no-cover", is_flag=True, help="Clear the cover.")
@json_option
@pass_state
def albums_edit(
    state: State,
    album_id: str,
    title: str | None,
    description: str | None,
    cover_media_id: str | None,
    no_cover: bool,
    as_json: bool,
) -> None:
    """Change an album's title, description or cover."""
    changes: dict[str, Any] = {k: v for k, v in (("title", title), ("description", description)) if v is not None}
    if cover_media_id or no_cover:
        changes["cover_media_id"] = cover_media_id
    if not changes:
        raise click.UsageError("nothing to change (see mediavault albums edit --help)")
    api = state.api()
    version = api.request("GET", f"/albums/{album_id}")["version"]
    try:
        album = api.request("PATCH", f"/albums/{album_id}", json={"version": version, **changes})
    except ApiError as exc:
        if exc.status == 409:
            raise CliError(f"conflict: album {album_id} changed meanwhile ({exc.message}); retry") from exc
        raise
    if as_json:
        emit_json(album)
    else:
        err.print(f"edited album {album_id}", highlight=False)


@albums.command("rm")
@click.argument("album_ids", nargs=-1, required=True)
@pass_state
def albums_rm(state: State, album_ids: tuple[str, ...]) -> None:
    """Delete albums and their shares; their items stay in your library."""
    each(state.api(), album_ids, "DELETE", "/albums/{id}", "deleted")


COMMANDS = (albums,)
