// The admins' operational pages: audit log search (GET /admin/audit) and maintenance (reprocess and reconcile
// jobs followed at GET /admin/jobs/{id}; the dead-letter queues and their redrive).

import { ConsolePage, field, StatusLine } from "./admin";
import { AdminApi, AuditFilters, AuditRecord, DeadLetterQueue, Job, JobAccepted } from "./admin_api";
import { h, replaceChildren } from "./dom";
import { moreButton, PagedList } from "./paging";

const JOB_POLL_MS = 1_000;

/** A datetime-local value ("2026-12-02T14:05", no offset) read as UTC, as the API reads a time without one. */
function utcInstant(value: string): string | undefined {
  return value ? `${value}Z` : undefined;
}

export class AuditView implements ConsolePage {
  readonly root: HTMLElement;
  private readonly form: HTMLFormElement;
  private readonly pages: PagedList<AuditRecord>;
  private filters: AuditFilters = {};

  constructor(private readonly admin: AdminApi) {
    const input = (name: string, type = "text"): HTMLInputElement => h("input", { id: `audit-${name}`, name, type, maxlength: 300 });
    this.form = h(
      "form",
      { class: "filters", role: "search", "aria-label": "Search the audit log", novalidate: true },
      field("audit-actor", "Actor (user id)", input("actor")),
      field("audit-resource", "Resource", input("resource"), "e.g. media#<id>"),
      field("audit-action", "Action", input("action"), "e.g. admin.settings.update"),
      field("audit-from", "From (UTC)", input("from", "datetime-local")),
      field("audit-to", "To (UTC)", input("to", "datetime-local")),
      h("button", { type: "submit" }, "Search"),
    );
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(this.form);
      const text = (name: string): string | undefined => String(data.get(name) ?? "").trim() || undefined;
      this.filters = {
        actor: text("actor"),
        resource: text("resource"),
        action: text("action"),
        from: utcInstant(text("from") ?? ""),
        to: utcInstant(text("to") ?? ""),
      };
      void this.load();
    });
    const rows = h("tbody");
    const status = new StatusLine();
    const more = moreButton();
    this.pages = new PagedList({
      list: rows,
      more,
      status,
      fetch: (cursor) => this.admin.audit(this.filters, cursor).then((page) => ({ items: page.entries, next_cursor: page.next_cursor })),
      render: auditRow,
      doneText: (count, hasMore) => (count === 0 ? "No entries match." : `${count} entr${count === 1 ? "y" : "ies"}${hasMore ? " so far" : ""}.`),
      loadingText: "Searching…",
      ariaBusy: false,
    });
    this.root = h(
      "section",
      { class: "admin-page", "aria-labelledby": "audit-heading" },
      h("h1", { id: "audit-heading" }, "Audit log"),
      this.form,
      status.el,
      h(
        "div",
        { class: "table-scroll", role: "region", "aria-label": "Audit entries", tabindex: 0 },
        h(
          "table",
          { class: "data audit" },
          h(
            "thead",
            {},
            h("tr", {}, ...["When", "Actor", "Action", "Resource", "Outcome", "Status"].map((t) => h("th", { scope: "col" }, t))),
          ),
          rows,
        ),
      ),
      more,
    );
  }

  load(): Promise<void> {
    return this.pages.reload();
  }
}

function auditRow(entry: AuditRecord): HTMLTableRowElement {
  return h(
    "tr",
    { "data-entry-id": entry.entry_id, "data-action": entry.action },
    h("td", {}, new Date(entry.at).toLocaleString()),
    h("td", { title: entry.actor }, `${entry.actor_name || entry.actor} (${entry.actor_role})`),
    h("td", {}, entry.action),
    h("td", { class: "resource" }, entry.resource),
    h("td", {}, entry.outcome),
    h("td", {}, String(entry.status)),
  );
}

function jobSummary(job: Job): HTMLElement {
  const counts = Object.entries(job.counts).map(([name, n]) => `${name.replace(/_/g, " ")} ${n}`).join(", ");
  return h(
    "div",
    { class: "job", "data-job-id": job.job_id, "data-status": job.status },
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Job"),
      h("dd", {}, h("code", {}, job.job_id)),
      h("dt", {}, "Kind"),
      h("dd", {}, job.kind),
      h("dt", {}, "Status"),
      h("dd", { class: "job-status" }, job.status),
      h("dt", {}, "Processed"),
      h("dd", {}, job.total === null ? String(job.processed) : `${job.processed} of ${job.total}`),
      h("dt", {}, "Counts"),
      h("dd", {}, counts || "–"),
    ),
    job.findings.length ? h("ul", { class: "findings", "aria-label": "Findings" }, ...job.findings.map((f) => h("li", {}, `${f.kind}: ${f.subject} — ${f.detail}`))) : null,
    job.errors.length ? h("ul", { class: "error", "aria-label": "Errors" }, ...job.errors.map((e) => h("li", {}, e))) : null,
  );
}

export class MaintenanceView implements ConsolePage {
  readonly root: HTMLElement;
  private readonly jobStatus = new StatusLine();
  private readonly jobBox = h("div", { class: "job-box", "aria-live": "polite" });
  private readonly queues = h("div", { class: "dlq" });
  private readonly dlqStatus = new StatusLine();
  private timer: number | undefined;
  private disposed = false;

