"""Your own data: export everything (GDPR), or delete your account and everything in it."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mediavault_cli import auth
from mediavault_cli.api import Api, storage_message, with_retries
from mediavault_cli.context import State, pass_state
from mediavault_cli.download import CHUNK, safe_name
from mediavault_cli.errors import ApiError, CliError
from mediavault_cli.output import emit_json, err, human_size, json_option, out, progress_bar

# How often an export's progress is asked for while it is built.
POLL_SECONDS = 2.0


# --- export ----------------------------------------------------------------------------------------


@click.command("export")
@click.option(
    "--dir", "folder", default=".", show_default=True, type=click.Path(file_okay=False, path_type=Path),
    help="Where the archive's volumes are saved.",
)  # fmt: skip
@click.option("--job", "job_id", metavar="JOB_ID", help="Follow (and download) an export already started.")
@click.option("--wait/--no-wait", default=True, help="Wait for the archive and download it (else print its job id).")
@click.option("--timeout", default=3600.0, show_default=True, help="Seconds to wait for the archive to be built.")
@json_option
@pass_state
def export(state: State, folder: Path, job_id: str | None, wait: bool, timeout: float, as_json: bool) -> None:
    """Export all your data: every version of each original, renditions, metadata, grants, albums,
    notifications and your audit entries, as one or more zip volumes (a large library comes in several)."""
    api = state.api()
    if not job_id:
        accepted = api.request("POST", "/me/export")
        job_id = str(accepted["job_id"])
        if not as_json:
            err.print(f"export {job_id} started", highlight=False)
    if not wait:
        if as_json:
            emit_json(api.request("GET", f"/me/export/{job_id}"))
        else:
            err.print(f"follow it with `mediavault export --job {job_id}`", highlight=False)
        return
    progress = _until_built(api, job_id, timeout)
    if progress["status"] == "failed":
        raise CliError(f"export {job_id} failed: {progress.get('error') or 'no reason given'}")
    volumes = progress.get("volumes") or (
        [{"url": progress["download_url"], "name": f"media-vault-export-{job_id}.zip", "size": None}]
        if progress.get("download_url")
        else []
    )
    folder.mkdir(parents=True, exist_ok=True)
    saved = _download(api, volumes, folder)
    if as_json:
        emit_json({**{k: v for k, v in progress.items() if k not in ("download_url", "volumes")}, "files": saved})
        return
    table = Table(title=f"export {job_id}: {progress['items_done']} items in {len(saved)} volume(s)")
    table.add_column("file", overflow="fold")
    table.add_column("size", justify="right")
    for entry in saved:
        table.add_row(escape(entry["path"]), human_size(entry["size"]))
    out.print(table)


def _until_built(api: Api, job_id: str, timeout: float) -> dict[str, Any]:
    """Poll the export with a progress bar (items written of items in all) until it is done or failed."""
    deadline = time.monotonic() + timeout
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("building your export", total=None)
        while True:
            progress: dict[str, Any] = api.request("GET", f"/me/export/{job_id}")
            total = progress.get("items_total") or None
            bar.update(task, completed=progress.get("items_done") or 0, total=total)
            if progress["status"] in ("done", "failed"):
                return progress
            if time.monotonic() > deadline:
                raise CliError(
                    f"export {job_id} not finished after {timeout:.0f} s (status {progress['status']}, "
                    f"{progress['items_done']} of {progress['items_total']} items): `mediavault export --job {job_id}` "
                    "goes on waiting"
                )
            time.sleep(POLL_SECONDS)


def _download(api: Api, volumes: list[dict[str, Any]], folder: Path) -> list[dict[str, Any]]:
    """Every volume into folder (through a .part file), its size checked against what the API announced."""
    saved: list[dict[str, Any]] = []
    with progress_bar() as progress:
        for number, volume in enumerate(volumes, start=1):
            target = folder / safe_name(str(volume.get("name") or ""), f"export-{number:03d}.zip")
            partial = target.with_name(target.name + ".part")
            expected = volume.get("size")
            task = progress.add_task(target.name, total=expected or None, phase="get")
            try:
                get = functools.partial(api.http.get, str(volume["url"]), stream=True, timeout=(5, 300))
                response = with_retries(get, "storage")
                if response.status_code >= 400:
                    raise ApiError(response.status_code, "storage_error", storage_message(response))
                if expected is None and response.headers.get("Content-Length"):
                    expected = int(response.headers["Content-Length"])
                    progress.update(task, total=expected)
                size = 0
                try:
                    with partial.open("wb") as file:
                        for chunk in response.iter_content(CHUNK):
                            file.write(chunk)
                            size += len(chunk)
                            progress.advance(task, len(chunk))
                except OSError as exc:
                    partial.unlink(missing_ok=True)
                    raise CliError(f"cannot write {partial}: {exc.strerror or exc}") from exc
                if expected is not None and size != expected:
                    partial.unlink(missing_ok=True)
                    raise CliError(f"{target.name}: got {size} bytes, expected {expected}; run the command again")
                partial.replace(target)
            finally:
                progress.remove_task(task)
            saved.append({"name": volume.get("name"), "path": str(target), "size": size})
    return saved


# --- account ---------------------------------------------------------------------------------------


@click.group()
def account() -> None:
    """Your account itself."""


@account.command("delete")
@click.option("--yes", is_flag=True, help="Confirm: erase your account and all your data, for good.")
@json_option
@pass_state
def account_delete(state: State, yes: bool, as_json: bool) -> None:
    """Delete your account and everything in it, for good (export it first if you want to keep a copy).

    Erases every item with all its versions and renditions, your albums, shares (both ways), links,
    notifications and exports; the audit log keeps its entries under a pseudonym. Your tokens stop working at once
    and this profile forgets them; the erasure goes on in the background.
    """
    profile = state.profile()
    who = profile.stored.get("username") or "this profile's user"
    if not yes:
        raise CliError(
            f"not deleting without --yes: `account delete --yes` erases {who}'s account at {profile.api} and every "
            "item, version, album, share, link, notification and export in it, for good"
        )
    api = Api(profile)
    accepted = api.request("DELETE", "/me")
    # From this answer on the vault refuses the account's tokens: revoke the session and forget them, as logout.
    auth.logout(api.profile, api.http, lambda text: err.print(escape(text), soft_wrap=True))
    if as_json:
        emit_json(accepted)
        return
    err.print(
        f"account of {escape(str(who))} deleted: its data is being erased (job {accepted['job_id']}); "
        "this profile is logged out",
        highlight=False,
        soft_wrap=True,
    )


COMMANDS = (export, account)
