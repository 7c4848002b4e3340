// The daemon's JSON-RPC methods and notifications (docs/control.md), typed.
import { ErrorCodes, NotificationType, RequestType, RequestType0, ResponseError } from "vscode-jsonrpc/node";
// Wire types only: this module imports nothing local, so every other module may import it.

export type Phase = "starting" | "running" | "stopping" | "stopped";

/** `auth: token` (the default): every API request carries the access token; `none`: no token. */
export type AuthMode = "token" | "none";

export interface ModelStats {
  source?: string;
  unique_models: number;
  total_aliases: number;
  chat_models?: number;
  embed_models?: number;
}

export interface ReloadReport {
  ok: boolean;
  trigger: "watch" | "rpc";
  at: number;
  path: string | null;
  message: string;
  changes: { key: string; old: unknown; new: unknown }[];
  restart_needed: string[];
  actions: string[];
  kept?: string;
}

export interface StatusResult {
  version: string;
  pid: number;
  phase: Phase;
  /** The URL the daemon really listens on (`--port auto` may have moved it). */
  listen_url: string | null;
  /** The HTTP API on a Unix socket (`--socket`), if any. */
  socket_url?: string | null;
  /** Absent from daemons older than the access token. */
  auth?: AuthMode;
  token_file?: string | null;
  control_socket: string;
  uptime_s: number;
  config_path: string | null;
  argo_base_url: string;
  legacy: boolean;
  models: ModelStats;
  counters: { requests: number; active_streams: number; errors: number };
  last_reload: ReloadReport | null;
  last_refresh: { ok: boolean; message: string; at: number } | null;
  /** The per-model circuit breakers (docs/configuration.md); absent from older daemons. */
  breakers?: BreakerStatus[];
}

/** `closed`: the model is tried; `open`: skipped until `retry_at`; `half_open`: one request tries it again. */
export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerStatus {
  model: string;
  state: BreakerState;
  /** Failures in a row. */
  failures: number;
  /** When an open breaker lets a request try the model again (ISO 8601), or null. */
  retry_at: string | null;
}

export interface RefreshResult {
  status: "ok" | "error";
  message: string;
  previous: ModelStats;
  current: ModelStats;
}

export interface ModelsRefreshedParams extends RefreshResult {
  source: string;
  at: number;
}

export interface LegacySetResult {
  enabled: boolean;
  changed: boolean;
}

export interface StateChangedParams {
  phase: Phase;
  legacy: boolean;
  listen_url: string | null;
  reason: string;
}

export interface ConfigGetResult {
  path: string | null;
  config: Record<string, unknown>;
}

/** `token.get` and `token.rotate`: `token` is null with `auth: none`. */
export interface TokenResult {
  auth: AuthMode;
  token: string | null;
  token_file: string;
}

export interface TokenChangedParams {
  token_file: string;
}

/**
 * `request.finished`, sent after each API request by daemons that have it: the
 * request's record (docs/observability.md), read with `toRecord` (records.ts); the
 * counters too, when it carries them. Older daemons send nothing; the status is then
 * fetched when it is looked at.
 */
export interface RequestFinishedParams {
  counters?: StatusResult["counters"];
  [key: string]: unknown;
}

/** One chat model, as `models.list` gives it. */
export interface ChatModel {
  /** The alias to send as `model` (`argo:claude-sonnet-4.6`). */
  id: string;
  internal_id: string;
  name: string;
  family: string;
  max_input_tokens: number;
  max_output_tokens: number;
  tool_calling: boolean;
  image_input: boolean;
}

export interface ModelsListResult {
  source: string;
  models: ChatModel[];
}

export type UsageBy = "model" | "client" | "day";

/** A point in time as `usage.get` takes it: "today", a span back like "7d", or Unix seconds. */
export type UsageTime = "today" | `${number}d` | number;

/** `usage.get`'s parameters. */
export interface UsageQuery {
  since: UsageTime;
  until?: UsageTime;
  by: UsageBy;
}

/** `requests.list`: every key optional; `since` as `usage.get` takes it. */
export interface RequestsListParams {
  limit?: number;
  since?: number | string;
  model?: string;
  client?: string;
  status?: string;
}

/** The ARGO environments `config.setEnvironment` switches between. */
export type ArgoEnvironment = "prod" | "dev" | "test";

export interface SetEnvironmentResult {
  env: ArgoEnvironment;
  argo_base_url: string;
  /** The config file written (null: none). */
  path: string | null;
  changed: boolean;
}

