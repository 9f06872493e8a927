// Analytics over a date range (GET /admin/analytics, GET /partner/analytics): totals, one counter's daily bars as
// inline SVG (the same figures as a table for screen readers), and the CSV the API renders.

import { AdminApi, Analytics, AnalyticsScope, errorText } from "./admin_api";
import { formatBytes, h, replaceChildren } from "./dom";

const SVG = "http://www.w3.org/2000/svg";
const DAY_MS = 86_400_000;
const DEFAULT_DAYS = 30;

const METRIC_LABEL: Record<string, string> = {
  items_uploaded: "Items uploaded",
  bytes_uploaded: "Bytes uploaded",
  processed_ready: "Processed (ready)",
  processed_failed: "Processing failed",
  processed_rejected: "Rejected by moderation",
  moderation_flagged: "Flagged for moderation",
  shares_created: "Shares created",
  shares_received: "Shares received",
  grant_views: "Views through shares",
  grant_downloads: "Downloads through shares",
  link_views: "Link views",
  link_downloads: "Link downloads",
  active_users: "Active users",
};

function label(metric: string): string {
  return METRIC_LABEL[metric] ?? metric.replace(/_/g, " ");
}

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  return el;
}

/** Daily bars of one counter; the picture is labelled with its range and peak, each bar carries its own title. */
export function dailyBars(report: Analytics, metric: string): SVGSVGElement {
  const width = 640;
  const height = 200;
  const top = 10;
  const bottom = 24;
  const values = report.days.map((d) => d.counts[metric] ?? 0);
  const peak = Math.max(1, ...values);
  const slot = width / Math.max(1, values.length);
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "bars",
    role: "img",
    "aria-label": `${label(metric)} per day, ${report.from_day} to ${report.to_day}: ${values.reduce((a, b) => a + b, 0)} in all, at most ${Math.max(0, ...values)} a day`,
  });
  chart.append(svg("line", { x1: 0, y1: height - bottom, x2: width, y2: height - bottom, class: "axis" }));
  report.days.forEach((day, i) => {
    const value = values[i] ?? 0;
    const barHeight = ((height - top - bottom) * value) / peak;
    const bar = svg("rect", {
      x: i * slot + slot * 0.15,
      y: height - bottom - barHeight,
      width: slot * 0.7,
      height: Math.max(barHeight, value > 0 ? 1 : 0),
      class: "bar",
      "data-day": day.day,
      "data-value": value,
    });
    const title = svg("title", {});
    title.textContent = `${day.day}: ${value}`;
    bar.append(title);
    chart.append(bar);
  });
  // First and last day under the axis: enough to read the range without crowding a phone's width.
  const ends: [number, "start" | "end"][] = values.length > 1 ? [[0, "start"], [values.length - 1, "end"]] : [[0, "start"]];
  for (const [i, anchor] of ends) {
    const day = report.days[i];
    if (!day) continue;
    const text = svg("text", { x: anchor === "start" ? 0 : width, y: height - 6, "text-anchor": anchor, class: "tick" });
    text.textContent = day.day;
    chart.append(text);
  }
  return chart;
}

/** The analytics page of one scope: range form, totals, chart, figures table, CSV download. */
export class AnalyticsView {
  readonly root: HTMLElement;
  private readonly from: HTMLInputElement;
  private readonly to: HTMLInputElement;
  private readonly metric: HTMLSelectElement;
  private readonly message: HTMLElement;
  private readonly figures: HTMLElement;
  private readonly download: HTMLButtonElement;
  private report: Analytics | null = null;

