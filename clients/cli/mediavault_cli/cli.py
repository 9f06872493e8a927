"""The `mediavault` command: parses options, calls the API through Api/Uploader/Downloader, prints results."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from mediavault_cli.api import Api
from mediavault_cli.config import load_profile
from mediavault_cli.download import Downloader
from mediavault_cli.errors import CliError
from mediavault_cli.upload import Uploader, collect

T = TypeVar("T")
R = TypeVar("R")

out = Console()
err = Console(stderr=True)

json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")


class State:
    """Options every command shares."""

    def __init__(self, profile: str, api: str | None, issuer: str | None, verbose: bool) -> None:
        self.profile_name, self.api_url, self.issuer, self.verbose = profile, api, issuer, verbose

    def profile(self) -> Any:
        return load_profile(self.profile_name, self.api_url, self.issuer)

    def api(self) -> Api:
        return Api(self.profile())


pass_state = click.make_pass_decorator(State)


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


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.fields[phase]:>5}[/] {task.description}", table_column=None),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


# --- account ---------------------------------------------------------------------------------------


@cli.command()
@click.option("--username", "-u", prompt=True)
@click.option("--password", "-p", prompt=True, hide_input=True)
@pass_state
def login(state: State, username: str, password: str) -> None:
    """Log in (password grant) and keep the tokens in this profile."""
    api = state.api()
    api.identity.password(username, password)
    err.print(f"logged in as [bold]{escape(username)}[/] at {api.profile.api} (profile {api.profile.name})")


@cli.command()
@pass_state
def logout(state: State) -> None:
    """Forget this profile's tokens."""
    profile = state.profile()
    had = profile.forget_tokens()
    err.print("logged out" if had else "was not logged in")


# --- upload ----------------------------------------------------------------------------------------


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--include", multiple=True, metavar="GLOB", help="Only files matching (name or relative path).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files matching.")
@click.option("--jobs", "-j", default=4, show_default=True, type=click.IntRange(1, 32), help="Files in parallel.")
@click.option("--wait/--no-wait", default=True, help="Wait for processing and report its outcome.")
@click.option("--wait-timeout", default=300.0, show_default=True, help="Seconds to wait for processing per file.")
@click.option("--force", is_flag=True, help="Upload even when the vault already holds the same bytes.")
@json_option
@pass_state
def upload(
    state: State,
    paths: tuple[Path, ...],
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    jobs: int,
    wait: bool,
    wait_timeout: float,
    force: bool,
    as_json: bool,
) -> None:
    """Upload files and folders (recursively); exits non-zero if any file failed."""
    files = collect(paths, include, exclude)
    if not files:
        raise CliError("nothing to upload")
    api = state.api()
    api.request("GET", "/me")  # fail once, early, on a bad token or an unreachable API, not once per file
    with progress_bar() as progress:
        overall = progress.add_task(f"{len(files)} files", total=sum(f.stat().st_size for f in files), phase="all")
        uploader = Uploader(api, progress, overall, wait=wait, wait_timeout=wait_timeout, force=force)
        outcomes = _in_parallel(uploader.upload, files, jobs)
    if as_json:
        emit_json([o.as_json() for o in outcomes])
    else:
        table = Table(title="upload")
        table.add_column("file", overflow="fold")
        table.add_column("result")
        table.add_column("media id", no_wrap=True)
        table.add_column("detail", overflow="fold")
        styles = {"ready": "green", "duplicate": "cyan", "uploaded": "green", "processing": "yellow"}
        for o in outcomes:
            style = styles.get(o.result, "red")
            table.add_row(escape(_relative(o.path)), f"[{style}]{o.result}[/]", o.media_id or "", escape(o.detail))
        out.print(table)
        counts: dict[str, int] = {}
        for o in outcomes:
            counts[o.result] = counts.get(o.result, 0) + 1
        out.print(", ".join(f"{n} {r}" for r, n in sorted(counts.items())))
    failed = [o for o in outcomes if o.failed]
    if failed:
        raise CliError(f"{len(failed)} of {len(outcomes)} files failed")


def _in_parallel(work: Callable[[T], R], inputs: list[T], jobs: int) -> list[R]:  # noqa: UP047 - runs on 3.10
    """work(input) on `jobs` threads, results in input order; Ctrl-C drops what has not started."""
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        return list(pool.map(work, inputs))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _relative(path: str) -> str:
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


# --- library ---------------------------------------------------------------------------------------


def _listing(api: Api, path: str, params: dict[str, Any], everything: bool) -> Iterator[dict[str, Any]]:
    """Items of a listing, following next_cursor when asked for all of them."""
    query = {k: v for k, v in params.items() if v is not None}
    while True:
        page = api.request("GET", path, params=query)
        yield from page["items"]
        if not everything or not page.get("next_cursor"):
            return
        query["cursor"] = page["next_cursor"]


def _media_table(items: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    table.add_column("media id", no_wrap=True)
    for column in ("status", "kind", "filename", "size", "created"):
        table.add_column(column, overflow="fold", justify="right" if column == "size" else "left")
    for item in items:
        created = item["created_at"][:19].replace("T", " ")
        name = escape(item["filename"])
        table.add_row(item["media_id"], item["status"], item["kind"], name, _human(item["size"]), created)
    return table


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


def listing_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option("--type", "kind", type=click.Choice(["photo", "video"])),
            click.option("--status", type=click.Choice(["pending", "processing", "ready", "failed", "rejected"])),
            click.option("--tag"),
            click.option("--query", "-q", "text", help="Text in filename, title or description."),
            click.option("--created-from", metavar="ISO"),
            click.option("--created-to", metavar="ISO"),
            click.option("--taken-from", metavar="ISO"),
            click.option("--taken-to", metavar="ISO"),
            click.option("--sort", type=click.Choice(["created", "taken"]), default="created", show_default=True),
            click.option("--order", type=click.Choice(["asc", "desc"]), default="desc", show_default=True),
            click.option("--limit", type=click.IntRange(1, 100), default=50, show_default=True, help="Page size."),
            click.option("--all", "everything", is_flag=True, help="Every page, not just the first."),
            json_option,
        ]
    ):
        command = option(command)
    return command


