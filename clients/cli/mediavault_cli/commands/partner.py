"""Partners: the media shared with your organisation."""

from __future__ import annotations

from typing import Any

import click

from mediavault_cli.commands.library import filter_options, query_of
from mediavault_cli.commands.sharing import incoming_table
from mediavault_cli.context import DefaultGroup, State, pass_state
from mediavault_cli.output import emit_json, out


@click.group(cls=DefaultGroup)
def partner() -> None:
    """Partners only: what is shared with your organisation (list is the default)."""


@partner.command("ls")
@filter_options
@pass_state
def partner_ls(state: State, /, everything: bool, as_json: bool, **filters: Any) -> None:
    """Items and albums shared with your organisation, newest grant first (the filters of `ls`)."""
    received = list(state.api().pages("/partner/media", query_of(filters), everything))
    if as_json:
        emit_json(received)
    else:
        out.print(incoming_table(received, "shared with your organisation"))


COMMANDS = (partner,)
