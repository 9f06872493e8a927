"""Analytics: the range asked for, and a scope's figures as JSON (CSV is rendered from the same report)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import Field

from functions.api.models.common import Query, Reply
from shared.domain.analytics import PERCENTILES, AnalyticsReport, DayFigures, report_columns

DEFAULT_DAYS = 30


class AnalyticsRange(Query):
    """GET /me|partner|admin/analytics: UTC days from..to (both included, at most 366), JSON or CSV."""

    from_: date | None = Field(default=None, alias="from", description="first UTC day (default: 29 days before to)")
    to: date | None = Field(default=None, description="last UTC day (default: today)")
    format: Literal["json", "csv"] = Field(default="json", description="csv: one row per day (text/csv)")

    def days(self) -> tuple[date, date]:
        """The first and last day asked for, defaults filled in."""
        last = self.to or datetime.now(UTC).date()
        first = self.from_ or last - timedelta(days=DEFAULT_DAYS - 1)
        return first, last


class StoredKind(Reply):
    """What a scope stores of one kind now (ready items only)."""

    items: int
    bytes: int


class AnalyticsDay(Reply):
    """One UTC day's counters (zeros included) and its processing latency percentiles (null: nothing processed)."""

    day: date
    counts: dict[str, int] = Field(examples=[{"items_uploaded": 3, "processed_ready": 3, "link_views": 2}])
    latency_ms: dict[str, float | None] = Field(examples=[{"p50": 180.5, "p90": 420.0, "p99": 950.0}])

    @classmethod
    def of(cls, figures: DayFigures) -> AnalyticsDay:
        """The body of one day."""
        return cls(day=figures.day, counts=figures.counts, latency_ms=figures.latency_ms)


class AnalyticsBody(Reply):
    """A scope's figures over a range: totals, latency percentiles over the range, storage by kind, each day."""

    scope: Literal["user", "org", "system"]
    from_day: date
    to_day: date
    totals: dict[str, int]
    latency_ms: dict[str, float | None]
    storage: dict[str, StoredKind] = Field(description="bytes and items stored now, by kind (image, video)")
    days: list[AnalyticsDay]

    @classmethod
    def of(cls, report: AnalyticsReport) -> AnalyticsBody:
        """The JSON body of a report."""
        kind = report.scope.partition("#")[0]
        return cls(
            scope="user" if kind == "user" else "org" if kind == "org" else "system",
            from_day=report.first,
            to_day=report.last,
            totals=report.totals,
            latency_ms=report.latency_ms,
            storage={name: StoredKind(**figures) for name, figures in report.storage.items()},
            days=[AnalyticsDay.of(day) for day in report.days],
        )


def csv_text(report: AnalyticsReport) -> str:
    """One row per day: the day, every counter, then the latency percentiles (empty: nothing processed)."""
    columns = report_columns()
    percentiles = [f"p{p}" for p in PERCENTILES]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["day", *columns, *(f"latency_{p}_ms" for p in percentiles)])
    for day in report.days:
        latency = ["" if day.latency_ms[p] is None else day.latency_ms[p] for p in percentiles]
        writer.writerow([day.day.isoformat(), *(day.counts[c] for c in columns), *latency])
    return out.getvalue()
