// The thin VS Code side: settings in, a DaemonSupervisor, the status item, the
// language models, the ARGO view (requests and usage), commands, the terminal
// environment and the assistants' files (through `argo-proxy setup` and `env`: the
// wiring itself is the Python command's). One ArgoProxyController holds all of it:
// made by `activate`, disposed by `deactivate` (which stops the daemon it started).
// Everything that talks to the daemon or writes files lives in src/daemon/ (plain
// Node, tested with `node --test`).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { Activity } from "./daemon/activity";
import { clientKey, clientUrl } from "./daemon/access";
import { breakersMayHaveMoved } from "./daemon/breakers";
import { Endpoint } from "./daemon/chat";
import { CLIENT_LABELS, CLIENTS, clientSetup, CommandPlace, keyText } from "./daemon/clientSetup";
import { configTemplate } from "./daemon/configTemplate";
import { findExecutable, searchedPlaces } from "./daemon/executable";
import { ENVIRONMENTS, environmentMessage, environmentOf, environmentUnavailable } from "./daemon/environments";
import {
  findPython,
  installPrivateDaemon,
  InstallError,
  needsUpdate,
  pythonCandidates,
  shippedWheel,
} from "./daemon/install";
import { ArgoEnvironment, EnvResult, MethodMissing, StatusResult } from "./daemon/protocol";
import { CONTROL_SOCKET_ENV } from "./daemon/socket";
import { DaemonSupervisor, SupervisorState } from "./daemon/supervisor";
import { ArgoChatProvider, VENDOR } from "./languageModels";
import { registerLogger, traceDaemon, traceError, traceInfo, traceWarn } from "./log";
import { affectsTerminals, getSettings, needsRestart, Settings } from "./settings";
import { registerRequestsView } from "./requestsView";
import { StatusItem } from "./status";
import { registerUsageView } from "./usageView";
import {
  applySetup,
  clientEnv,
  ArgoProxyCommand,
  describePlan,
  followSetup,
  hasChanges,
  planSetup,
  setupStatus,
  terminalVariables,
  undoMessage,
  undoSetup,
  WIRE_COMMANDS,
} from "./daemon/wiring";
import * as api from "./vscodeapi";

const RESTART_DEBOUNCE_MS = 1000;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function defaultConfigPath(): string {
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config");
  return path.join(base, "argo-proxy", "config.yaml");
}

function restartSettings(): string {
  const s = getSettings();
  return JSON.stringify([s.executablePath, s.configFile, s.serveArgs, s.controlSocket]);
}

