"""What the command prints: JSON for scripts on stdout, rich tables for people, messages and progress on stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

out = Console()
err = Console(stderr=True)

json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")


def emit_json(data: Any) -> None:
    """Data as indented JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def progress_bar() -> Progress:
    """Per-file bars and a total, on stderr, cleared when done (the summary table stays). Off when stderr is not a
    terminal (a pipe, a CI log): nobody sees the bars, and Rich would still lay them out ten times a second."""
    return Progress(
        TextColumn("[bold]{task.fields[phase]:>5}[/] {task.description}", table_column=None),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def human_size(size: int) -> str:
    """1536 -> '1.5 KiB'."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


def when(timestamp: str | None) -> str:
    """An ISO timestamp to the second, as a person reads it; '' for none."""
    return (timestamp or "")[:19].replace("T", " ")


def record_table(record: dict[str, Any], title: str) -> Table:
    """Field / value rows of one object, leaving out empty values."""
    table = Table(show_header=False, title=escape(title))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in record.items():
        if value in (None, "", [], {}):
            continue
        shown = json.dumps(value, indent=1) if isinstance(value, dict | list) else str(value)
        table.add_row(key, escape(shown))
    return table


def media_table(items: list[dict[str, Any]], title: str) -> Table:
    """Media items, one a row."""
    table = Table(title=title)
    table.add_column("media id", no_wrap=True)
    for column in ("status", "kind", "filename", "size", "created"):
        table.add_column(column, overflow="fold", justify="right" if column == "size" else "left")
    for item in items:
        name = escape(item["filename"])
        table.add_row(
            item["media_id"], item["status"], item["kind"], name, human_size(item["size"]), when(item["created_at"])
        )
    return table
