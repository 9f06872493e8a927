"""Notifications: what was shared with you, or taken back."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from mediavault_cli.context import State, pass_state
from mediavault_cli.output import emit_json, err, json_option, out, when

MARK_READ_CALLS = 10


@click.command()
@click.option("--unread", is_flag=True, help="Only the ones not yet read.")
@click.option("--mark-read", is_flag=True, help="Then mark every unread notification read.")
@click.option("--all", "everything", is_flag=True, help="Every page, not just the first.")
@json_option
@pass_state
def notifications(state: State, unread: bool, mark_read: bool, everything: bool, as_json: bool) -> None:
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
    for column in ("when", "", "what", "from", "permissions", "share id"):
        table.add_column(column, overflow="fold")
    for n in found:
        resource = n["resource"]
        table.add_row(
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


COMMANDS = (notifications,)