  constructor(private readonly admin: AdminApi) {
    const status = h("select", { id: "reprocess-status", name: "status" });
    for (const [value, text] of [["", "Any status"], ["failed", "Failed"], ["ready", "Ready"], ["pending", "Pending"], ["processing", "Processing"], ["rejected", "Rejected"]]) {
      status.append(h("option", { value }, text));
    }
    const kind = h("select", { id: "reprocess-type", name: "type" }, h("option", { value: "" }, "Any type"), h("option", { value: "image" }, "Photos"), h("option", { value: "video" }, "Videos"));
    const mediaId = h("input", { id: "reprocess-media", name: "media_id", maxlength: 64 });
    const reprocess = h(
      "form",
      { class: "filters", "aria-labelledby": "reprocess-heading", novalidate: true },
      field("reprocess-media", "One item (media id)", mediaId, "or leave empty and choose filters"),
      field("reprocess-status", "Status", status),
      field("reprocess-type", "Type", kind),
      h("button", { type: "submit" }, "Reprocess"),
    );
    reprocess.addEventListener("submit", (event) => {
      event.preventDefault();
      const request = mediaId.value.trim()
        ? { media_id: mediaId.value.trim() }
        : { ...(status.value ? { status: status.value } : {}), ...(kind.value ? { type: kind.value } : {}) };
      void this.follow(this.admin.reprocess(request));
    });
    const report = h("button", { type: "button" }, "Reconcile: report only");
    report.addEventListener("click", () => void this.follow(this.admin.reconcile(false)));
    const fix = h("button", { type: "button", class: "destructive" }, "Reconcile and fix");
    fix.addEventListener("click", () => void this.follow(this.admin.reconcile(true)));
    const refresh = h("button", { type: "button" }, "Refresh queues");
    refresh.addEventListener("click", () => void this.loadQueues());
    this.root = h(
      "section",
      { class: "admin-page", "aria-labelledby": "maintenance-heading" },
      h("h1", { id: "maintenance-heading" }, "Maintenance"),
      h("h2", { id: "reprocess-heading" }, "Reprocess"),
      reprocess,
      h("h2", {}, "Reconcile"),
      h("p", {}, "Compares the bucket, the media table and the quota counters; fixing repairs what disagrees."),
      h("div", { class: "actions" }, report, fix),
      this.jobStatus.el,
      this.jobBox,
      h("h2", {}, "Dead-letter queues"),
      refresh,
      this.dlqStatus.el,
      this.queues,
    );
  }

  load(): Promise<void> {
    return this.loadQueues();
  }

  dispose(): void {
    this.disposed = true;
    window.clearTimeout(this.timer);
  }

  /** Show the accepted job's id, then its progress until it is done or failed. */
  private async follow(accepted: Promise<JobAccepted>): Promise<void> {
    window.clearTimeout(this.timer);
    replaceChildren(this.jobBox);
    this.jobStatus.say("Submitting…");
    let job: JobAccepted;
    try {
      job = await accepted;
    } catch (error) {
      this.jobStatus.fail(error);
      return;
    }
    this.jobStatus.say(`Job ${job.job_id} accepted (${job.kind}).`);
    const poll = async (): Promise<void> => {
      try {
        const progress = await this.admin.job(job.job_id);
        if (this.disposed) return;
        replaceChildren(this.jobBox, jobSummary(progress));
        if (progress.status === "done" || progress.status === "failed") {
          this.jobStatus.say(`Job ${job.job_id} ${progress.status}.`);
          return;
        }
      } catch (error) {
        this.jobStatus.fail(error);
        return;
      }
      this.timer = window.setTimeout(() => void poll(), JOB_POLL_MS);
    };
    await poll();
  }

  private async loadQueues(): Promise<void> {
    this.dlqStatus.say("Loading…");
    try {
      const report = await this.admin.deadLetters();
      replaceChildren(this.queues, ...report.queues.map((queue) => this.queueCard(queue)));
      this.dlqStatus.say("");
    } catch (error) {
      this.dlqStatus.fail(error);
    }
  }

  private queueCard(queue: DeadLetterQueue): HTMLElement {
    const status = new StatusLine();
    const redrive = h("button", { type: "button", "aria-label": `Redrive the ${queue.queue} dead letters`, disabled: queue.approximate_messages === 0 }, "Redrive");
    redrive.addEventListener("click", () => {
      redrive.disabled = true;
      status.say("Moving messages back…");
      this.admin.redrive(queue.queue).then(
        (result) => {
          status.say(`Moved ${result.moved} message${result.moved === 1 ? "" : "s"} back to ${result.queue}.`);
          void this.loadQueues();
        },
        (error: unknown) => {
          redrive.disabled = false;
          status.fail(error);
        },
      );
    });
    return h(
      "article",
      { class: "dlq-queue", "data-queue": queue.queue, "aria-labelledby": `dlq-${queue.queue}` },
      h("h3", { id: `dlq-${queue.queue}` }, `${queue.queue}: about ${queue.approximate_messages} message${queue.approximate_messages === 1 ? "" : "s"}`),
      queue.messages.length
        ? h(
            "ul",
            {},
            ...queue.messages.map((m) => h("li", {}, `${new Date(m.sent_at).toLocaleString()} · received ${m.receive_count}× · ${m.summary}`)),
          )
        : null,
      redrive,
      status.el,
    );
  }
}
