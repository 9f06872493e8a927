// The routes the admin and partner pages call (functions/api/{users,moderation,maintenance,analytics,audit}.py),
// typed as the API's response models; errors are the API's own (ApiError), as everywhere in the console.

import { Api, ApiError, Rendition, SharedPage } from "./api";
import type { Session } from "./auth";

export type Role = "user" | "partner" | "admin";
export type AccountStatus = "active" | "suspended";

/** GET /me, PUT /admin/users/{id}/status|quota: a vault account. */
export interface Account {
  user_id: string;
  username: string;
  email: string;
  role: Role;
  partner_org: string | null;
  status: AccountStatus;
  quota_bytes: number;
  created_at: string;
  last_seen_at: string;
}

/** A realm user joined with their vault account (`never_seen`: no account yet). */
export interface RealmUser {
  user_id: string;
  username: string;
  email: string;
  enabled: boolean;
  role: Role | null;
  partner_org: string | null;
  status: AccountStatus | "never_seen";
  last_seen_at: string | null;
}

export interface UserList {
  users: RealmUser[];
  first: number;
  max: number;
}

export type DescriptionProvider = "offline" | "bedrock";

export interface Settings {
  version: number;
  moderation_threshold: number;
  auto_describe: boolean;
  allowed_content_types: string[];
  max_image_bytes: number;
  max_upload_bytes: number;
  default_quota_bytes: number;
  description_provider: DescriptionProvider;
  trash_retention_days: number;
}

/** PATCH /admin/settings: the version read, and the settings changed (values as typed: the API validates). */
export type SettingsUpdate = { version: number } & Record<string, unknown>;

export interface SettingsChange {
  version: number;
  changes: Record<string, { old: unknown; new: unknown }>;
  changed_by: { user_id: string; username: string };
  changed_at: string;
}

export interface SettingsHistory {
  changes: SettingsChange[];
  next_cursor: string | null;
}

export interface QueuedMedia {
  media_id: string;
  owner_id: string;
  status: string;
  kind: "image" | "video";
  filename: string;
  title: string;
  score: number | null;
  moderation: Record<string, unknown> | null;
  flagged_at: string | null;
  second_look: boolean;
  renditions: Record<string, Rendition>;
}

export interface ModerationQueue {
  items: QueuedMedia[];
  next_cursor: string | null;
}

export type Decision = "approve" | "reject";

export interface ReviewOutcome {
  media_id: string;
  status: string;
  flagged: boolean;
  review: Record<string, unknown> | null;
  reviewer_id: string | null;
}

export interface AnalyticsDay {
  day: string;
  counts: Record<string, number>;
  latency_ms: Record<string, number | null>;
}

export interface Analytics {
  scope: "user" | "org" | "system";
  from_day: string;
  to_day: string;
  totals: Record<string, number>;
  latency_ms: Record<string, number | null>;
  storage: Record<string, { items: number; bytes: number }>;
  days: AnalyticsDay[];
}

/** Whose figures: the whole vault's (admins) or the caller's organisation's (partners). */
export type AnalyticsScope = "admin" | "partner";

export interface AuditFilters {
  actor?: string;
  resource?: string;
  action?: string;
  from?: string;
  to?: string;
}

export interface AuditRecord {
  entry_id: string;
  at: string;
  actor: string;
  actor_name: string;
  actor_role: string;
  action: string;
  resource: string;
  outcome: string;
  status: number;
  owner: string;
  source_ip: string;
  user_agent: string;
  request_id: string;
}

export interface AuditPage {
  entries: AuditRecord[];
  next_cursor: string | null;
}

export type JobStatus = "queued" | "running" | "done" | "failed";

export interface JobAccepted {
  job_id: string;
  kind: "reprocess" | "reconcile";
  status: JobStatus;
}

export interface Job extends JobAccepted {
  params: Record<string, string | boolean>;
  requested_by: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  processed: number;
  total: number | null;
  counts: Record<string, number>;
  findings: { kind: string; subject: string; detail: string }[];
  errors: string[];
}

export interface ReprocessRequest {
  media_id?: string;
  status?: string;
  type?: string;
  created_from?: string;
  created_to?: string;
}

export type DeadLetterQueueName = "processing" | "analysis" | "notifications";

