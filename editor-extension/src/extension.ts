// The thin VS Code side: settings in, a DaemonSupervisor, the status item, the
// language models, the ARGO view (requests and usage), commands, the terminal
// environment and the assistants' files. One ArgoProxyController holds all of it:
// made by `activate`, disposed by `deactivate` (which stops the daemon it started).
// Everything that talks to the daemon or writes files lives in src/daemon/ (plain
// Node, tested with `node --test`).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { Activity } from "./daemon/activity";
import { ASSISTANT_FILES, FileAssistant, FILE_ASSISTANTS, WireTarget } from "./daemon/assistantFiles";
import { configTemplate, followClaudeCode, keyHash, withClaudeCodeVariables, Written } from "./daemon/assistantSettings";
import { breakersMayHaveMoved } from "./daemon/breakers";
import { Endpoint } from "./daemon/chat";
import {
  ASSISTANT_LABELS,
  ASSISTANTS,
  clientKey,
  clientSetup,
  clientUrl,
  CommandPlace,
  keyText,
  terminalEnv,
} from "./daemon/env";
import { findExecutable, searchedPlaces } from "./daemon/executable";
import { ENVIRONMENTS, environmentMessage, environmentOf, environmentUnavailable } from "./daemon/environments";
import { applyChanges, describeChange, followChanges, hasRecord, readText, undoChanges } from "./daemon/fileEdits";
import {
  findPython,
  installPrivateDaemon,
  InstallError,
  needsUpdate,
  pythonCandidates,
  shippedWheel,
} from "./daemon/install";
import { ArgoEnvironment, MethodMissing, StatusResult } from "./daemon/protocol";
import { CONTROL_SOCKET_ENV } from "./daemon/socket";
import { DaemonSupervisor, SupervisorState } from "./daemon/supervisor";
import { ArgoChatProvider, VENDOR } from "./languageModels";
import { registerLogger, traceDaemon, traceError, traceInfo, traceWarn } from "./log";
import { affectsTerminals, getSettings, needsRestart, Settings } from "./settings";
import { registerRequestsView } from "./requestsView";
import { StatusItem } from "./status";
import { registerUsageView } from "./usageView";
import * as api from "./vscodeapi";

const RESTART_DEBOUNCE_MS = 1000;
// What the extension last wrote to Claude Code's setting (a URL and a key hash), and
// the value it replaced (for undo).
const WROTE_CLAUDE_CODE = "argoProxy.wrote.claudeCode";
const CLAUDE_CODE_BEFORE = "argoProxy.before.claudeCode";

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A token shown in a dialog: enough to recognise it, not enough to use it. */
function masked(key: string): string {
  return key.startsWith("ap-") && key.length > 12 ? `${key.slice(0, 7)}…` : key;
}

function places(): { home: string; env: NodeJS.ProcessEnv } {
  return { home: os.homedir(), env: process.env };
}

function defaultConfigPath(): string {
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config");
  return path.join(base, "argo-proxy", "config.yaml");
}

function restartSettings(): string {
  const s = getSettings();
  return JSON.stringify([s.executablePath, s.configFile, s.serveArgs, s.controlSocket]);
}

function reportUndo(label: string, result: { restored: string[]; kept: string[] }): void {
  const kept = result.kept.length ? ` Changed since, so left as they are: ${result.kept.join(", ")}.` : "";
  traceInfo(`${label}: restored ${result.restored.join(", ") || "nothing"}${kept}`);
  void api.showInfo(`${label}: put back ${result.restored.length} file(s) as they were.${kept}`);
}

/** Set when the daemon has no config.setEnvironment (hides the view's button; the command says why). */
const NO_ENV_SWITCH = "argoProxy.environmentSwitchUnavailable";

/** The command id of each "Point … at argo-proxy" (argoProxy.wireCodex, …). */
const WIRE_COMMAND: Record<FileAssistant, string> = {
  codex: "Codex",
  gemini: "Gemini",
  aider: "Aider",
  opencode: "OpenCode",
  continue: "Continue",
  cline: "Cline",
};

class ArgoProxyController implements vscode.Disposable {
  private readonly context: vscode.ExtensionContext;
  /** The supervisors' listeners, disposed with the extension. */
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly statusItem: StatusItem;
  private readonly chatProvider: ArgoChatProvider;
  /** The ARGO view's requests and usage (src/daemon/activity.ts). */
  private readonly activity: Activity;
  private readonly usageView: { update(): void };
  private readonly showLog: () => void;
  /** This extension's version (package.json), sent in its requests' User-Agent. */
  private readonly extensionVersion: string | undefined;