/** Set when the daemon has no config.setEnvironment (hides the view's button; the command says why). */
const NO_ENV_SWITCH = "argoProxy.environmentSwitchUnavailable";

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
  /** The editor's `argo-proxy`, daemon and config, for `setup` and `env` (once there is a supervisor). */
  private daemonCommand: ArgoProxyCommand | undefined;
  /** Wiring terminals and keeping assistants' files current run one at a time; names what each run updated. */
  private following: Promise<string[]> = Promise.resolve([]);
  /** The address and key the assistants' files were last brought up to date with. */
  private followedKey: string | undefined;
  /** `env --json` for the daemon's address and key now (asked again when they change). */
  private envCache: { key: string; env: EnvResult } | undefined;
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
        else if (affectsTerminals(affects) && this.supervisor) this.follow(this.supervisor.state);
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
    // `setup` and `env` ask the same daemon, and read the same config when it is down
    this.daemonCommand = { executable: found.path, configPath: settings.configFile || undefined, controlSocket: sup.socketPath };
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
    const listenUrl = state.phase === "running" ? state.listenUrl : undefined;
    if (listenUrl !== this.lastListenUrl) {
      this.lastListenUrl = listenUrl;
      this.chatProvider.refresh(); // started, stopped or moved: the models are asked for again
    }
    this.follow(state);
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

  /**
   * Terminals and the assistants' files follow the daemon: its address and key now,
   * one run at a time (a rotation waits for it, to say what it updated).
   */
  private follow(state: SupervisorState): void {
    if (state.phase !== "running" || !state.listenUrl) {
      this.envCache = undefined;
      this.setTerminals(undefined);
      return;
    }
    const now = `${clientUrl(state.listenUrl)} ${clientKey(state.access, getSettings().username)}`;
    this.following = this.following.then(async () => {
      await this.wireTerminals(now);
      return this.followAssistantFiles(now);
    });
  }

  private setTerminals(env: Record<string, string> | undefined): void {
    api.setTerminalEnv(this.context.environmentVariableCollection, env, "Points coding assistants at argo-proxy");
  }

  /**
   * The terminals' variables, from `argo-proxy env --json` (its values, and its table
   * of which assistant reads which): set while the daemon runs, cleared when it stops.
   */
  private async wireTerminals(now: string): Promise<void> {
    const settings = getSettings();
    const daemon = this.daemonCommand;
    if (!settings.wireTerminals || !daemon) {
      this.setTerminals(undefined);
      return;
    }
    try {
      if (this.envCache?.key !== now) this.envCache = { key: now, env: await clientEnv(daemon) };
      if (this.supervisor?.state.phase !== "running") return; // stopped meanwhile: left cleared
      const env = terminalVariables(this.envCache.env, settings.assistants);
      // `argo-proxy token|env|run|ctl` typed there then ask this daemon too
      if (settings.controlSocket && this.supervisor) env[CONTROL_SOCKET_ENV] = this.supervisor.socketPath;
      this.setTerminals(env);
    } catch (error) {
      traceWarn(`could not get the terminals' variables (argo-proxy env --json): ${errorText(error)}`);
    }
  }

  /**
   * The assistants `argo-proxy setup` has pointed at the daemon (from the editor or a
   * terminal) are pointed again when its address or key changes: `setup` rewrites
   * only its own entries. Returns the files it rewrote.
   */
  private async followAssistantFiles(now: string): Promise<string[]> {
    const daemon = this.daemonCommand;
    if (!daemon || this.followedKey === now) return [];
    this.followedKey = now;
    try {
      const written = await followSetup(daemon);
      if (written.length) traceInfo(`now pointing at ${now.split(" ")[0]}: rewrote ${written.join(", ")}`);
      return written;
    } catch (error) {
      traceWarn(`could not bring the assistants' files up to date (argo-proxy setup): ${errorText(error)}`);
      return [];
    }
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
        this.follow({ phase: "stopped" });
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
          const items = CLIENTS.map((a) => ({ label: CLIENT_LABELS[a], value: a }));
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
            "Files `argo-proxy setup` wrote for assistants are updated.";
          if (!(await api.confirm("Rotate the argo-proxy access token?", detail, "Rotate"))) return;
          await sup.rotateToken(); // state.access changes at once: terminals and settings follow
          const updated = await this.following;
          const also = updated.length ? `; updated ${updated.join(", ")}` : "";
          void api.showInfo(`New access token in force. Relaunch open terminals to give them the new token${also}.`);
        }),
    },
    ...Object.entries(WIRE_COMMANDS).map(([tool, { command, label }]) => ({
      id: command,
      label: `Point ${label} at argo-proxy`,
      run: () => this.wireAssistant(tool),
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

  /**
   * Points an assistant at the daemon with `argo-proxy setup`: shows its diff (a dry
   * run), asks, has it write (it keeps a backup), and offers undo.
   */
  private async wireAssistant(tool: string): Promise<void> {
    await this.withDaemon(async () => {
      const daemon = this.daemonCommand;
      if (!daemon) throw new Error("argo-proxy was not found");
      const plan = await planSetup(daemon, [tool]);
      const label = plan.plans[0]?.label ?? WIRE_COMMANDS[tool].label;
      if (!hasChanges(plan)) {
        void api.showInfo(`${label} already uses argo-proxy; nothing to change.`);
        return;
      }
      const detail =
        `${describePlan(plan)}\n\nEverything else in these files stays. When the port or the token changes, ` +
        "the extension runs `argo-proxy setup` again; " +
        '"argo-proxy: Undo pointing an assistant at argo-proxy" puts back what was there.';
      if (!(await api.confirm(`Point ${label} at argo-proxy?`, detail, "Write"))) return;
      const written = (await applySetup(daemon, [tool])).written?.[tool] ?? [];
      traceInfo(`${label}: wrote ${written.join(", ") || "nothing"} (argo-proxy setup ${tool})`);
      const choice = await api.showInfo(`${label} now uses argo-proxy.`, "Undo");
      if (choice === "Undo") await this.undoAssistant(tool, label);
    });
  }

  private async undoAssistant(tool: string, label: string): Promise<void> {
    const daemon = this.daemonCommand;
    if (!daemon) throw new Error("argo-proxy was not found");
    const undone = (await undoSetup(daemon, [tool])).undone[tool];
    const message = undoMessage(label, undone);
    traceInfo(message);
    void api.showInfo(message);
  }

  private async undoWiring(): Promise<void> {
    await this.withDaemon(async () => {
      const daemon = this.daemonCommand;
      if (!daemon) throw new Error("argo-proxy was not found");
      const items = (await setupStatus(daemon)).tools.filter((t) => t.set_up).map((t) => ({ label: t.label, value: t.tool }));
      if (!items.length) {
        void api.showInfo("argo-proxy has not pointed any assistant at itself (or it was undone).");
        return;
      }
      const picked = await api.quickPick(items, "Put back which assistant's files?");
      if (picked) await this.undoAssistant(picked.value, picked.label);
    });
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
