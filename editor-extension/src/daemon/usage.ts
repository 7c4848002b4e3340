// Token usage for the ARGO view and the status bar: the daemon's `usage.get` report
// when it has that method, else the same report added up here from the records the
// editor has seen (`requests.list` at connect, then each `request.finished`).
// Plain Node.
import { MethodMissing, UsageBy, UsageQuery, UsageTime } from "./protocol";
import type { RequestRecord } from "./records";

// `usage.get`'s wire types live in protocol.ts; named here too for the views.
export type { UsageBy, UsageQuery, UsageTime } from "./protocol";

export interface UsageTotals {
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  /** How many requests' counts are the daemon's estimate (ARGO reported none). */
  estimated: number;
}

export interface UsageRow extends UsageTotals {
  key: string;
}

export interface UsageReport {
  since: number | string;
  until: number | string | null;
  by: UsageBy;
  /** Biggest first (by tokens); by day: oldest first. */
  rows: UsageRow[];
  total: UsageTotals;
}

/** Where a report came from: the daemon's `usage.get`, or the records seen here. */
export type UsageSource = "daemon" | "records";

const TOTAL_KEYS = [
  "requests",
  "errors",
  "input_tokens",
  "output_tokens",
  "cached_tokens",
  "cache_write_tokens",
  "reasoning_tokens",
  "estimated",
] as const;

export function emptyTotals(): UsageTotals {
  return {
    requests: 0,
    errors: 0,
    input_tokens: 0,
    output_tokens: 0,
    cached_tokens: 0,
    cache_write_tokens: 0,
    reasoning_tokens: 0,
    estimated: 0,
  };
}

/** What a person means by "tokens used": read plus written. */
export function totalTokens(totals: Pick<UsageTotals, "input_tokens" | "output_tokens">): number {
  return totals.input_tokens + totals.output_tokens;
}

function addTo(totals: UsageTotals, record: RequestRecord): void {
  totals.requests += 1;
  if (record.status >= 400 || record.error) totals.errors += 1;
  totals.input_tokens += record.input_tokens;
  totals.output_tokens += record.output_tokens;
  totals.cached_tokens += record.cached_tokens;
  totals.cache_write_tokens += record.cache_write_tokens;
  totals.reasoning_tokens += record.reasoning_tokens;
  if (record.estimated) totals.estimated += 1;
}

/** Local midnight of the day `now` (Unix seconds) falls in. */
export function startOfDay(now: number): number {
  const d = new Date(now * 1000);
  d.setHours(0, 0, 0, 0);
  return d.getTime() / 1000;
}

/** Unix seconds for a `UsageTime`, as the daemon reads it (local midnight for "today"). */
export function resolveTime(time: UsageTime, now: number): number {
  if (typeof time === "number") return time;
  if (time === "today") return startOfDay(now);
  const days = Number(time.slice(0, -1));
  if (!Number.isFinite(days)) throw new Error(`not a span of days: ${time}`);
  return now - days * 86_400;
}

/** The local date a record started on (YYYY-MM-DD). */
function dayKey(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const pad = (n: number): string => n.toString().padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function keyOf(record: RequestRecord, by: UsageBy): string {
  if (by === "day") return dayKey(record.started_at);
  if (by === "client") return record.client;
  // as the daemon keys usage.get: the ARGO model, else the model asked for
  return record.argo_model || record.model || "(none)";
}

/** `usage.get`'s answer, added up from records that started in [since, until). */
export function aggregateUsage(records: Iterable<RequestRecord>, query: UsageQuery, now: number): UsageReport {
  const since = resolveTime(query.since, now);
  const until = query.until === undefined ? undefined : resolveTime(query.until, now);
  const total = emptyTotals();
  const rows = new Map<string, UsageRow>();
  for (const record of records) {
    if (record.started_at < since || (until !== undefined && record.started_at >= until)) continue;
    const key = keyOf(record, query.by);
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { key, ...emptyTotals() }));
    addTo(row, record);
    addTo(total, record);
  }
  return { since, until: until ?? null, by: query.by, rows: sortRows([...rows.values()], query.by), total };
}

function sortRows(rows: UsageRow[], by: UsageBy): UsageRow[] {
  if (by === "day") return rows.sort((a, b) => a.key.localeCompare(b.key));
  return rows.sort((a, b) => totalTokens(b) - totalTokens(a) || b.requests - a.requests || a.key.localeCompare(b.key));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function totalsFrom(value: unknown): UsageTotals {
  const out = emptyTotals();
  if (!isObject(value)) return out;
  for (const key of TOTAL_KEYS) {
    const v = value[key];
    // `estimated` may come as a count or, per request, as a flag
    if (typeof v === "number" && Number.isFinite(v)) out[key] = v;
    else if (typeof v === "boolean") out[key] = v ? 1 : 0;
  }
  return out;
}

/** A `usage.get` answer, checked: missing figures are 0, rows without a key are left out. */
export function toUsageReport(value: unknown, query: UsageQuery): UsageReport {
  if (!isObject(value)) throw new Error(`usage.get answered ${JSON.stringify(value)}`);
  const rows = (Array.isArray(value.rows) ? value.rows : [])
    .filter((r): r is Record<string, unknown> => isObject(r) && typeof r.key === "string")
    .map((r) => ({ key: r.key as string, ...totalsFrom(r) }));
  const time = (v: unknown, fallback: number | string | null): number | string | null =>
    typeof v === "number" || typeof v === "string" ? v : fallback;
  return {
    since: time(value.since, query.since) ?? query.since,
    until: time(value.until, null),
    by: query.by,
    rows: sortRows(rows, query.by),
    total: totalsFrom(value.total),
  };
}

/** How long records are kept here for the fallback: the longest period the view shows, and a day. */
const LEDGER_SECONDS = 8 * 86_400;
const LEDGER_MAX = 50_000;

/**
 * The records seen here in the last days, each once, for adding up usage when the
 * daemon has no `usage.get`. Not touched by "Clear request list": that clears a view.
 */
export class UsageLedger {
  private readonly byId = new Map<string, RequestRecord>();

  get records(): Iterable<RequestRecord> {
    return this.byId.values();
  }

  get size(): number {
    return this.byId.size;
  }

  add(record: RequestRecord, now: number): void {
    if (record.started_at < now - LEDGER_SECONDS) return;
    this.byId.set(record.id, record);
    if (this.byId.size > LEDGER_MAX) this.prune(now);
  }

  private prune(now: number): void {
    for (const [id, record] of this.byId) {
      if (record.started_at < now - LEDGER_SECONDS) this.byId.delete(id);
    }
    // still too many: the oldest seen go first (a Map keeps insertion order)
    for (const id of this.byId.keys()) {
      if (this.byId.size <= LEDGER_MAX) break;
      this.byId.delete(id);
    }
  }
}

/**
 * The report for `query`: the daemon's, or, when it has no `usage.get` (`getUsage`
 * throws MethodMissing), the one added up from the ledger.
 */
export async function fetchUsage(
  getUsage: (query: UsageQuery) => Promise<unknown>,
  ledger: UsageLedger,
  query: UsageQuery,
  now: number,
): Promise<{ report: UsageReport; source: UsageSource }> {
  try {
    return { report: toUsageReport(await getUsage(query), query), source: "daemon" };
  } catch (error) {
    if (!(error instanceof MethodMissing)) throw error;
    return { report: aggregateUsage(ledger.records, query, now), source: "records" };
  }
}
