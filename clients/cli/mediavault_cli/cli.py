"""The `mediavault` command: the group and its global options, account commands, and the one-line error rule.

The other commands live in `mediavault_cli.commands`, one module per topic.
"""

from __future__ import annotations

import logging
import os
import sys

import click
from rich.logging import RichHandler
from rich.markup import escape

from mediavault_cli import auth
from mediavault_cli.commands import account, albums, audit, library, links, notifications, partner, sharing, transfer
from mediavault_cli.context import State, pass_state
from mediavault_cli.errors import CliError
from mediavault_cli.output import err


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--profile", default="default", envvar="MEDIAVAULT_PROFILE", show_default=True, help="Which vault.")
@click.option("--api", "api_url", metavar="URL", help="API base URL (else MEDIAVAULT_API, the profile, make run's).")
@click.option("--issuer", metavar="URL", help="Token issuer (realm) URL (else MEDIAVAULT_ISSUER, the profile, ...).")
@click.option("-v", "--verbose", is_flag=True, help="Show the full error behind a one-line message.")
@click.version_option(package_name="mediavault-cli")
@click.pass_context
def cli(ctx: click.Context, profile: str, api_url: str | None, issuer: str | None, verbose: bool) -> None:
    """Media Vault from the command line."""
    ctx.obj = State(profile, api_url, issuer, verbose)
    if verbose:
        # Every request and its status (query strings, which carry presigned credentials, are left out).
        logging.basicConfig(format="%(message)s", handlers=[RichHandler(console=err, show_path=False)])
        logging.getLogger("mediavault").setLevel(logging.DEBUG)


# --- account ---------------------------------------------------------------------------------------


@cli.command()
@click.option("--username", "-u", help="Password sign-in (asks for what is missing).")
@click.option("--password", "-p", help="Password sign-in; prefer the prompt, which hides it.")
@click.option("--browser", "flow", flag_value="browser", help="Sign in in your web browser (code flow + PKCE).")
@click.option("--device", "flow", flag_value="device", help="Sign in on another device with a short code.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for the browser.")
@pass_state
def login(state: State, username: str | None, password: str | None, flow: str | None, timeout: float) -> None:
    """Log in and keep the tokens in this profile (password by default, or --browser / --device)."""
    api = state.api()
    if flow and (username or password):
        raise click.UsageError("--username/--password cannot be combined with --browser or --device")
    say = lambda text: err.print(escape(text), soft_wrap=True, highlight=False)  # noqa: E731 - URLs unwrapped
    if flow == "browser":
        username = auth.browser_login(api.identity, say, timeout)
    elif flow == "device":
        username = auth.device_login(api.identity, say)
    else:
        username = username or click.prompt("Username")
        api.identity.password(username, password or click.prompt("Password", hide_input=True))
    # The vault opens the account on its first call: after this, others can share with you by name.
    account = api.request("GET", "/me")
    org = f", {account['partner_org']}" if account.get("partner_org") else ""
    err.print(
        f"logged in as [bold]{escape(username)}[/] ({account['role']}{escape(org)}) at {api.profile.api}"
        f" (profile {api.profile.name})"
    )


@cli.command()
@pass_state
def logout(state: State) -> None:
    """End this profile's session at the identity server and forget its tokens."""
    api = state.api()
    had = auth.logout(api.profile, api.http, lambda text: err.print(escape(text), soft_wrap=True))
    err.print("logged out" if had else "was not logged in")


# --- everything else, by topic -------------------------------------------------------------------

for command in (
    *transfer.COMMANDS,
    *library.COMMANDS,
    *sharing.COMMANDS,
    *albums.COMMANDS,
    *links.COMMANDS,
    *partner.COMMANDS,
    *notifications.COMMANDS,
    *audit.COMMANDS,
    *account.COMMANDS,
):
    cli.add_command(command)


# --- entry point -----------------------------------------------------------------------------------


def main() -> None:
    """Console-script entry: every failure is one line on stderr and a non-zero status; --verbose adds the trace."""
    verbose = "-v" in sys.argv[1:] or "--verbose" in sys.argv[1:]
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C into Abort. Threads still sending a part would keep the interpreter alive until
        # they finish; their progress is on disk already, so leave at once.
        interrupted = isinstance(exc.__cause__, KeyboardInterrupt)
        err.print("interrupted (an upload resumes where it stopped on the next run)" if interrupted else "aborted")
        sys.stderr.flush()
        os._exit(130 if interrupted else 1)
    except click.UsageError as exc:
        # One line too, with where to read more, instead of click's usage block.
        command = exc.ctx.command_path if exc.ctx else "mediavault"
        _fail(f"{exc.format_message()} (see `{command} --help`)", exc.exit_code, verbose=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CliError as exc:
        _fail(str(exc), exc.exit_code, verbose)
    except Exception as exc:  # noqa: BLE001 - a bug must still end in one line, not a wall of trace
        _fail(f"unexpected {type(exc).__name__}: {exc} (run with --verbose for details)", 1, verbose)


def _fail(message: str, code: int, verbose: bool) -> None:
    if verbose:
        err.print_exception(suppress=[click], max_frames=6)
    err.print(f"[red]error[/]: {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)