export interface DeadLetterQueue {
  queue: DeadLetterQueueName;
  approximate_messages: number;
  messages: { message_id: string; receive_count: number; sent_at: number; summary: string }[];
}

function query(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

const path = encodeURIComponent;

export class AdminApi {
  constructor(
    private readonly api: Api,
    private readonly baseUrl: string,
    private readonly session: Session,
  ) {}

  me(): Promise<Account> {
    return this.api.call("GET", "/me");
  }

  listUsers(search: string, first: number, max: number): Promise<UserList> {
    return this.api.call("GET", `/admin/users${query({ search, first, max })}`);
  }

  setRole(userId: string, role: Role, partnerOrg: string | null): Promise<RealmUser> {
    return this.api.call("PUT", `/admin/users/${path(userId)}/role`, { role, partner_org: partnerOrg });
  }

  setStatus(userId: string, status: AccountStatus): Promise<Account> {
    return this.api.call("PUT", `/admin/users/${path(userId)}/status`, { status });
  }

  /** An account's own quota, or null: back to the default quota. */
  setQuota(userId: string, quotaBytes: number | null): Promise<Account> {
    return this.api.call("PUT", `/admin/users/${path(userId)}/quota`, { quota_bytes: quotaBytes });
  }

  settings(): Promise<Settings> {
    return this.api.call("GET", "/admin/settings");
  }

  changeSettings(update: SettingsUpdate): Promise<Settings> {
    return this.api.call("PATCH", "/admin/settings", update);
  }

  settingsHistory(cursor: string | null, limit = 20): Promise<SettingsHistory> {
    return this.api.call("GET", `/admin/settings/history${query({ limit, cursor })}`);
  }

  moderationQueue(cursor: string | null, limit = 20): Promise<ModerationQueue> {
    return this.api.call("GET", `/admin/moderation${query({ limit, cursor })}`);
  }

  decide(mediaId: string, decision: Decision, reason: string): Promise<ReviewOutcome> {
    return this.api.call("POST", `/admin/moderation/${path(mediaId)}`, { decision, reason });
  }

  analytics(scope: AnalyticsScope, from: string, to: string): Promise<Analytics> {
    return this.api.call("GET", `/${scope}/analytics${query({ from, to })}`);
  }

  /** The same figures as CSV (one row per day), fetched with the bearer token a plain link cannot carry. */
  async analyticsCsv(scope: AnalyticsScope, from: string, to: string): Promise<Blob> {
    const response = await fetch(`${this.baseUrl}/${scope}/analytics${query({ from, to, format: "csv" })}`, {
      headers: { Authorization: `Bearer ${await this.session.token()}` },
    });
    if (!response.ok) {
      const body = (await response.json().catch(() => null)) as { code?: string; message?: string } | null;
      throw new ApiError(response.status, body?.code ?? String(response.status), body?.message ?? `The API answered ${response.status}`);
    }
    return response.blob();
  }

  audit(filters: AuditFilters, cursor: string | null, limit = 50): Promise<AuditPage> {
    return this.api.call("GET", `/admin/audit${query({ ...filters, limit, cursor })}`);
  }

  reprocess(request: ReprocessRequest): Promise<JobAccepted> {
    return this.api.call("POST", "/admin/reprocess", request);
  }

  reconcile(fix: boolean): Promise<JobAccepted> {
    return this.api.call("POST", "/admin/reconcile", { fix });
  }

  job(jobId: string): Promise<Job> {
    return this.api.call("GET", `/admin/jobs/${path(jobId)}`);
  }

  deadLetters(limit = 5): Promise<{ queues: DeadLetterQueue[] }> {
    return this.api.call("GET", `/admin/dlq${query({ limit })}`);
  }

  redrive(queue: DeadLetterQueueName): Promise<{ queue: DeadLetterQueueName; moved: number }> {
    return this.api.call("POST", "/admin/dlq/redrive", { queue });
  }

  partnerMedia(cursor: string | null, limit = 24): Promise<SharedPage> {
    return this.api.call("GET", `/partner/media${query({ limit, cursor })}`);
  }
}

/** The text a person reads for a failed call: the API's message (with its field problems). */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.display;
  return error instanceof Error ? error.message : String(error);
}
