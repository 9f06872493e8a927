"""What every command shares: the global options, and click plumbing the command groups use."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape

from mediavault_cli.api import Api
from mediavault_cli.config import Profile, load_profile
from mediavault_cli.errors import CliError
from mediavault_cli.output import err


class State:
    """Options every command shares."""

    def __init__(self, profile: str, api: str | None, issuer: str | None, verbose: bool) -> None:
        self.profile_name, self.api_url, self.issuer, self.verbose = profile, api, issuer, verbose

    def profile(self) -> Profile:
        return load_profile(self.profile_name, self.api_url, self.issuer)

    def api(self) -> Api:
        return Api(self.profile())


pass_state = click.make_pass_decorator(State)


class DefaultGroup(click.Group):
    """A group whose `ls` runs when no subcommand is named: `shares --incoming` is `shares ls --incoming`."""

    default_command = "ls"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = args[0] if args else None
        if first not in self.commands and first not in ctx.help_option_names:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def each(api: Api, ids: tuple[str, ...], method: str, path: str, done: str, **kwargs: Any) -> None:
    """One call per id; every id is tried, failures are listed, the exit status says whether all worked."""
    if len(ids) == 1:
        # A single failure is the one error line itself.
        api.request(method, path.format(id=ids[0]), **kwargs)
        err.print(f"{done} {ids[0]}", highlight=False)
        return
    failures = 0
    for one in ids:
        try:
            api.request(method, path.format(id=one), **kwargs)
            err.print(f"{done} {one}", highlight=False)
        except CliError as exc:
            failures += 1
            err.print(f"[red]error[/]: {escape(one)}: {escape(str(exc))}", highlight=False, soft_wrap=True)
    if failures:
        raise CliError(f"{failures} of {len(ids)} failed")
