"""Sharing: grants on items and albums to users, partner organisations and links; what others shared with you."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import click
from rich.markup import escape
from rich.table import Table

from mediavault_cli.context import DefaultGroup, State, each, pass_state
from mediavault_cli.output import emit_json, err, json_option, out, when

F = TypeVar("F", bound=Callable[..., Any])
PERMISSIONS = ("view", "download", "edit", "reshare")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MIN_LINK_PASSWORD = 8  # the API refuses shorter ones; saying so before the prompt's second round is kinder


def _permission_option(default: tuple[str, ...] | None) -> Callable[[F], F]:
    return click.option(
        "--permission",
        "-p",
        "permissions",
        multiple=True,
        default=default,
        show_default=bool(default),
        type=click.Choice(PERMISSIONS),
        help="Repeat for several; view is always included.",
    )


expires_option = click.option("--expires", metavar="ISO", help="Stops working then (no offset: UTC).")
expires_in_option = click.option("--expires-in", metavar="DURATION", help="Stops working after e.g. 30m, 12h, 7d, 2w.")


def expiry(expires: str | None, expires_in: str | None) -> str | None:
    """The instant to send, from --expires or --expires-in (None: neither given)."""
    if expires and expires_in:
        raise click.UsageError("give --expires or --expires-in, not both")
    if expires_in is None:
        return expires
    match = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", expires_in)
    if not match:
        raise click.BadParameter("a number and a unit (s, m, h, d, w), e.g. 7d", param_hint="--expires-in")
    delta = timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    return (datetime.now(UTC) + delta).isoformat(timespec="seconds")


def _link_password(prompted: bool, from_stdin: bool) -> str | None:
    if prompted and from_stdin:
        raise click.UsageError("give --password or --password-stdin, not both")
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif prompted:
        password = click.prompt("Link password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        return None
    if len(password) < MIN_LINK_PASSWORD:
        raise click.UsageError(f"a link password needs at least {MIN_LINK_PASSWORD} characters")
    return password


@click.command()
@click.argument("resource_id", metavar="ID")
@click.option("--user", metavar="NAME", help="A vault user, by username.")
@click.option("--email", metavar="ADDR", help="A vault user, by email address.")
@click.option("--org", metavar="ORG", help="Every partner of an organisation.")
@click.option("--link", is_flag=True, help="Whoever holds the link (view and download only).")
@_permission_option(("view",))
@expires_option
@expires_in_option
@click.option("--password", "prompt_password", is_flag=True, help="Protect a link with a password (prompted).")
@click.option("--password-stdin", is_flag=True, help="Read the link's password from the first line of stdin.")
@click.option("--max-uses", type=click.IntRange(1, 1_000_000), help="A link stops after this many opens + downloads.")
@click.option("--album", is_flag=True, help="ID is an album: the grant reaches every item in it.")
@json_option
@pass_state
def share(
    state: State,
    resource_id: str,
    user: str | None,
    email: str | None,
    org: str | None,
    link: bool,
    permissions: tuple[str, ...],
    expires: str | None,
    expires_in: str | None,
    prompt_password: bool,
    password_stdin: bool,
    max_uses: int | None,
    album: bool,
    as_json: bool,
) -> None:
    """Share an item (or an album, with --album) with a user, an organisation, or as a link."""
    chosen = [name for name, value in (("--user", user), ("--email", email), ("--org", org), ("--link", link)) if value]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --user, --email, --org and --link")
    if not link and (prompt_password or password_stdin or max_uses is not None):
        raise click.UsageError("--password, --password-stdin and --max-uses are for --link only")
    grantee: dict[str, str] = {"type": "link"}
    if user or email:
        grantee = {"type": "user", **({"username": user} if user else {"email": email or ""})}
    elif org:
        grantee = {"type": "org", "org": org}
    body: dict[str, Any] = {"grantee": grantee, "permissions": sorted(set(permissions) | {"view"})}
    if (until := expiry(expires, expires_in)) is not None:
        body["expires_at"] = until
    if (password := _link_password(prompt_password, password_stdin)) is not None:
        body["password"] = password
    if max_uses is not None:
        body["max_uses"] = max_uses
    path = f"/albums/{resource_id}/shares" if album else f"/media/{resource_id}/shares"
    created = state.api().request("POST", path, json=body)
    if as_json:
        emit_json(created)
        return
    if created.get("token"):
        address = created.get("url") or f"{state.profile().api}/links/{created['token']}"
        out.print(f"url: {address}\ntoken: {created['token']}", highlight=False, soft_wrap=True)
        err.print(f"link share {created['share_id']}: the token is shown only now, keep it", highlight=False)
        return
    out.print(f"share {created['share_id']}: {_describe(created)}", highlight=False, soft_wrap=True)


def _describe(grant: dict[str, Any]) -> str:
    grantee = grant["grantee"]
    until = f" until {when(grant['expires_at'])}" if grant.get("expires_at") else ""
    what = f"{grant['resource_type']} {grant['resource_id']}"
    return f"{grantee['type']} {grantee['name']} may {', '.join(grant['permissions'])} {what}{until}"


@click.command()
@click.argument("share_ids", nargs=-1, required=True)
@pass_state
def unshare(state: State, share_ids: tuple[str, ...]) -> None:
    """Revoke shares (and everything reshared from them)."""
    each(state.api(), share_ids, "DELETE", "/shares/{id}", "revoked")


@click.group(cls=DefaultGroup)
def shares() -> None:
    """Shares: yours (default), ones on an item or album, incoming ones; or edit one."""


@shares.command("ls")
@click.argument("resource_id", metavar="[ID]", required=False)
@click.option("--incoming", "direction", flag_value="incoming", help="What others shared with you.")
@click.option("--outgoing", "direction", flag_value="outgoing", help="What you shared (the default).")
@click.option("--album", is_flag=True, help="ID is an album.")
@click.option("--all", "everything", is_flag=True, help="Every page, not just the first.")
@json_option
@pass_state
def shares_ls(
    state: State, resource_id: str | None, direction: str | None, album: bool, everything: bool, as_json: bool
) -> None:
    """List shares: `shares ID` those on an item, `--incoming` what others shared with you, else yours."""
    if resource_id and direction:
        raise click.UsageError("give an ID or --incoming/--outgoing, not both")
    if album and not resource_id:
        raise click.UsageError("--album needs an album ID")
    api = state.api()
    if direction == "incoming":
        received = list(api.pages("/shares/incoming", {"limit": 100}, everything))
        if as_json:
            emit_json(received)
        else:
            out.print(incoming_table(received, "shared with you"))
        return
    if resource_id:
        kind = "albums" if album else "media"
        grants = api.request("GET", f"/{kind}/{resource_id}/shares")["items"]
        title = f"shares of {resource_id}"
    else:
        grants = list(api.pages("/shares/outgoing", {"limit": 100}, everything))
        title = "your shares"
    if as_json:
        emit_json(grants)
    else:
        out.print(_grants_table(grants, f"{title} ({len(grants)})"))


def _grants_table(grants: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    table.add_column("share id", no_wrap=True)
    for column in ("on", "to", "permissions", "expires", "status", "link"):
        table.add_column(column, overflow="fold")
    for g in grants:
        link = g.get("link")
        terms = ""
        if link:
            used = f"{link['uses']}/{link['max_uses']}" if link.get("max_uses") else str(link["uses"])
            terms = f"{used} uses" + (", password" if link["password_protected"] else "")
        table.add_row(
            g["share_id"],
            f"{g['resource_type']} {g['resource_id']}",
            escape(f"{g['grantee']['type']} {g['grantee']['name']}"),
            ", ".join(g["permissions"]),
            when(g.get("expires_at")),
            g["status"],
            terms,
        )
    return table


def incoming_table(received: list[dict[str, Any]], title: str) -> Table:
    """Items and albums shared with the caller, one a row, with the grant they came through."""
    table = Table(title=f"{title} ({len(received)})")
    table.add_column("share id", no_wrap=True)
    for column in ("what", "id", "name", "from", "permissions", "since", "expires"):
        table.add_column(column, overflow="fold")
    for r in received:
        grant = r["share"]
        if r.get("album"):
            name, what = r["album"]["title"], "album"
        else:
            media = r.get("media") or {}
            name, what = media.get("title") or media.get("filename", ""), media.get("kind", "media")
        table.add_row(
            grant["share_id"],
            what,
            grant["resource_id"],
            escape(name),
            escape(grant.get("owner_name") or grant["owner_id"][:8]),
            ", ".join(grant["permissions"]),
            when(grant["created_at"]),
            when(grant.get("expires_at")),
        )
    return table


@shares.command("edit")
@click.argument("share_id")
@_permission_option(None)
@expires_option
@expires_in_option
@click.option("--no-expiry", is_flag=True, help="Never expires.")
@json_option
@pass_state
def shares_edit(
    state: State,
    share_id: str,
    permissions: tuple[str, ...],
    expires: str | None,
    expires_in: str | None,
    no_expiry: bool,
    as_json: bool,
) -> None:
    """Change a share's permissions or expiry (reshares from it are trimmed to fit)."""
    body: dict[str, Any] = {}
    if permissions:
        body["permissions"] = sorted(set(permissions) | {"view"})
    until = expiry(expires, expires_in)
    if no_expiry and until:
        raise click.UsageError("--no-expiry excludes --expires and --expires-in")
    if until or no_expiry:
        body["expires_at"] = until
    if not body:
        raise click.UsageError("nothing to change (see mediavault shares edit --help)")
    changed = state.api().request("PATCH", f"/shares/{share_id}", json=body)
    if as_json:
        emit_json(changed)
    else:
        out.print(f"share {changed['share_id']}: {_describe(changed)}", highlight=False, soft_wrap=True)


COMMANDS = (share, shares, unshare)
