// The daemon's JSON-RPC methods and notifications (docs/control.md), typed.
import { NotificationType, RequestType, RequestType0 } from "vscode-jsonrpc/node";
import type { ModelsListResult } from "./chat";

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
 * counters then, when it carries them. Older daemons send nothing; the status is
 * then fetched when it is looked at.
 */
export interface RequestFinishedParams {
  counters?: StatusResult["counters"];
  [key: string]: unknown;
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
