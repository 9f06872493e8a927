"""The audit log of your media: what others (people you shared with, administrators) did with it."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from mediavault_cli.context import State, pass_state
from mediavault_cli.output import emit_json, json_option, out, when


@click.command()
@click.option("--action", metavar="NAME", help="Only this action, e.g. media.read or media.download.")
@click.option("--from", "since", metavar="ISO", help="At or after (no offset: UTC).")
@click.option("--to", "until", metavar="ISO", help="At or before (no offset: UTC).")
@click.option("--limit", type=click.IntRange(1, 100), default=50, show_default=True, help="Page size.")
@click.option("--all", "everything", is_flag=True, help="Every page, not just the first.")
@json_option
@pass_state
def audit(
    state: State, action: str | None, since: str | None, until: str | None, limit: int, everything: bool, as_json: bool
) -> None:
    """What others did with your media, newest first."""
    params = {"action": action, "from": since, "to": until, "limit": limit}
    entries = list(state.api().pages("/me/audit", params, everything, key="entries"))
    if as_json:
        emit_json(entries)
        return
    table = Table(title=f"what others did with your media ({len(entries)})")
    for column in ("when", "who", "role", "action", "on", "outcome", "status"):
        table.add_column(column, overflow="fold")
    for e in entries:
        table.add_row(
            when(e["at"]),
            escape(e["actor_name"] or e["actor"]),
            e["actor_role"],
            e["action"],
            escape(e["resource"]),
            e["outcome"],
            str(e["status"]),
        )
    out.print(table)


COMMANDS = (audit,)