  /** The daemon's supervisor, once there is one (none: not started, or argo-proxy missing). */
  private supervisor: DaemonSupervisor | undefined;
  /** One start at a time: activation, commands and the language models may all ask at once. */
  private starting: Promise<DaemonSupervisor | undefined> | undefined;
  private stopping: Promise<void> | undefined;
  /** What the running daemon was started with; a change event that leaves it as it was restarts nothing. */
  private startedWith = "";
  private restartTimer: NodeJS.Timeout | undefined;
  private lastStatus: StatusResult | undefined;
  /** A status fetch in flight, and whether another was asked for meanwhile. */
  private statusFetch: Promise<void> | undefined;
  private statusAgain = false;
  private lastListenUrl: string | undefined;
  /** How pasted commands reach the same `argo-proxy` and daemon as the editor. */
  private commandPlace: CommandPlace = {};
  /** The supervisor the activity is connected to (a new one, or a restart, connects again). */
  private activityDaemon: { sup: DaemonSupervisor; pid?: number } | undefined;
  /** Keeping assistants' settings current runs one at a time; names what each run updated. */
  private following: Promise<string[]> = Promise.resolve([]);
  /** Installing is offered once a session; the status item keeps saying it. */
  private offeredInstall = false;

  constructor(ctx: vscode.ExtensionContext) {
    this.context = ctx;
    const logger = registerLogger("argo-proxy");
    this.showLog = () => logger.show();
    this.statusItem = new StatusItem("argoProxy.menu");
    ctx.subscriptions.push(logger, this.statusItem, {
      dispose: () => {
        for (const d of this.subscriptions) d.dispose();
      },
    });
    for (const c of this.commands) ctx.subscriptions.push(api.registerCommand(c.id, c.run));
    const manifest = ctx.extension.packageJSON as { version?: unknown };
    this.extensionVersion = typeof manifest.version === "string" ? manifest.version : undefined;
    const view = new Activity({ log: traceWarn });
    this.activity = view;
    const usage = registerUsageView(view, () => this.supervisor?.state.phase === "running");
    this.usageView = usage;
    ctx.subscriptions.push(
      { dispose: () => view.dispose() },
      usage,
      registerRequestsView(view, (id) =>
        this.supervisor ? this.supervisor.getRequest(id) : Promise.reject(new Error("argo-proxy is not running")),
      ),
      view.onUsage((u) => this.statusItem.setToday(u && { totals: u.today.total, source: u.source })),
    );
    this.chatProvider = new ArgoChatProvider(
      {
        endpoint: async (start): Promise<Endpoint | undefined> => {
          const sup = start ? await this.ensureStarted() : this.supervisor;
          const { listenUrl, access } = sup?.state ?? {};
          if (sup?.state.phase !== "running" || !listenUrl) return undefined;
          return { listenUrl, key: clientKey(access, getSettings().username), version: this.extensionVersion };
        },
        listModels: () => (this.supervisor ? this.supervisor.listModels() : Promise.resolve([])),
        log: traceWarn,
      },
      () => getSettings().autoStart,
    );
    ctx.subscriptions.push(this.chatProvider, api.registerChatProvider(VENDOR, this.chatProvider));
    ctx.subscriptions.push(api.registerCommand("argoProxy.menu", () => this.showMenu()));
    ctx.subscriptions.push(
      api.onDidChangeConfiguration((e) => {
        const affects = (s: string): boolean => e.affectsConfiguration(s);
        if (needsRestart(affects) && this.supervisor && this.restartSettingsChanged()) this.scheduleRestart();
        else if (affectsTerminals(affects) && this.supervisor) this.wireTerminals(this.supervisor.state);
      }),
    );
    // a failed start leaves the status item in `error`; activation itself never throws
    if (getSettings().autoStart) void this.ensureStarted();
  }

