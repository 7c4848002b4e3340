// The daemon's request records as the ARGO view shows them (docs/observability.md,
// "Records"): reading one from a `request.finished` notification or `requests.list`,
// the text of a list item and its tooltip, and the list itself: newest first, the
// last few hundred, with "Clear" hiding what had finished before it. Plain Node.

/** One API request, as the daemon records it (no prompt or answer text). */
export interface RequestRecord {
  id: string;
  /** Unix time, seconds. */
  started_at: number;
  endpoint: string;
  client_format: string;
  client: string;
  client_version: string;
  model: string | null;
  argo_model: string | null;
  upstream: string | null;
  converted: boolean;
  stream: boolean;
  status: number;
  error: { type: string; message: string } | null;
  latency_ms: number;
  ttft_ms: number | null;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  estimated: boolean;
  retries: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function num(value: unknown, fallback = 0): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

function str(value: unknown, fallback = ""): string {
  return typeof value === "string" ? value : fallback;
}

function strOrNull(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

/**
 * A record from the daemon's JSON, or undefined when it is not one (no id or start
 * time): a daemon of another version may add fields or leave some out, and the view
 * shows what it can rather than failing.
 */
export function toRecord(value: unknown): RequestRecord | undefined {
  if (!isObject(value) || typeof value.id !== "string" || typeof value.started_at !== "number") return undefined;
  const error = isObject(value.error)
    ? { type: str(value.error.type, "Error"), message: str(value.error.message) }
    : null;
  return {
    id: value.id,
    started_at: value.started_at,
    endpoint: str(value.endpoint),
    client_format: str(value.client_format),
    client: str(value.client, "unknown"),
    client_version: str(value.client_version),
    model: strOrNull(value.model),
    argo_model: strOrNull(value.argo_model),
    upstream: strOrNull(value.upstream),
    converted: value.converted === true,
    stream: value.stream === true,
    status: num(value.status),
    error,
    latency_ms: num(value.latency_ms),
    ttft_ms: typeof value.ttft_ms === "number" ? value.ttft_ms : null,
    input_tokens: num(value.input_tokens),
    output_tokens: num(value.output_tokens),
    cached_tokens: num(value.cached_tokens),
    cache_write_tokens: num(value.cache_write_tokens),
    reasoning_tokens: num(value.reasoning_tokens),
    estimated: value.estimated === true,
    retries: num(value.retries),
  };
}

/** When the request's answer was done (Unix seconds). */
export function finishedAt(record: RequestRecord): number {
  return record.started_at + record.latency_ms / 1000;
}

export type StatusKind = "ok" | "clientError" | "serverError";

/** 2xx/3xx ok; 4xx (and 499, a client that hung up) the client's; 5xx and anything else the server's. */
export function statusKind(status: number): StatusKind {
  if (status >= 200 && status < 400) return "ok";
  if (status >= 400 && status < 500) return "clientError";
  return "serverError";
}

/** 950, 1.2k, 12.3k, 123k, 1.2M: a count that fits a status bar. */
export function compactCount(n: number): string {
  const abs = Math.abs(n);
  for (const [size, unit] of [
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ] as const) {
    if (abs >= size * 0.9995) {
      const scaled = n / size;
      // one decimal below 100 (12.3k), none from there on (123k)
      const text = Math.abs(scaled) < 99.95 ? scaled.toFixed(1).replace(/\.0$/, "") : Math.round(scaled).toString();
      return `${text}${unit}`;
    }
  }
  return Math.round(n).toString();
}

/** 85 ms, 1.2 s, 12 s, 2 min 5 s. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const whole = Math.round(s);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

/** "12 in / 8 out", and "~12 in / ~8 out" when the counts are the daemon's estimate. */
export function tokensText(record: Pick<RequestRecord, "input_tokens" | "output_tokens" | "estimated">): string {
  const mark = record.estimated ? "~" : "";
  return `${mark}${compactCount(record.input_tokens)} in / ${mark}${compactCount(record.output_tokens)} out`;
}

/** "gpt-4o → gpt4o": the model as asked, and the ARGO model it resolved to. */
export function recordLabel(record: RequestRecord): string {
  const asked = record.model ?? "(no model)";
  return record.argo_model && record.argo_model !== asked ? `${asked} → ${record.argo_model}` : asked;
}

/** "openai-python · 1.2 s · 12 in / 8 out". */
export function recordDescription(record: RequestRecord): string {
  return [record.client, formatDuration(record.latency_ms), tokensText(record)].join(" · ");
}

function localTime(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const pad = (n: number): string => n.toString().padStart(2, "0");
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** The tooltip's rows: what a person asks about one request, in that order. */
export function recordDetails(record: RequestRecord): [string, string][] {
  const rows: [string, string][] = [
    ["Status", record.error ? `${record.status} ${record.error.type}: ${record.error.message}` : String(record.status)],
    ["Model", recordLabel(record)],
    ["Client", record.client_version ? `${record.client} ${record.client_version}` : record.client],
    ["Endpoint", `${record.endpoint} (${record.client_format})`],
    [
      "ARGO API",
      `${record.upstream ?? "none"}${record.converted ? ", converted" : ""}${record.stream ? ", streamed" : ""}`,
    ],
    ["Started", localTime(record.started_at)],
    [
      "Latency",
      formatDuration(record.latency_ms) + (record.ttft_ms !== null ? `, first byte ${formatDuration(record.ttft_ms)}` : ""),
    ],
    ["Tokens", tokensText(record) + (record.estimated ? " (estimated: ARGO reported none)" : "")],
  ];
  const extra = [
    record.cached_tokens ? `${record.cached_tokens} cached` : "",
    record.cache_write_tokens ? `${record.cache_write_tokens} written to the cache` : "",
    record.reasoning_tokens ? `${record.reasoning_tokens} reasoning` : "",
  ].filter(Boolean);
  if (extra.length) rows.push(["Of which", extra.join(", ")]);
  if (record.retries) rows.push(["Retries", String(record.retries)]);
  rows.push(["Id", record.id]);
  return rows;
}

/** How many records the Requests view keeps. */
export const REQUEST_LIST_SIZE = 200;

/**
 * The Requests view's list: newest (by the time the answer finished) first, at most
 * `capacity`, each id once (a record may come both in `requests.list` and in a
 * notification). `clear()` empties it and keeps out what had finished before,
 * should the daemon's list bring it back (a reconnect).
 */
export class RequestList {
  private list: RequestRecord[] = [];
  private clearedAt = -Infinity;

  constructor(private readonly capacity = REQUEST_LIST_SIZE) {}

  get items(): readonly RequestRecord[] {
    return this.list;
  }

  get(id: string): RequestRecord | undefined {
    return this.list.find((r) => r.id === id);
  }

  /** Adds one record; false when it was already there, cleared, or too old to keep. */
  add(record: RequestRecord): boolean {
    if (finishedAt(record) <= this.clearedAt || this.get(record.id)) return false;
    const done = finishedAt(record);
    let at = this.list.findIndex((r) => finishedAt(r) < done);
    if (at < 0) at = this.list.length;
    if (at >= this.capacity) return false;
    this.list.splice(at, 0, record);
    if (this.list.length > this.capacity) this.list.length = this.capacity;
    return true;
  }

  /** Adds many (e.g. `requests.list`); true when any was added. */
  addAll(records: Iterable<RequestRecord>): boolean {
    let added = false;
    for (const record of records) added = this.add(record) || added;
    return added;
  }

  /** Empties the list; records that finished before `now` (Unix seconds) stay out. */
  clear(now: number): void {
    this.list = [];
    this.clearedAt = now;
  }
}
