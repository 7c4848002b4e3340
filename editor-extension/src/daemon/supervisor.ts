// One DaemonSupervisor owns the daemon: it attaches to one already running for
// this user (its control socket answers) or starts `argo-proxy serve --control
// stdio --port auto`, speaks JSON-RPC with vscode-jsonrpc, keeps the real listen
// URL and the access token in its state (so that what is wired follows a port
// change or a token rotation), restarts a daemon that died with backoff, gives up
// after repeated fast crashes (saying why: the stderr tail), and stops the daemon
// it started. Plain Node: no `vscode` import.
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import {
  createMessageConnection,
  ErrorCodes,
  MessageConnection,
  ResponseError,
  SocketMessageReader,
  SocketMessageWriter,
  StreamMessageReader,
  StreamMessageWriter,
} from "vscode-jsonrpc/node";
import { Access, accessFrom, clientUrl, sameAccess } from "./access";
import { modelsFromListing } from "./chat";
import { Emitter } from "./events";
import {
  ArgoEnvironment,
  ChatModel,
  ConfigGetResult,
  DaemonNotification,
  LegacySetResult,
  Methods,
  missingMethod,
  ModelsListResult,
  Notifications,
  RefreshResult,
  ReloadReport,
  RequestsListParams,
  SetEnvironmentResult,
  StatusResult,
  UsageQuery,
} from "./protocol";
import { controlSocketPath, defaultSocketDeps, socketTrustProblem } from "./socket";

export type SupervisorPhase = "stopped" | "starting" | "running" | "stopping" | "error";
export type DaemonMode = "spawned" | "attached";
export type { Access } from "./access";

export interface SupervisorState {
  phase: SupervisorPhase;
  mode?: DaemonMode;
  pid?: number;
  /** The URL the daemon really listens on (from `status` and `state.changed`). */
  listenUrl?: string;
  legacy?: boolean;
  /** Set whenever the phase is `running`. */
  access?: Access;
  /** Why the phase is `error` (or why a restart is pending). */
  message?: string;
}

export interface LogLine {
  source: "daemon" | "supervisor";
  line: string;
}

export interface SupervisorOptions {
  executable: string;
  configPath?: string;
  extraArgs?: readonly string[];
  /** Passed as `--control-socket`; also where to look for a running daemon. */
  controlSocket?: string;
  /**
   * Start with `--port auto` unless `extraArgs` choose a port (default true): when
   * the configured port is taken (another user's daemon on a shared host), the
   * daemon listens on a free one instead of failing to start.
   */
  portAuto?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Attach to a daemon already running on the control socket (default true). */
  attach?: boolean;
  /** Give up after this many crashes in a row, each within `fastCrashMs` of its start. */
  maxFastCrashes?: number;
  fastCrashMs?: number;
  restartDelay?: (attempt: number) => number;
  /** A start that fails is tried again this many times, with `restartDelay` between (default 4). */
  startRetries?: number;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
  stderrTailLines?: number;
}

/** Backoff before restart number `attempt` (0-based): 0.5 s, 1 s, 2 s, … up to 30 s. */
export function restartDelay(attempt: number): number {
  return Math.min(500 * 2 ** Math.max(0, attempt), 30_000);
}

/** Whether `serve` arguments choose the port (`--port N`, `--port=N`, `-p N`, `-pN`). */
export function setsPort(args: readonly string[]): boolean {
  // argparse takes any unambiguous prefix of a long option: `--p` … `--port`
  return args.some((a) => /^--p(o(r(t)?)?)?(=|$)/.test(a) || a.startsWith("-p"));
}