  constructor(
    private readonly admin: AdminApi,
    private readonly scope: AnalyticsScope,
  ) {
    const today = new Date();
    this.to = h("input", { id: "analytics-to", name: "to", type: "date", value: isoDay(today), required: true });
    this.from = h("input", {
      id: "analytics-from",
      name: "from",
      type: "date",
      value: isoDay(new Date(today.getTime() - (DEFAULT_DAYS - 1) * DAY_MS)),
      required: true,
    });
    this.metric = h("select", { id: "analytics-metric", name: "metric" });
    for (const metric of Object.keys(METRIC_LABEL)) this.metric.append(h("option", { value: metric }, label(metric)));
    this.metric.addEventListener("change", () => this.draw());
    const form = h(
      "form",
      { class: "filters", "aria-label": "Date range", novalidate: true },
      h("div", { class: "field" }, h("label", { for: "analytics-from" }, "From (UTC day)"), this.from),
      h("div", { class: "field" }, h("label", { for: "analytics-to" }, "To (UTC day)"), this.to),
      h("button", { type: "submit" }, "Show"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.load();
    });
    this.download = h("button", { type: "button" }, "Download CSV");
    this.download.addEventListener("click", () => void this.downloadCsv());
    this.message = h("p", { class: "message", role: "status" });
    this.figures = h("div", { class: "analytics-figures" });
    const title = scope === "admin" ? "System analytics" : "Organisation analytics";
    this.root = h(
      "section",
      { class: "analytics", "aria-labelledby": "analytics-heading" },
      h("h1", { id: "analytics-heading" }, title),
      h(
        "p",
        {},
        scope === "admin"
          ? "The whole vault's figures per UTC day, with active users and storage by kind."
          : "Your organisation's figures per UTC day: items shared with it, views and downloads by its partners.",
      ),
      form,
      this.message,
      h("div", { class: "field" }, h("label", { for: "analytics-metric" }, "Chart"), this.metric),
      this.figures,
      this.download,
    );
  }

  async load(): Promise<void> {
    this.message.setAttribute("role", "status");
    this.message.textContent = "Loading…";
    try {
      this.report = await this.admin.analytics(this.scope, this.from.value, this.to.value);
      this.message.textContent = "";
      this.draw();
    } catch (error) {
      this.report = null;
      replaceChildren(this.figures);
      this.message.setAttribute("role", "alert");
      this.message.textContent = errorText(error);
    }
  }

  private draw(): void {
    const report = this.report;
    if (!report) return;
    const metric = this.metric.value;
    const totals = h("dl", { class: "facts totals", "aria-label": "Totals over the range" });
    for (const [name, value] of Object.entries(report.totals)) {
      if (!(name in METRIC_LABEL)) continue; // the latency histogram's buckets are summarised by the percentiles
      totals.append(h("dt", {}, label(name)), h("dd", {}, name === "bytes_uploaded" ? formatBytes(value) : String(value)));
    }
    for (const [name, value] of Object.entries(report.latency_ms)) {
      totals.append(h("dt", {}, `Processing latency ${name}`), h("dd", {}, value === null ? "–" : `${Math.round(value)} ms`));
    }
    for (const [kind, stored] of Object.entries(report.storage)) {
      totals.append(h("dt", {}, `Stored ${kind}s`), h("dd", {}, `${stored.items} items, ${formatBytes(stored.bytes)}`));
    }
    const table = h(
      "table",
      { class: "data" },
      h("caption", {}, `${label(metric)} per day`),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Day"), h("th", { scope: "col" }, label(metric)))),
      h("tbody", {}, ...report.days.map((d) => h("tr", {}, h("th", { scope: "row" }, d.day), h("td", {}, String(d.counts[metric] ?? 0))))),
    );
    const chart = h("figure", { class: "chart" }, dailyBars(report, metric), h("figcaption", {}, `${label(metric)} per day, ${report.from_day} to ${report.to_day}`));
    replaceChildren(
      this.figures,
      h("h2", {}, "Totals"),
      totals,
      h("h2", {}, "Per day"),
      chart,
      h("details", {}, h("summary", {}, "The figures as a table"), table),
    );
  }

  private async downloadCsv(): Promise<void> {
    this.message.setAttribute("role", "status");
    this.message.textContent = "Preparing the CSV…";
    try {
      const blob = await this.admin.analyticsCsv(this.scope, this.from.value, this.to.value);
      const url = URL.createObjectURL(blob);
      const link = h("a", { href: url, download: `analytics-${this.from.value}-${this.to.value}.csv`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      this.message.textContent = "CSV downloaded.";
    } catch (error) {
      this.message.setAttribute("role", "alert");
      this.message.textContent = errorText(error);
    }
  }
}
