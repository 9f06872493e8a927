"""The caller's library: list, show, edit, versions, AI descriptions, trash."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from mediavault_cli.api import Api
from mediavault_cli.context import DefaultGroup, State, each, pass_state
from mediavault_cli.errors import ApiError, CliError
from mediavault_cli.output import emit_json, err, human_size, json_option, media_table, out, record_table, when

DESCRIPTION_DONE = frozenset({"ready", "failed"})


FILTER_OPTIONS = (
    click.option("--type", "kind", type=click.Choice(["image", "photo", "video"]), help="photo = image."),
    click.option("--status", type=click.Choice(["pending", "processing", "ready", "failed", "rejected"])),
    click.option("--tag"),
    click.option("--query", "-q", "text", help="Text in filename, title or description."),
    click.option("--created-from", metavar="ISO"),
    click.option("--created-to", metavar="ISO"),
    click.option("--taken-from", metavar="ISO"),
    click.option("--taken-to", metavar="ISO"),
)
ORDER_OPTIONS = (
    click.option("--sort", type=click.Choice(["created", "taken"]), default="created", show_default=True),
    click.option("--order", type=click.Choice(["asc", "desc"]), default="desc", show_default=True),
)
PAGING_OPTIONS = (
    click.option("--limit", type=click.IntRange(1, 100), default=50, show_default=True, help="Page size."),
    click.option("--all", "everything", is_flag=True, help="Every page, not just the first."),
    json_option,
)


def _with(options: tuple[Callable[[Any], Any], ...], command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(options):
        command = option(command)
    return command


def listing_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The filters, sort and paging of GET /media and GET /trash."""
    return _with((*FILTER_OPTIONS, *ORDER_OPTIONS, *PAGING_OPTIONS), command)


def filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The filters and paging of GET /media, without its sort (listings of what others shared, newest grant first)."""
    return _with((*FILTER_OPTIONS, *PAGING_OPTIONS), command)


def query_of(filters: dict[str, Any]) -> dict[str, Any]:
    """The API's query parameters for the options of `listing_options` or `filter_options`."""
    params = {**filters, "type": "image" if filters.get("kind") == "photo" else filters.get("kind")}
    params["q"] = params.pop("text", None)
    params.pop("kind", None)
    return params


def _print_listing(api: Api, path: str, filters: dict[str, Any], everything: bool, as_json: bool, title: str) -> None:
    items = list(api.pages(path, query_of(filters), everything))
    if as_json:
        emit_json(items)
    else:
        out.print(media_table(items, f"{title} ({len(items)})"))


@click.command("ls")
@listing_options
@pass_state
def list_media(state: State, /, everything: bool, as_json: bool, **filters: Any) -> None:
    """List your media, newest first."""
    _print_listing(state.api(), "/media", filters, everything, as_json, "media")


@click.command()
@click.argument("media_id")
@json_option
@pass_state
def info(state: State, media_id: str, as_json: bool) -> None:
    """Show one item: status, metadata, renditions."""
    item = state.api().request("GET", f"/media/{media_id}")
    if as_json:
        emit_json(item)
    else:
        out.print(record_table(item, item["filename"]))


@click.command()
@click.argument("media_id")
@click.option("--title")
@click.option("--description")
@click.option("--tag", "tags", multiple=True, help="The item's tags become these (repeat the option).")
@click.option("--add-tag", "added", multiple=True, help="Add a tag, keeping the others.")
@click.option("--remove-tag", "removed", multiple=True, help="Remove a tag, keeping the others.")
@click.option("--clear-tags", is_flag=True, help="Remove every tag.")
@click.option("--taken-at", metavar="ISO", help="When it was taken (overrides the file's date).")
@click.option("--clear-taken-at", is_flag=True, help="Back to the date the file records.")
@click.option("--show-location/--hide-location", "location_visible", default=None, help="Whether GPS is shown.")
@click.option("--version", "based_on", type=int, metavar="N", help="Refuse the edit if the item is no longer at N.")
@json_option
@pass_state
def edit(
    state: State,
    media_id: str,
    title: str | None,
    description: str | None,
    tags: tuple[str, ...],
    added: tuple[str, ...],
    removed: tuple[str, ...],
    clear_tags: bool,
    taken_at: str | None,
    clear_taken_at: bool,
    location_visible: bool | None,
    based_on: int | None,
    as_json: bool,
) -> None:
    """Change an item's title, description, tags, capture date or location visibility."""
    if clear_tags and (tags or added):
        raise click.UsageError("--clear-tags goes with neither --tag nor --add-tag")
    if taken_at is not None and clear_taken_at:
        raise click.UsageError("--taken-at and --clear-taken-at exclude each other")
    api = state.api()
    current = api.request("GET", f"/media/{media_id}")
    changes: dict[str, Any] = {}
    for field, value in (("title", title), ("description", description), ("location_visible", location_visible)):
        if value is not None:
            changes[field] = value
    if clear_tags or tags or added or removed:
        kept = [] if clear_tags else list(tags or current["tags"])
        changes["tags"] = [t for t in dict.fromkeys([*kept, *added]) if t not in removed]
    if taken_at is not None or clear_taken_at:
        changes["taken_at"] = taken_at
    if not changes:
        raise click.UsageError("nothing to change (see mediavault edit --help)")
    version = current["version"] if based_on is None else based_on
    try:
        edited = api.request("PATCH", f"/media/{media_id}", json={"version": version, **changes})
    except ApiError as exc:
        if exc.status == 409:
            raise CliError(
                f"conflict: {media_id} changed since version {version} ({exc.message}); read it again and retry"
            ) from exc
        raise
    if as_json:
        emit_json(edited)
    else:
        err.print(f"edited {media_id} (version {edited['version']})", highlight=False)