/** The arguments of `argo-proxy serve` for these options. */
export function serveArgs(
  opts: Pick<SupervisorOptions, "configPath" | "controlSocket" | "extraArgs" | "portAuto">,
): string[] {
  const extra = opts.extraArgs ?? [];
  const args = ["serve"];
  if (opts.configPath) args.push(opts.configPath);
  args.push("--control", "stdio");
  if (opts.controlSocket) args.push("--control-socket", opts.controlSocket);
  if (opts.portAuto !== false && !setsPort(extra)) args.push("--port", "auto");
  args.push(...extra);
  return args;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms % 1000 ? 1 : 0)} s`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function exitText(exit: ExitInfo): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/** A control socket this editor will not talk to (socket.ts `socketTrustProblem`): not
 * tried again, as nothing changes by waiting. */
export class UntrustedSocket extends Error {}

export class DaemonSupervisor {
  private readonly opts: SupervisorOptions;
  private stateValue: SupervisorState = { phase: "stopped" };
  private connection?: MessageConnection;
  private child?: ChildProcess;
  private childExit?: Promise<ExitInfo>;
  private socket?: net.Socket;
  private startPromise?: Promise<SupervisorState>;
  private restartTimer?: NodeJS.Timeout;
  /** Ends the wait between two start attempts early (stop() calls it). */
  private wakeRetry?: () => void;
  private stopping = false;
  private fastCrashes = 0;
  private startedAt = 0;
  private stderrTail: string[] = [];
  /** The newest access answer for a connection: fetches may overlap (start, token.changed). */
  private latestAccess?: { connection: MessageConnection; seq: number; value: Access };
  private accessSeq = 0;

  private readonly stateEmitter = new Emitter<SupervisorState>();
  private readonly notificationEmitter = new Emitter<DaemonNotification>();
  private readonly logEmitter = new Emitter<LogLine>();
  readonly onState = this.stateEmitter.event;
  readonly onNotification = this.notificationEmitter.event;
  readonly onLog = this.logEmitter.event;

  constructor(options: SupervisorOptions) {
    this.opts = options;
  }

  get state(): SupervisorState {
    return this.stateValue;
  }

  /** The control socket this supervisor attaches to (and the daemon it starts listens on). */
  get socketPath(): string {
    return controlSocketPath(this.opts.controlSocket, { ...defaultSocketDeps(), env: this.opts.env ?? process.env });
  }

  /** The last lines the daemon wrote to stderr. */
  get lastStderr(): readonly string[] {
    return this.stderrTail;
  }

  // ------------------------------------------------------------------ lifecycle

  /** Attach or start; resolves when the daemon listens. Rejects (phase `error`) when it cannot start. */
  start(): Promise<SupervisorState> {
    if (this.startPromise) return this.startPromise;
    if (this.stateValue.phase === "running") return Promise.resolve(this.stateValue);
    this.clearRestartTimer();
    this.stopping = false;
    this.fastCrashes = 0;
    this.startPromise = this.startWithRetries().finally(() => {
      this.startPromise = undefined;
    });
    return this.startPromise;
  }

  /**
   * Attach or spawn; a failure is tried again after a backoff (the state says so,
   * with the reason), and after the last try the phase is `error` with the reason.
   */
  private async startWithRetries(): Promise<SupervisorState> {
    const retries = this.opts.startRetries ?? 4;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attachOrSpawn();
      } catch (error) {
        const reason = errorText(error);
        if (this.stopping || attempt >= retries || error instanceof UntrustedSocket) {
          const message = attempt > 0 ? `could not start (tried ${attempt + 1} times): ${reason}` : reason;
          this.setState(this.stopping ? { phase: "stopped" } : { phase: "error", message });
          throw new Error(message, { cause: error });
        }
        const wait = (this.opts.restartDelay ?? restartDelay)(attempt);
        const message =
          `could not start (try ${attempt + 1} of ${retries + 1}): ${reason.split("\n")[0]}; ` +
          `trying again in ${seconds(wait)}`;
        this.log("supervisor", message);
        this.setState({ phase: "starting", message });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.wakeRetry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeRetry = undefined;
      }
    }
  }

  /**
   * Stop: the daemon this supervisor started gets `shutdown`, then is waited for
   * (killed after a timeout). A daemon it attached to keeps running unless
   * `shutdownAttached`. Resolves to the exit code of a started daemon.
   */
  async stop(options: { shutdownAttached?: boolean } = {}): Promise<number | null> {
    this.stopping = true;
    this.clearRestartTimer();
    this.wakeRetry?.();
    if (this.startPromise) await this.startPromise.catch(() => undefined);
    const { connection, child, socket } = this;
    if (!connection && !child) {
      this.setState({ phase: "stopped" });
      return null;
    }
    this.setState({ ...this.stateValue, phase: "stopping" });
    if (socket) {
      if (options.shutdownAttached && connection) {
        await withTimeout(connection.sendRequest(Methods.shutdown), 3000, "shutdown").catch(() => undefined);
      }
      this.dropConnection();
      this.setState({ phase: "stopped" });
      this.log("supervisor", "detached from the daemon");
      return null;
    }
    let code: number | null = null;
    if (child && this.childExit) {
      const exited = this.childExit;
      if (connection) {
        await withTimeout(connection.sendRequest(Methods.shutdown), 3000, "shutdown").catch(() => undefined);
      }
      const stopTimeout = this.opts.stopTimeoutMs ?? 15_000;
      const exit = await withTimeout(exited, stopTimeout, "stop").catch(() => {
        this.log("supervisor", `the daemon did not stop within ${stopTimeout} ms; killing it`);
        child.kill("SIGKILL");
        return exited;
      });
      code = exit.code;
      this.log("supervisor", `the daemon (pid ${child.pid}) ${exitText(exit)}`);
    }
    this.dropConnection();
    this.setState({ phase: "stopped" });
    return code;
  }

  async restart(): Promise<SupervisorState> {
    await this.stop();
    return this.start();
  }

  async dispose(): Promise<void> {
    await this.stop().catch(() => undefined);
    this.stateEmitter.dispose();
    this.notificationEmitter.dispose();
    this.logEmitter.dispose();
  }

  // ------------------------------------------------------------------ requests

  status(): Promise<StatusResult> {
    return this.request((c) => c.sendRequest(Methods.status)).then((s) => {
      this.updateFromStatus(s);
      return s;
    });
  }

  refresh(): Promise<RefreshResult> {
    return this.request((c) => c.sendRequest(Methods.refresh));
  }

  getLegacy(): Promise<{ enabled: boolean }> {
    return this.request((c) => c.sendRequest(Methods.legacyGet));
  }

  setLegacy(enabled: boolean): Promise<LegacySetResult> {
    return this.request((c) => c.sendRequest(Methods.legacySet, { enabled }));
  }

  reloadConfig(): Promise<ReloadReport> {
    return this.request((c) => c.sendRequest(Methods.configReload));
  }

  getConfig(): Promise<ConfigGetResult> {
    return this.request((c) => c.sendRequest(Methods.configGet));
  }

  /** `token.get`: the access token in force (also kept in `state.access`). */
  getToken(): Promise<Access> {
    return this.request((c) => this.fetchAccess(c));
  }

  /** `token.rotate`: a new token, already required; `state.access` has it when this resolves. */
  rotateToken(): Promise<Access> {
    return this.request((c) => this.fetchAccess(c, Methods.tokenRotate));
  }

  /**
   * The chat models (`models.list`); from `GET /v1/models`, with default limits,
   * when the daemon is older than that method.
   */
  async listModels(): Promise<ChatModel[]> {
    try {
      const result: ModelsListResult = await this.request((c) => c.sendRequest(Methods.modelsList));
      return result.models;
    } catch (error) {
      if (!(error instanceof ResponseError && error.code === ErrorCodes.MethodNotFound)) throw error;
    }
    const { listenUrl, access } = this.stateValue;
    if (!listenUrl) throw new Error("argo-proxy has no listen address yet");
    const headers: Record<string, string> = access?.token ? { authorization: `Bearer ${access.token}` } : {};
    const reply = await fetch(`${clientUrl(listenUrl)}/v1/models`, { headers });
    if (!reply.ok) throw new Error(`GET /v1/models: HTTP ${reply.status}`);
    return modelsFromListing(await reply.json());
  }

  /** `requests.list`: the daemon's recent records, newest first (unchecked: see records.ts). */
  async listRequests(params: RequestsListParams): Promise<unknown[]> {
    const result = await this.request((c) => c.sendRequest(Methods.requestsList, params));
    return Array.isArray(result.requests) ? result.requests : [];
  }

  /** `requests.get`: one record by id (unchecked). */
  getRequest(id: string): Promise<unknown> {
    return this.request((c) => c.sendRequest(Methods.requestsGet, { id }));
  }

  /** `usage.get` (unchecked: see usage.ts); MethodMissing from a daemon without it. */
  getUsage(query: UsageQuery): Promise<unknown> {
    return this.request((c) => c.sendRequest(Methods.usageGet, query)).catch((error: unknown) => {
      throw missingMethod(error, "usage.get");
    });
  }

  /** `config.setEnvironment`: ARGO's prod, dev or test in the config file; MethodMissing from a daemon without it. */
  setEnvironment(env: ArgoEnvironment): Promise<SetEnvironmentResult> {
    return this.request((c) => c.sendRequest(Methods.configSetEnvironment, { env })).catch((error: unknown) => {
      throw missingMethod(error, "config.setEnvironment");
    });
  }

  private request<T>(send: (c: MessageConnection) => Promise<T>): Promise<T> {
    if (!this.connection) {
      return Promise.reject(new Error("argo-proxy is not running (start it first)"));
    }
    return send(this.connection);
  }

  // ------------------------------------------------------------------ internals

  private setState(state: SupervisorState): void {
    this.stateValue = state;
    this.stateEmitter.fire(state);
  }

  private log(source: LogLine["source"], line: string): void {
    this.logEmitter.fire({ source, line });
  }

  private updateFromStatus(s: StatusResult): void {
    const listenUrl = s.listen_url ?? undefined;
    if (this.stateValue.listenUrl !== listenUrl || this.stateValue.legacy !== s.legacy) {
      this.setState({ ...this.stateValue, listenUrl, legacy: s.legacy });
    }
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  /**
   * `token.get` (or `token.rotate`) on `connection`; the newest answer wins and, while
   * running, goes into the state. A daemon older than the token (no such method)
   * takes any key: `auth: none`.
   */
  private async fetchAccess(
    connection: MessageConnection,
    method: typeof Methods.tokenGet = Methods.tokenGet,
  ): Promise<Access> {
    const seq = ++this.accessSeq;
    let value: Access;
    try {
      value = accessFrom(await withTimeout(connection.sendRequest(method), 10_000, method.method));
    } catch (error) {
      if (!(error instanceof ResponseError && error.code === ErrorCodes.MethodNotFound)) throw error;
      value = { auth: "none" };
    }
    const latest = this.latestAccess;
    if (latest?.connection !== connection || seq > latest.seq) {
      this.latestAccess = { connection, seq, value };
    }
    const newest = this.latestAccess!.value;
    const running = this.connection === connection && this.stateValue.phase === "running";
    if (running && !sameAccess(this.stateValue.access, newest)) this.setState({ ...this.stateValue, access: newest });
    return newest;
  }

  /** Fetch the token again after `token.changed` or a reload (`auth`, `token_file` may have changed). */
  private async refetchAccess(connection: MessageConnection, why: string): Promise<void> {
    const before = this.stateValue.access;
    try {
      const after = await this.fetchAccess(connection);
      if (this.connection === connection && !sameAccess(before, after)) {
        const file = after.tokenFile ? `, token file ${after.tokenFile}` : "";
        this.log("supervisor", `access changed (${why}): auth ${after.auth}${file}`);
      }
    } catch (error) {
      if (this.connection !== connection) return;
      this.log("supervisor", `could not fetch the access token: ${errorText(error)}`);
    }
  }

  private async attachOrSpawn(): Promise<SupervisorState> {
    this.setState({ phase: "starting" });
    if (this.opts.attach !== false && (await this.tryAttach())) return this.stateValue;
    return this.spawnDaemon();
  }

  private wire(connection: MessageConnection): void {
    const forward = (n: DaemonNotification): void => {
      if (n.method === "state.changed" && this.connection === connection && this.stateValue.phase === "running") {
        this.setState({
          ...this.stateValue,
          listenUrl: n.params.listen_url ?? undefined,
          legacy: n.params.legacy,
        });
      }
      this.notificationEmitter.fire(n);
    };
    connection.onNotification(Notifications.configChanged, (params) => {
      forward({ method: "config.changed", params });
      void this.refetchAccess(connection, "config reloaded"); // `auth`, `token_file` may have changed
    });
    connection.onNotification(Notifications.tokenChanged, (params) => {
      // handed on once the state has the new token
      void this.refetchAccess(connection, "token rotated").finally(() => forward({ method: "token.changed", params }));
    });
    connection.onNotification(Notifications.configError, (params) => forward({ method: "config.error", params }));
    connection.onNotification(Notifications.modelsRefreshed, (params) =>
      forward({ method: "models.refreshed", params }),
    );
    connection.onNotification(Notifications.stateChanged, (params) => forward({ method: "state.changed", params }));
    connection.onNotification(Notifications.requestFinished, (params) =>
      forward({ method: "request.finished", params }),
    );
    connection.onError(([error]) => this.log("supervisor", `JSON-RPC error: ${error.message}`));
    connection.listen();
  }

  /** Whether a daemon answers on the control socket; if so, this supervisor is attached to it. */
  private async tryAttach(): Promise<boolean> {
    const path = this.socketPath;
    if (!fs.existsSync(path)) return false;
    const untrusted = socketTrustProblem(path, { ...defaultSocketDeps(), env: this.opts.env ?? process.env });
    if (untrusted !== undefined) {
      // Whoever answers there could pose as the daemon: not attached, and none started
      // in its place (the daemon would refuse the same socket).
      this.log("supervisor", `not attaching: ${untrusted}`);
      throw new UntrustedSocket(`not attaching: ${untrusted}`);
    }
    const socket = net.connect(path);
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          socket.once("connect", resolve);
          socket.once("error", reject);
        }),
        1000,
        "connecting to the control socket",
      );
    } catch (error) {
      socket.destroy();
      this.log("supervisor", `no daemon answers on ${path} (${errorText(error)}); starting one`);
      return false;
    }
    const connection = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
    this.wire(connection);
    let status: StatusResult;
    let access: Access;
    try {
      status = await withTimeout(connection.sendRequest(Methods.status), 5000, "status");
      access = await this.fetchAccess(connection);
    } catch (error) {
      connection.dispose();
      socket.destroy();
      this.log("supervisor", `the daemon on ${path} did not answer status (${errorText(error)}); starting one`);
      return false;
    }
    this.connection = connection;
    this.socket = socket;
    connection.onClose(() => {
      if (this.connection !== connection || this.stopping) return;
      this.dropConnection();
      this.log("supervisor", `the daemon on ${path} went away`);
      this.setState({ phase: "stopped", message: "the daemon this editor attached to has stopped" });
    });
    this.setState({
      phase: "running",
      mode: "attached",
      pid: status.pid,
      listenUrl: status.listen_url ?? undefined,
      legacy: status.legacy,
      access,
    });
    this.log("supervisor", `attached to the daemon (pid ${status.pid}) on ${path}, listening on ${status.listen_url}`);
    return true;
  }

  private async spawnDaemon(): Promise<SupervisorState> {
    const args = serveArgs(this.opts);
    this.log("supervisor", `starting ${this.opts.executable} ${args.join(" ")}`);
    this.stderrTail = [];
    this.startedAt = Date.now();
    const child = spawn(this.opts.executable, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...(this.opts.env ?? process.env), PYTHONUNBUFFERED: "1" },
    });
    this.child = child;
    const exited = new Promise<ExitInfo>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", (error) => {
        this.log("supervisor", `could not run ${this.opts.executable}: ${error.message}`);
        this.stderrTail.push(error.message);
        resolve({ code: null, signal: null });
      });
    });
    this.childExit = exited;
    child.stdin?.on("error", () => undefined); // EPIPE when it dies; the exit handler reports it
    this.readStderr(child);
    const connection = createMessageConnection(
      new StreamMessageReader(child.stdout),
      new StreamMessageWriter(child.stdin),
    );
    this.connection = connection;
    this.wire(connection);
    void exited.then((exit) => this.onChildExit(child, exit));

    const ready = this.waitUntilListening(connection);
    const died = exited.then((exit) => {
      throw new Error(`argo-proxy ${exitText(exit)} while starting${this.tailText()}`);
    });
    const startTimeout = this.opts.startTimeoutMs ?? 30_000;
    const { status, access } = await withTimeout(Promise.race([ready, died]), startTimeout, "start").catch(
      (error: unknown) => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        throw error;
      },
    );
    this.setState({
      phase: "running",
      mode: "spawned",
      pid: child.pid,
      listenUrl: status.listen_url ?? undefined,
      legacy: status.legacy,
      access,
    });
    this.log("supervisor", `argo-proxy ${status.version} (pid ${child.pid}) listens on ${status.listen_url}`);
    return this.stateValue;
  }

  private async waitUntilListening(connection: MessageConnection): Promise<{ status: StatusResult; access: Access }> {
    for (;;) {
      let status: StatusResult | undefined;
      try {
        status = await connection.sendRequest(Methods.status);
      } catch {
        // -32001 while starting, or the process died (the exit promise reports it)
      }
      if (status?.phase === "running" && status.listen_url) {
        return { status, access: await this.fetchAccess(connection) };
      }
      if (this.connection !== connection) throw new Error("start abandoned");
      await delay(100);
    }
  }

  private readStderr(child: ChildProcess): void {
    let pending = "";
    const keep = this.opts.stderrTailLines ?? 20;
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      pending += chunk;
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? "";
      for (const line of lines) {
        this.stderrTail.push(line);
        if (this.stderrTail.length > keep) this.stderrTail.shift();
        this.log("daemon", line);
      }
    });
  }

  private tailText(): string {
    const tail = this.stderrTail.filter((l) => l.trim() !== "");
    return tail.length ? `; its last output:\n${tail.join("\n")}` : "";
  }

  private dropConnection(): void {
    this.connection?.dispose();
    this.connection = undefined;
    this.socket?.destroy();
    this.socket = undefined;
    this.child = undefined;
    this.childExit = undefined;
  }

  private onChildExit(child: ChildProcess, exit: ExitInfo): void {
    if (child !== this.child) return;
    this.dropConnection();
    if (this.stopping) return; // stop() reports it
    const wasRunning = this.stateValue.phase === "running";
    if (!wasRunning && this.startPromise) return; // the first start rejects with the reason
    this.log("supervisor", `the daemon (pid ${child.pid}) ${exitText(exit)}`);
    this.crashed(`argo-proxy ${exitText(exit)}`);
  }

  /** Count a crash (fast when within `fastCrashMs` of its start); restart with backoff or give up. */
  private crashed(what: string): void {
    const ranMs = Date.now() - this.startedAt;
    const fastMs = this.opts.fastCrashMs ?? 10_000;
    this.fastCrashes = ranMs < fastMs ? this.fastCrashes + 1 : 1;
    const max = this.opts.maxFastCrashes ?? 3;
    if (this.fastCrashes >= max) {
      const message =
        `${what}; it crashed ${this.fastCrashes} times in a row, ` +
        `each within ${fastMs / 1000} s of starting, so it is not restarted again${this.tailText()}`;
      this.log("supervisor", message);
      this.setState({ phase: "error", message });
      return;
    }
    const wait = (this.opts.restartDelay ?? restartDelay)(this.fastCrashes - 1);
    this.log("supervisor", `${what} after ${ranMs} ms; restarting in ${wait} ms`);
    this.setState({ phase: "starting", message: `${what}; restarting` });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.startPromise = this.attachOrSpawn()
        .catch((error: unknown) => {
          this.startPromise = undefined;
          this.crashed(`restart failed: ${errorText(error).split("\n")[0]}`);
          return this.stateValue;
        })
        .finally(() => {
          this.startPromise = undefined;
        });
    }, wait);
  }
}