  /** Deactivation: the restart pending is dropped, and the daemon stopped (or detached from). */
  async dispose(): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.stopDaemon();
  }

  private privateVenv(): string {
    return path.join(this.context.globalStorageUri.fsPath, "venv");
  }

  private executableSearch(settings: Settings, pythonInterpreter: string | undefined): Parameters<typeof findExecutable>[0] {
    return {
      executablePath: settings.executablePath,
      pythonInterpreter,
      pathEnv: process.env.PATH ?? "",
      platform: process.platform,
      home: os.homedir(),
      env: process.env,
      privateVenv: this.privateVenv(),
    };
  }

  private async offerInstall(settings: Settings, pythonInterpreter: string | undefined): Promise<void> {
    if (this.offeredInstall) return; // once a session; the status item keeps saying it
    this.offeredInstall = true;
    const places = searchedPlaces(this.executableSearch(settings, pythonInterpreter));
    traceWarn(`argo-proxy was not found; looked in ${places.join(", ")}`);
    const message =
      "argo-proxy: the `argo-proxy` daemon was not found (looked on PATH, in the selected Python environment, " +
      "~/.local/bin, pipx and uv tool places). Install it into a private environment of this extension?";
    const choice = await api.showError(message, "Install argo-proxy", "Open Settings", "Show Logs");
    if (choice === "Install argo-proxy") await api.executeCommand("argoProxy.install");
    else if (choice === "Open Settings") await api.executeCommand("workbench.action.openSettings", "argoProxy.executablePath");
    else if (choice === "Show Logs") this.showLog();
  }

  private async createSupervisor(settings: Settings): Promise<DaemonSupervisor | undefined> {
    const pythonInterpreter = await api.activePythonInterpreter();
    const found = findExecutable(this.executableSearch(settings, pythonInterpreter), (p) => fs.existsSync(p));
    if (!found) {
      this.statusItem.update({ phase: "error", message: "argo-proxy was not found: run \"argo-proxy: Install argo-proxy\"" });
      void this.offerInstall(settings, pythonInterpreter);
      return undefined;
    }
    if (found.source === "private") await this.updatePrivateDaemon();
    traceInfo(`using ${found.path} (from the ${found.source})`);
    this.commandPlace = {
      executable: found.source === "path" ? undefined : found.path,
      controlSocket: settings.controlSocket || undefined,
    };
    const sup = new DaemonSupervisor({
      executable: found.path,
      configPath: settings.configFile || undefined,
      extraArgs: settings.serveArgs,
      controlSocket: settings.controlSocket || undefined,
    });
    this.subscriptions.push(
      sup.onLog((l) => (l.source === "daemon" ? traceDaemon(l.line) : traceInfo(l.line))),
      sup.onState((s) => this.onState(s)),
      sup.onNotification((n) => {
        switch (n.method) {
          case "config.error":
            traceError(`config not applied: ${n.params.message}`);
            void api.showError(`argo-proxy: ${n.params.message} (${n.params.kept ?? "not applied"})`, "Show Logs").then(
              (c) => c && this.showLog(),
            );
            break;
          case "config.changed":
            traceInfo(`config applied: ${n.params.message}`);
            break;
          case "models.refreshed":
            if (n.params.status === "error") traceWarn(`model refresh failed: ${n.params.message}`);
            this.chatProvider.refresh();
            break;
          case "state.changed":
            traceInfo(`daemon ${n.params.phase}: ${n.params.reason}`);
            break;
          case "token.changed":
            traceInfo(`access token rotated (${n.params.token_file}); terminals and settings follow`);
            break;
          case "request.finished":
            this.activity.recordFinished(n.params);
            // the counters, when the daemon sends them; else fetched (one fetch at a time),
            // as it is when the request may have opened or closed a model's breaker
            if (n.params.counters && this.lastStatus && !breakersMayHaveMoved(n.params, this.lastStatus)) {
              this.lastStatus = { ...this.lastStatus, counters: n.params.counters };
              this.statusItem.update(sup.state, this.lastStatus);
              return;
            }
            break;
        }
        void this.refreshStatus();
      }),
    );
    return sup;
  }

  /** A private daemon installed by an older version of the extension is brought up to the shipped wheel. */
  private async updatePrivateDaemon(): Promise<void> {
    const wheel = shippedWheel(this.context.extensionPath);
    if (!wheel || !needsUpdate(this.privateVenv(), wheel)) return;
    try {
      await api.withProgress("argo-proxy: updating the private daemon", (report) =>
        installPrivateDaemon({
          venv: this.privateVenv(),
          wheel,
          python: { command: "python3", args: [] }, // unused: the environment exists
          onProgress: (m) => {
            traceInfo(m);
            report(m);
          },
        }),
      );
    } catch (error) {
      traceError(`could not update the private daemon: ${errorText(error)}`);
      if (error instanceof InstallError) traceError(error.output);
    }
  }

  private async installDaemon(): Promise<void> {
    const wheel = shippedWheel(this.context.extensionPath);
    if (!wheel) {
      void api.showError("argo-proxy: this build of the extension carries no daemon wheel; install argo-proxy with pip.");
      return;
    }
    const { found, tried } = await findPython(pythonCandidates(await api.activePythonInterpreter(), process.platform));
    if (!found) {
      traceError(`no Python 3.10+ found: ${tried.join("; ")}`);
      void api
        .showError("argo-proxy needs Python 3.10 or newer to install, and none was found (see the log).", "Show Logs")
        .then((c) => c && this.showLog());
      return;
    }
    traceInfo(`installing argo-proxy into ${this.privateVenv()} with Python ${found.version} (${found.executable})`);
    try {
      await api.withProgress("Installing argo-proxy", (report) =>
        installPrivateDaemon({
          venv: this.privateVenv(),
          wheel,
          python: found,
          onProgress: (m) => {
            traceInfo(m);
            report(m);
          },
        }),
      );
    } catch (error) {
      traceError(`install failed: ${errorText(error)}`);
      if (error instanceof InstallError) traceError(error.output);
      void api.showError(`argo-proxy: ${errorText(error)}`, "Show Logs").then((c) => c && this.showLog());
      return;
    }
    this.offeredInstall = false;
    void api.showInfo("argo-proxy is installed; starting it.");
    await this.restartDaemon();
  }

  private onState(state: SupervisorState): void {
    this.statusItem.update(state, state.phase === "running" ? this.lastStatus : undefined);
    this.followActivity(state);
    this.wireTerminals(state);
    const listenUrl = state.phase === "running" ? state.listenUrl : undefined;
    if (listenUrl !== this.lastListenUrl) {
      this.lastListenUrl = listenUrl;
      this.chatProvider.refresh(); // started, stopped or moved: the models are asked for again
    }
    if (state.phase === "running" && state.listenUrl) {
      const { listenUrl } = state;
      const key = clientKey(state.access, getSettings().username);
      this.following = this.following.then(() => this.followAssistantSettings(listenUrl, key));
    }
    if (state.phase === "error" && state.message) {
      traceError(state.message);
      void api.showError(`argo-proxy: ${state.message.split("\n")[0]}`, "Retry", "Show Logs").then((c) => {
        if (c === "Retry") void this.restartDaemon();
        else if (c) this.showLog();
      });
    }
  }

  /**
   * The ARGO view follows the daemon: a daemon that is up (started, attached, or
   * restarted: another pid) is asked for its records and usage once; from then on its
   * notifications drive the view.
   */
  private followActivity(state: SupervisorState): void {
    const sup = this.supervisor;
    this.usageView.update();
    if (!this.activity) return;
    if (state.phase === "running" && sup) {
      if (this.activityDaemon?.sup === sup && this.activityDaemon.pid === state.pid) return;
      this.activityDaemon = { sup, pid: state.pid };
      void api.setContext(NO_ENV_SWITCH, false);
      void this.activity.connect(sup);
    } else if (state.phase !== "running" && this.activityDaemon) {
      this.activityDaemon = undefined;
      this.activity.disconnect();
    }
  }

  /** The terminals' variables: set from the real URL and the token, cleared when the daemon is not running. */
  private wireTerminals(state: SupervisorState): void {
    const settings = getSettings();
    let env: Record<string, string> | undefined;
    if (settings.wireTerminals && state.phase === "running" && state.listenUrl) {
      env = terminalEnv(state.listenUrl, clientKey(state.access, settings.username), settings.assistants);
      // `argo-proxy token|env|run|ctl` typed there then ask this daemon too
      if (settings.controlSocket && this.supervisor) env[CONTROL_SOCKET_ENV] = this.supervisor.socketPath;
    }
    api.setTerminalEnv(this.context.environmentVariableCollection, env, "Points coding assistants at argo-proxy");
  }

  /**
   * Keep what the wire commands wrote current when the port or the token changes —
   * only while the setting still holds what was written (else it is the user's).
   * Returns what it updated.
   */
  private async followAssistantSettings(listenUrl: string, key: string): Promise<string[]> {
    const url = clientUrl(listenUrl);
    const updated: string[] = [];
    try {
      const existing = api.getGlobalSetting("claudeCode", "environmentVariables");
      const next = followClaudeCode(existing, this.context.globalState.get<Written>(WROTE_CLAUDE_CODE), url, key);
      if (next) {
        await api.updateGlobalSetting("claudeCode", "environmentVariables", next);
        await this.context.globalState.update(WROTE_CLAUDE_CODE, { url, keyHash: keyHash(key) });
        updated.push("claudeCode.environmentVariables");
      }
    } catch (error) {
      traceWarn(`could not update claudeCode.environmentVariables: ${errorText(error)}`);
    }
    const wired = FILE_ASSISTANTS.filter((id) => hasRecord(this.recordFile(id)));
    if (wired.length && this.supervisor) {
      try {
        const target: WireTarget = { url, key, models: await this.supervisor.listModels() };
        for (const id of wired) {
          try {
            const changes = ASSISTANT_FILES[id].changes(readText, places(), target);
            updated.push(...followChanges(changes, this.recordFile(id)));
          } catch (error) {
            traceWarn(`could not update ${ASSISTANT_FILES[id].label}'s files: ${errorText(error)}`);
          }
        }
      } catch (error) {
        traceWarn(`could not list the models for the assistants' files: ${errorText(error)}`);
      }
    }
    if (updated.length) traceInfo(`now pointing at ${url}: updated ${updated.join(", ")}`);
    return updated;
  }


  /** Where the record of what was written to an assistant's files is kept (for undo and follow). */
  private recordFile(id: FileAssistant): string {
    return path.join(this.context.globalStorageUri.fsPath, "wired", `${id}.json`);
  }


  /** Fetches `status` for the status item: after a notification, when the menu opens; never on a timer. */
  private async refreshStatus(): Promise<void> {
    if (this.statusFetch) {
      this.statusAgain = true;
      return this.statusFetch;
    }
    this.statusFetch = (async () => {
      do {
        this.statusAgain = false;
        const sup = this.supervisor;
        if (sup?.state.phase !== "running") return;
        try {
          this.lastStatus = await sup.status();
          this.statusItem.update(sup.state, this.lastStatus);
        } catch {
          // the state handler reports a daemon that went away
        }
      } while (this.statusAgain);
    })().finally(() => {
      this.statusFetch = undefined;
    });
    return this.statusFetch;
  }

  private ensureStarted(): Promise<DaemonSupervisor | undefined> {
    this.starting ??= this.startOnce().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async startOnce(): Promise<DaemonSupervisor | undefined> {
    // a stop in progress (a restart) finishes first: a new daemon must not attach to the old one
    if (this.stopping) await this.stopping;
    if (!this.supervisor) {
      this.startedWith = restartSettings();
      this.supervisor = await this.createSupervisor(getSettings());
    }
    if (!this.supervisor) return undefined;
    if (this.supervisor.state.phase !== "running") {
      try {
        await this.supervisor.start();
        await this.refreshStatus();
      } catch (error) {
        traceError(`could not start: ${errorText(error)}`);
        return undefined;
      }
    }
    return this.supervisor;
  }

  private stopDaemon(): Promise<void> {
    const sup = this.supervisor;
    this.supervisor = undefined;
    this.lastStatus = undefined;
    const previous = this.stopping ?? Promise.resolve();
    this.stopping = previous
      .then(async () => {
        if (sup) await sup.dispose();
        this.statusItem.update({ phase: "stopped" });
        this.wireTerminals({ phase: "stopped" });
        this.lastListenUrl = undefined;
        this.chatProvider.refresh();
        this.followActivity({ phase: "stopped" });
      })
      .finally(() => {
        this.stopping = undefined;
      });
    return this.stopping;
  }

  private async restartDaemon(): Promise<void> {
    await this.stopDaemon();
    await this.ensureStarted();
  }


  private restartSettingsChanged(): boolean {
    // VS Code reports a folder's restricted settings as changed (e.g. in Restricted Mode)
    // although the values in force are the user's, and the same
    return restartSettings() !== this.startedWith;
  }

  private scheduleRestart(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      traceInfo("settings changed: restarting the daemon");
      void this.restartDaemon();
    }, RESTART_DEBOUNCE_MS);
  }

  private async withDaemon(action: (sup: DaemonSupervisor) => Promise<void>): Promise<void> {
    const sup = await this.ensureStarted();
    if (!sup) {
      void api.showError("argo-proxy is not running; see the log for why.", "Show Logs").then((c) => c && this.showLog());
      return;
    }
    try {
      await action(sup);
    } catch (error) {
      traceError(errorText(error));
      void api.showError(`argo-proxy: ${errorText(error)}`);
    }
  }



  private readonly commands: { id: string; label: string; run: () => Promise<void> }[] = [
    { id: "argoProxy.start", label: "Start", run: async () => void (await this.ensureStarted()) },
    { id: "argoProxy.stop", label: "Stop", run: () => this.stopDaemon() },
    { id: "argoProxy.restart", label: "Restart", run: () => this.restartDaemon() },
    {
      id: "argoProxy.refreshModels",
      label: "Refresh models",
      run: () =>
        this.withDaemon(async (sup) => {
          const r = await sup.refresh();
          const text = `${r.message}: ${r.current.unique_models} models, ${r.current.total_aliases} aliases`;
          if (r.status === "ok") void api.showInfo(text);
          else void api.showError(text);
        }),
    },
    {
      id: "argoProxy.switchEnvironment",
      label: "Switch ARGO environment (prod, dev, test)",
      run: () => this.withDaemon((sup) => this.switchEnvironment(sup)),
    },
    {
      id: "argoProxy.clearRequests",
      label: "Clear the request list",
      run: () => Promise.resolve(this.activity.clearRequests()),
    },
    {
      id: "argoProxy.toggleLegacy",
      label: "Toggle legacy mode",
      run: () =>
        this.withDaemon(async (sup) => {
          const { enabled } = await sup.getLegacy();
          const r = await sup.setLegacy(!enabled);
          void api.showInfo(`argo-proxy legacy mode ${r.enabled ? "on" : "off"} (from the next request; the config file is unchanged)`);
        }),
    },
    {
      id: "argoProxy.openConfig",
      label: "Open config file",
      run: async () => {
        const configured = getSettings().configFile || this.lastStatus?.config_path || defaultConfigPath();
        if (!fs.existsSync(configured)) {
          // a commented template; the daemon picks it up when it is saved (hot reload)
          fs.mkdirSync(path.dirname(configured), { recursive: true });
          fs.writeFileSync(configured, configTemplate(getSettings().username), { mode: 0o600 });
          traceInfo(`created ${configured} from the template`);
        }
        await api.openFile(configured);
      },
    },
    {
      id: "argoProxy.showStatus",
      label: "Show status",
      run: () =>
        this.withDaemon(async (sup) => {
          const s = await sup.status();
          traceInfo(JSON.stringify(s, null, 2));
          this.showLog();
        }),
    },
    {
      id: "argoProxy.listModels",
      label: "List models",
      run: () =>
        this.withDaemon(async (sup) => {
          const url = sup.state.listenUrl;
          if (!url) throw new Error("the daemon has no listen address yet");
          const key = clientKey(sup.state.access, getSettings().username);
          const reply = await fetch(`${clientUrl(url)}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
          if (!reply.ok) throw new Error(`GET /v1/models: HTTP ${reply.status}`);
          const body = (await reply.json()) as { data?: { id: string; owned_by?: string }[] };
          const items = (body.data ?? []).map((m) => ({ label: m.id, description: m.owned_by, value: m.id }));
          const picked = await api.quickPick(items, "Pick a model to copy its alias");
          if (picked) {
            await api.copyToClipboard(picked.value);
            void api.showInfo(`Copied ${picked.value}`);
          }
        }),
    },
    {
      id: "argoProxy.copyClientSetup",
      label: "Copy the set-up of a client",
      run: () =>
        this.withDaemon(async (sup) => {
          const items = ASSISTANTS.map((a) => ({ label: ASSISTANT_LABELS[a], value: a }));
          const picked = await api.quickPick(items, "Which client?");
          if (!picked || !sup.state.listenUrl) return;
          const key = keyText(sup.state.access, getSettings().username, this.commandPlace);
          await api.copyToClipboard(clientSetup(picked.value, sup.state.listenUrl, key));
          void api.showInfo(`Copied the ${picked.label} set-up`);
        }),
    },
    {
      id: "argoProxy.copyToken",
      label: "Copy the access token",
      run: () =>
        this.withDaemon(async (sup) => {
          const access = await sup.getToken();
          if (access.auth !== "token" || !access.token) {
            void api.showInfo("argo-proxy runs with `auth: none`: it asks for no token, and clients may send any key.");
            return;
          }
          await api.copyToClipboard(access.token);
          void api.showInfo(`Copied the access token (from ${access.tokenFile}); it works until it is rotated.`);
        }),
    },
    {
      id: "argoProxy.rotateToken",
      label: "Rotate the access token",
      run: () =>
        this.withDaemon(async (sup) => {
          if (sup.state.access?.auth !== "token") {
            void api.showInfo("argo-proxy runs with `auth: none`: there is no token to rotate.");
            return;
          }
          const detail =
            "The old token is refused from now on. New terminals get the new one; terminals already open " +
            "keep the old one until you relaunch them, and so do tools started with `argo-proxy run`. " +
            "Settings the extension wrote for Claude Code are updated.";
          if (!(await api.confirm("Rotate the argo-proxy access token?", detail, "Rotate"))) return;
          await sup.rotateToken(); // state.access changes at once: terminals and settings follow
          const updated = await this.following;
          const also = updated.length ? `; updated ${updated.join(", ")}` : "";
          void api.showInfo(`New access token in force. Relaunch open terminals to give them the new token${also}.`);
        }),
    },
    {
      id: "argoProxy.wireClaudeCode",
      label: "Point the Claude Code extension at argo-proxy",
      run: () =>
        this.withDaemon(async (sup) => {
          const url = sup.state.listenUrl;
          if (!url) throw new Error("the daemon has no listen address yet");
          const key = clientKey(sup.state.access, getSettings().username);
          const value = withClaudeCodeVariables(
            api.getGlobalSetting("claudeCode", "environmentVariables"),
            clientUrl(url),
            key,
          );
          const shown = value.map((e) => `${e.name}=${e.value === key ? masked(key) : e.value}`).join("\n");
          const why =
            sup.state.access?.auth === "token"
              ? "\n\nANTHROPIC_API_KEY is the daemon's access token, written in clear into your user " +
                "settings.json (Settings Sync, if on, copies it). When the token is rotated or the port " +
                "changes, the extension updates these entries while they are as written here."
              : "";
          if (
            !(await api.confirm("Write these to your user setting claudeCode.environmentVariables?", shown + why, "Write"))
          ) {
            return;
          }
          const before = api.getGlobalSetting("claudeCode", "environmentVariables");
          if (this.context.globalState.get(WROTE_CLAUDE_CODE) === undefined) {
            await this.context.globalState.update(CLAUDE_CODE_BEFORE, { value: before ?? null });
          }
          await api.updateGlobalSetting("claudeCode", "environmentVariables", value);
          await this.context.globalState.update(WROTE_CLAUDE_CODE, { url: clientUrl(url), keyHash: keyHash(key) });
          const choice = await api.showInfo("Claude Code now uses argo-proxy (other variables kept).", "Undo");
          if (choice === "Undo") await this.undoClaudeCode();
        }),
    },
    ...FILE_ASSISTANTS.map((id) => ({
      id: `argoProxy.wire${WIRE_COMMAND[id]}`,
      label: `Point ${ASSISTANT_FILES[id].label} at argo-proxy`,
      run: () => this.wireFiles(id),
    })),
    { id: "argoProxy.undoWiring", label: "Undo pointing an assistant at argo-proxy", run: () => this.undoWiring() },
    { id: "argoProxy.install", label: "Install argo-proxy (a private environment)", run: () => this.installDaemon() },
  ];

  /** Picks prod, dev or test and has the daemon write it to its config file (`config.setEnvironment`). */
  private async switchEnvironment(sup: DaemonSupervisor): Promise<void> {
    const status = this.lastStatus ?? (await sup.status());
    const current = environmentOf(status.argo_base_url);
    const items: api.PickItem<ArgoEnvironment>[] = ENVIRONMENTS.map((e) => ({
      label: e.env,
      description: e.url,
      detail: [e.env === current ? "current" : "", e.note].filter(Boolean).join(" · ") || undefined,
      value: e.env,
    }));
    const now = current ? `now ${current}` : `now ${status.argo_base_url}`;
    const picked = await api.quickPick(items, `ARGO environment (${now}); written to the daemon's config file`);
    if (!picked) return;
    try {
      const result = await sup.setEnvironment(picked.value);
      traceInfo(environmentMessage(result));
      void api.showInfo(environmentMessage(result));
      void this.refreshStatus();
    } catch (error) {
      if (!(error instanceof MethodMissing)) throw error;
      await api.setContext(NO_ENV_SWITCH, true);
      const message = environmentUnavailable(status.version);
      traceWarn(message);
      const choice = await api.showWarning(message, "Open Config File");
      if (choice) await api.executeCommand("argoProxy.openConfig");
    }
  }

  /** Shows what pointing an assistant at the daemon changes in its files, asks, writes, and offers undo. */
  private async wireFiles(id: FileAssistant): Promise<void> {
    await this.withDaemon(async (sup) => {
      const url = sup.state.listenUrl;
      if (!url) throw new Error("the daemon has no listen address yet");
      const key = clientKey(sup.state.access, getSettings().username);
      const assistant = ASSISTANT_FILES[id];
      const target: WireTarget = { url: clientUrl(url), key, models: await sup.listModels() };
      const changes = assistant.changes(readText, places(), target).filter((c) => c.before !== c.after);
      if (!changes.length) {
        void api.showInfo(`${assistant.label} already uses argo-proxy at ${target.url}.`);
        return;
      }
      const shown = changes.map((c) => describeChange(c, (line) => line.split(key).join(masked(key)))).join("\n\n");
      const detail = `${shown}\n\nEverything else in these files stays. ${assistant.keyNote} ` +
        "The extension keeps them current when the port or the token changes, while they are as written here; " +
        '"argo-proxy: Undo pointing an assistant at argo-proxy" puts back what was there.';
      if (!(await api.confirm(`Point ${assistant.label} at argo-proxy?`, detail, "Write"))) return;
      applyChanges(changes, this.recordFile(id));
      traceInfo(`${assistant.label}: wrote ${changes.map((c) => c.file).join(", ")}`);
      const choice = await api.showInfo(`${assistant.label} now uses argo-proxy.`, "Undo");
      if (choice === "Undo") reportUndo(assistant.label, undoChanges(this.recordFile(id)));
    });
  }


  private async undoClaudeCode(): Promise<void> {
    const before = this.context.globalState.get<{ value: unknown }>(CLAUDE_CODE_BEFORE);
    await api.updateGlobalSetting("claudeCode", "environmentVariables", before?.value ?? undefined);
    await this.context.globalState.update(WROTE_CLAUDE_CODE, undefined);
    await this.context.globalState.update(CLAUDE_CODE_BEFORE, undefined);
    void api.showInfo("Claude Code: claudeCode.environmentVariables is back as it was.");
  }

  private async undoWiring(): Promise<void> {
    const items: api.PickItem<FileAssistant | "claude">[] = FILE_ASSISTANTS.filter((id) => hasRecord(this.recordFile(id))).map(
      (id) => ({ label: ASSISTANT_FILES[id].label, value: id }),
    );
    if (this.context.globalState.get(WROTE_CLAUDE_CODE) !== undefined) items.unshift({ label: "Claude Code", value: "claude" });
    if (!items.length) {
      void api.showInfo("argo-proxy has not pointed any assistant at itself (or it was undone).");
      return;
    }
    const picked = await api.quickPick(items, "Put back which assistant's settings?");
    if (!picked) return;
    if (picked.value === "claude") await this.undoClaudeCode();
    else reportUndo(picked.label, undoChanges(this.recordFile(picked.value)));
  }

  private async showMenu(): Promise<void> {
    void this.refreshStatus(); // the tooltip's figures, fetched when looked at
    const items = this.commands.map((c) => ({ label: c.label, value: c.id }));
    const picked = await api.quickPick(items, "argo-proxy");
    if (picked) await api.executeCommand(picked.value);
  }
}

let controller: ArgoProxyController | undefined;

export function activate(context: vscode.ExtensionContext): void {
  controller = new ArgoProxyController(context);
}

export async function deactivate(): Promise<void> {
  const stopping = controller;
  controller = undefined;
  await stopping?.dispose();
}
