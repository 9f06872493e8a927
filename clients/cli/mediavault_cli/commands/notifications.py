"""Notifications: what was shared with you, or taken back."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from mediavault_cli.context import DefaultGroup, State, each, pass_state
from mediavault_cli.output import emit_json, err, json_option, out, when

MARK_READ_CALLS = 10


@click.group(cls=DefaultGroup)
def notifications() -> None:
    """Your notifications: list them (default), or mark some read."""


@notifications.command("ls")
@click.option("--unread", is_flag=True, help="Only the ones not yet read.")
@click.option("--mark-read", is_flag=True, help="Then mark every unread notification read.")
@click.option("--all", "everything", is_flag=True, help="Every page, not just the first.")
@json_option
@pass_state
def notifications_ls(state: State, unread: bool, mark_read: bool, everything: bool, as_json: bool) -> None:
    """Your notifications, newest first."""
    api = state.api()
    params = {"unread_only": "true" if unread else "false", "limit": 100}
    found = list(api.pages("/notifications", params, everything))
    if mark_read:
        # The API marks up to 500 per call and says how many remain; a few calls cover any real backlog.
        for _ in range(MARK_READ_CALLS):
            if not api.request("POST", "/notifications/read-all")["unread_count"]:
                break
    if as_json:
        emit_json(found)
        return
    table = Table(title=f"notifications ({len(found)})")
    table.add_column("id", no_wrap=True)
    for column in ("when", "", "what", "from", "permissions", "share id"):
        table.add_column(column, overflow="fold")
    for n in found:
        resource = n["resource"]
        table.add_row(
            n["notification_id"],
            when(n["created_at"]),
            "" if n["read_at"] else "[bold]new[/]",
            escape(f"{n['kind']}: {resource['type']} {resource['title']!s}"),
            escape(n["actor_name"]),
            ", ".join(n["permissions"]),
            n["share_id"],
        )
    out.print(table)
    if mark_read:
        err.print("marked read", highlight=False)


@notifications.command("read")
@click.argument("notification_ids", metavar="ID...", nargs=-1, required=True)
@json_option
@pass_state
def notifications_read(state: State, notification_ids: tuple[str, ...], as_json: bool) -> None:
    """Mark notifications read (their ids are in the listing's first column)."""
    api = state.api()
    if not as_json:
        each(api, notification_ids, "POST", "/notifications/{id}/read", "marked read")
        return
    emit_json([api.request("POST", f"/notifications/{one}/read") for one in notification_ids])


COMMANDS = (notifications,)