/** A JSON-RPC method this daemon does not have (an older version): the caller falls back. */
export class MethodMissing extends Error {
  constructor(readonly method: string) {
    super(`this argo-proxy daemon has no ${method} (an older version)`);
  }
}

/** `error`, made a MethodMissing when it is JSON-RPC's "method not found". */
export function missingMethod(error: unknown, method: string): unknown {
  return error instanceof ResponseError && error.code === ErrorCodes.MethodNotFound ? new MethodMissing(method) : error;
}

export const Methods = {
  status: new RequestType0<StatusResult, void>("status"),
  refresh: new RequestType0<RefreshResult, void>("refresh"),
  legacyGet: new RequestType0<{ enabled: boolean }, void>("legacy.get"),
  legacySet: new RequestType<{ enabled: boolean }, LegacySetResult, void>("legacy.set"),
  configReload: new RequestType0<ReloadReport, void>("config.reload"),
  configGet: new RequestType0<ConfigGetResult, void>("config.get"),
  tokenGet: new RequestType0<TokenResult, void>("token.get"),
  tokenRotate: new RequestType0<TokenResult, void>("token.rotate"),
  modelsList: new RequestType0<ModelsListResult, void>("models.list"),
  // answers are checked where they are read (records.ts, usage.ts): other versions differ
  requestsList: new RequestType<RequestsListParams, { requests?: unknown[] }, void>("requests.list"),
  requestsGet: new RequestType<{ id: string }, unknown, void>("requests.get"),
  usageGet: new RequestType<UsageQuery, unknown, void>("usage.get"),
  configSetEnvironment: new RequestType<{ env: ArgoEnvironment }, SetEnvironmentResult, void>("config.setEnvironment"),
  shutdown: new RequestType0<{ stopping: boolean }, void>("shutdown"),
};

export const Notifications = {
  configChanged: new NotificationType<ReloadReport>("config.changed"),
  configError: new NotificationType<ReloadReport>("config.error"),
  modelsRefreshed: new NotificationType<ModelsRefreshedParams>("models.refreshed"),
  stateChanged: new NotificationType<StateChangedParams>("state.changed"),
  tokenChanged: new NotificationType<TokenChangedParams>("token.changed"),
  requestFinished: new NotificationType<RequestFinishedParams>("request.finished"),
};

/** A notification as the supervisor hands it on. */
export type DaemonNotification =
  | { method: "config.changed"; params: ReloadReport }
  | { method: "config.error"; params: ReloadReport }
  | { method: "models.refreshed"; params: ModelsRefreshedParams }
  | { method: "state.changed"; params: StateChangedParams }
  | { method: "token.changed"; params: TokenChangedParams }
  | { method: "request.finished"; params: RequestFinishedParams };

// ------------------------------------------------------------------ the command's JSON
// What `argo-proxy setup … --json` and `argo-proxy env --json` print
// (docs/clients.md, "For the editor extension"): the wiring of the assistants lives
// in the Python command, and the extension only shows and asks.

/** One file `setup` would write (`diff` is a unified diff, the token shown as `ap-…`). */
export interface SetupFile {
  path: string;
  exists: boolean;
  changes: boolean;
  private: boolean;
  diff: string;
}

export interface SetupPlan {
  tool: string;
  label: string;
  key_note: string;
  files: SetupFile[];
}

/** `setup TOOL… --json [--dry-run]`; `written` only when not a dry run. */
export interface SetupResult {
  dry_run: boolean;
  plans: SetupPlan[];
  written?: Record<string, string[]>;
}

export interface UndoneFiles {
  restored: string[];
  removed: string[];
  kept: string[];
}

/** `setup TOOL… --undo --json`: null for a tool with nothing to undo. */
export interface UndoResult {
  undone: Record<string, UndoneFiles | null>;
}

/** `setup --json`: the tools and which are set up. */
export interface SetupStatus {
  /** `changed_since`: files changed since `setup` wrote them (the user's now). */
  tools: { tool: string; label: string; set_up: boolean; changed_since?: string[] }[];
}

/** One row of `env --json`'s `assistants` table. */
export interface AssistantInfo {
  label: string;
  executables: string[];
  /** Every variable it reads, ARGO_PROXY_URL and ARGO_PROXY_TOKEN included. */
  variables: string[];
  /** Whether `argo-proxy setup` writes its files. */
  setup: boolean;
}

/** `env --json`. */
export interface EnvResult {
  base_url: string;
  auth: AuthMode;
  running: boolean;
  token_file?: string;
  /** Every variable, in `argo-proxy env`'s order. */
  variables: Record<string, string>;
  assistants: Record<string, AssistantInfo>;
}
