"""Moving bytes: upload (new items or a new version of one) and download."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import click
from rich.markup import escape
from rich.table import Table

from mediavault_cli.context import State, pass_state
from mediavault_cli.download import Downloader
from mediavault_cli.errors import CliError
from mediavault_cli.output import emit_json, json_option, out, progress_bar
from mediavault_cli.upload import Outcome, Uploader, collect

T = TypeVar("T")
R = TypeVar("R")
THREADS_PER_SEND = 2


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--include", multiple=True, metavar="GLOB", help="Only files matching (name or relative path).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files matching.")
@click.option("--jobs", "-j", default=4, show_default=True, type=click.IntRange(1, 32), help="Files sent at once.")
@click.option("--wait/--no-wait", default=True, help="Wait for processing and report its outcome.")
@click.option("--wait-timeout", default=300.0, show_default=True, help="Seconds to wait for processing per file.")
@click.option("--force", is_flag=True, help="Upload even when the vault already holds the same bytes.")
@click.option("--new-version", "new_version_of", metavar="MEDIA_ID", help="Replace this item's original with FILE.")
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
    new_version_of: str | None,
    as_json: bool,
) -> None:
    """Upload files and folders (recursively); exits non-zero if any file failed."""
    files = collect(paths, include, exclude)
    if not files:
        raise CliError("nothing to upload")
    if new_version_of and (len(files) != 1 or force):
        raise click.UsageError("--new-version takes exactly one file (and no --force)")
    api = state.api()
    api.request("GET", "/me")  # fail once, early, on a bad token or an unreachable API, not once per file
    # Twice as many threads as sends: while `jobs` files are on the wire, as many more are hashed and declared
    # (on a bulk upload of 5 MB photos declaring took as long as sending; bench: tests/perf/test_bench_cli_upload.py).
    threads = jobs * THREADS_PER_SEND
    api.pool(threads)
    with progress_bar() as progress:
        overall = progress.add_task(f"{len(files)} files", total=sum(f.stat().st_size for f in files), phase="all")
        uploader = Uploader(
            api,
            progress,
            overall,
            wait=wait,
            wait_timeout=wait_timeout,
            force=force,
            new_version_of=new_version_of,
            transfers=jobs,
        )
        # Hashed and declared in groups ahead of the senders (one POST /uploads/batch per group).
        uploader.declare_ahead(files)
        outcomes = in_parallel(uploader.upload, files, threads)
    if as_json:
        emit_json([o.as_json() for o in outcomes])
    else:
        _print_outcomes(outcomes)
    failed = [o for o in outcomes if o.failed]
    if failed:
        raise CliError(f"{len(failed)} of {len(outcomes)} files failed")


def _print_outcomes(outcomes: list[Outcome]) -> None:
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


def in_parallel(work: Callable[[T], R], inputs: list[T], jobs: int) -> list[R]:  # noqa: UP047 - runs on 3.10
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


@click.command()
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
    ids = list(media_ids) or [i["media_id"] for i in api.pages("/media", {"status": "ready", "limit": 100}, True)]
    target.mkdir(parents=True, exist_ok=True)
    with progress_bar() as progress:
        downloader = Downloader(api, target, progress)
        results = in_parallel(downloader.fetch, ids, jobs)
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


COMMANDS = (upload, download)