@cli.command("ls")
@listing_options
@pass_state
def list_media(state: State, /, everything: bool, as_json: bool, **filters: Any) -> None:
    """List your media, newest first."""
    _print_listing(state.api(), "/media", filters, everything, as_json, "media")


def _print_listing(api: Api, path: str, filters: dict[str, Any], everything: bool, as_json: bool, title: str) -> None:
    params = {**filters, "type": filters.pop("kind", None), "q": filters.pop("text", None)}
    params.pop("kind", None)
    params.pop("text", None)
    items = list(_listing(api, path, params, everything))
    if as_json:
        emit_json(items)
    else:
        out.print(_media_table(items, f"{title} ({len(items)})"))


@cli.command()
@click.argument("media_id")
@json_option
@pass_state
def info(state: State, media_id: str, as_json: bool) -> None:
    """Show one item: status, metadata, renditions."""
    item = state.api().request("GET", f"/media/{media_id}")
    if as_json:
        emit_json(item)
        return
    table = Table(show_header=False, title=escape(item["filename"]))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in item.items():
        if value in (None, "", [], {}):
            continue
        shown = json.dumps(value, indent=1) if isinstance(value, dict | list) else str(value)
        table.add_row(key, escape(shown))
    out.print(table)


@cli.command()
@click.argument("media_ids", nargs=-1)
@click.option("--all", "folder", type=click.Path(path_type=Path, file_okay=False), help="Every ready item into DIR.")
@click.option("--out", "-o", "dest", type=click.Path(path_type=Path, file_okay=False), help="Folder for MEDIA_IDS.")
@click.option("--jobs", "-j", default=4, show_default=True, type=click.IntRange(1, 32))
@json_option
@pass_state
def download(
    state: State, media_ids: tuple[str, ...], folder: Path | None, dest: Path | None, jobs: int, as_json: bool
) -> None:
    """Download originals by id, or --all DIR; resumes partial files and checks SHA-256."""
    if bool(media_ids) == bool(folder):
        raise click.UsageError("give media ids or --all DIR (not both)")
    api = state.api()
    target = folder or dest or Path.cwd()
    ids = list(media_ids) or [i["media_id"] for i in _listing(api, "/media", {"status": "ready", "limit": 100}, True)]
    target.mkdir(parents=True, exist_ok=True)
    with progress_bar() as progress:
        downloader = Downloader(api, target, progress)
        results = _in_parallel(downloader.fetch, ids, jobs)
    if as_json:
        emit_json([r.as_json() for r in results])
    else:
        table = Table(title=f"download into {target}")
        for column in ("media id", "result", "file", "detail"):
            table.add_column(column, overflow="fold")
        for r in results:
            style = "red" if r.failed else "green"
            table.add_row(escape(r.media_id), f"[{style}]{r.result}[/]", escape(r.path), escape(r.detail))
        out.print(table)
    failed = [r for r in results if r.failed]
    if failed:
        raise CliError(f"{len(failed)} of {len(results)} downloads failed")


# --- trash -----------------------------------------------------------------------------------------


def _each(state: State, media_ids: tuple[str, ...], method: str, path: str, done: str) -> None:
    """One call per id; every id is tried, failures are listed, the exit status says whether all worked."""
    api = state.api()
    failures = 0
    for media_id in media_ids:
        try:
            api.request(method, path.format(media_id=media_id))
            err.print(f"{done} {media_id}")
        except CliError as exc:
            failures += 1
            err.print(f"[red]error[/]: {escape(media_id)}: {escape(str(exc))}", highlight=False, soft_wrap=True)
    if failures:
        raise CliError(f"{failures} of {len(media_ids)} failed")


@cli.command()
@click.argument("media_ids", nargs=-1, required=True)
@pass_state
def rm(state: State, media_ids: tuple[str, ...]) -> None:
    """Move items to the trash."""
    _each(state, media_ids, "DELETE", "/media/{media_id}", "trashed")


@cli.command()
@click.argument("media_ids", nargs=-1, required=True)
@pass_state
def restore(state: State, media_ids: tuple[str, ...]) -> None:
    """Bring items back from the trash."""
    _each(state, media_ids, "POST", "/media/{media_id}/restore", "restored")


@cli.group(invoke_without_command=True)
@click.pass_context
def trash(ctx: click.Context) -> None:
    """The trash: list it (default), or purge items for good."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(trash_ls)


@trash.command("ls")
@listing_options
@pass_state
def trash_ls(state: State, /, everything: bool = False, as_json: bool = False, **filters: Any) -> None:
    """List the trash."""
    _print_listing(state.api(), "/trash", filters, everything, as_json, "trash")


@trash.command()
@click.argument("media_ids", nargs=-1, required=True)
@click.confirmation_option(prompt="Delete these items for good?")
@pass_state
def purge(state: State, media_ids: tuple[str, ...]) -> None:
    """Delete trashed items for good (every version and rendition)."""
    _each(state, media_ids, "DELETE", "/trash/{media_id}", "purged")


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