@click.command()
@click.argument("media_id")
@click.option("--restore", "version_id", metavar="VERSION_ID", help="Make this older original current again.")
@json_option
@pass_state
def versions(state: State, media_id: str, version_id: str | None, as_json: bool) -> None:
    """List the stored versions of an item's original, or restore one (it is processed again)."""
    api = state.api()
    if version_id:
        item = api.request("POST", f"/media/{media_id}/versions/{version_id}/restore")
        if as_json:
            emit_json(item)
        else:
            err.print(f"restored version {version_id} of {media_id}: now {item['status']}", highlight=False)
        return
    found = api.request("GET", f"/media/{media_id}/versions")["versions"]
    if as_json:
        emit_json(found)
        return
    table = Table(title=f"versions of {media_id} ({len(found)})")
    for column in ("version id", "size", "stored", "current"):
        table.add_column(column, overflow="fold", justify="right" if column == "size" else "left")
    for v in found:
        table.add_row(escape(v["version_id"]), human_size(v["size"]), when(v["last_modified"]), "*" * v["is_current"])
    out.print(table)


@click.command()
@click.argument("media_id")
@click.option("--wait", is_flag=True, help="Wait until the description is written, then print it.")
@click.option("--wait-timeout", default=120.0, show_default=True, help="Seconds to wait.")
@json_option
@pass_state
def describe(state: State, media_id: str, wait: bool, wait_timeout: float, as_json: bool) -> None:
    """Ask for an AI description of an item (it arrives asynchronously)."""
    api = state.api()
    queued = api.request("POST", f"/media/{media_id}/describe")
    description: dict[str, Any] = queued.get("ai_description") or {}
    if wait:
        description = _await_description(api, media_id, wait_timeout)
    if as_json:
        emit_json({"media_id": media_id, "ai_description": description})
        return
    status = description.get("status", "pending")
    if status == "ready":
        out.print(escape(description.get("text") or "(empty description)"))
    elif status == "failed":
        raise CliError(f"description failed: {description.get('error') or 'no reason given'}")
    else:
        err.print(f"description of {media_id} is {status}; `mediavault describe {media_id} --wait` waits for it")


def _await_description(api: Api, media_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    delay = 0.3
    while True:
        description: dict[str, Any] = api.request("GET", f"/media/{media_id}").get("ai_description") or {}
        if description.get("status") in DESCRIPTION_DONE:
            return description
        if time.monotonic() > deadline:
            raise CliError(f"no description after {timeout:.0f} s (still {description.get('status', 'pending')})")
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)


@click.command()
@click.argument("media_ids", nargs=-1, required=True)
@pass_state
def rm(state: State, media_ids: tuple[str, ...]) -> None:
    """Move items to the trash."""
    each(state.api(), media_ids, "DELETE", "/media/{id}", "trashed")


@click.command()
@click.argument("media_ids", nargs=-1, required=True)
@pass_state
def restore(state: State, media_ids: tuple[str, ...]) -> None:
    """Bring items back from the trash."""
    each(state.api(), media_ids, "POST", "/media/{id}/restore", "restored")


@click.group(cls=DefaultGroup)
def trash() -> None:
    """The trash: list it (default), or purge items for good."""


@trash.command("ls")
@listing_options
@pass_state
def trash_ls(state: State, /, everything: bool, as_json: bool, **filters: Any) -> None:
    """List the trash."""
    _print_listing(state.api(), "/trash", filters, everything, as_json, "trash")


@trash.command()
@click.argument("media_ids", nargs=-1, required=True)
@click.confirmation_option(prompt="Delete these items for good?")
@pass_state
def purge(state: State, media_ids: tuple[str, ...]) -> None:
    """Delete trashed items for good (every version and rendition)."""
    each(state.api(), media_ids, "DELETE", "/trash/{id}", "purged")


COMMANDS = (list_media, info, edit, versions, describe, rm, restore, trash)
