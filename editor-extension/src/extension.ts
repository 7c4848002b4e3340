// The thin VS Code side: settings in, a DaemonSupervisor, the status item, the
// language models, the ARGO view (requests and usage), commands, the terminal
// environment and the assistants' files.
// Everything that talks to the daemon or writes files lives in src/daemon/ (plain
// Node, tested with `node --test`).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { Activity } from "./daemon/activity";
import { ASSISTANT_FILES, FileAssistant, FILE_ASSISTANTS, WireTarget } from "./daemon/assistantFiles";
import { configTemplate, followClaudeCode, keyHash, withClaudeCodeVariables, Written } from "./daemon/assistantSettings";
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

let supervisor: DaemonSupervisor | undefined;
let subscriptions: vscode.Disposable[] = [];
let statusItem: StatusItem | undefined;
let lastStatus: StatusResult | undefined;
let context: vscode.ExtensionContext;
let restartTimer: NodeJS.Timeout | undefined;
let chatProvider: ArgoChatProvider | undefined;
/** A status fetch in flight, and whether another was asked for meanwhile. */
let statusFetch: Promise<void> | undefined;
let statusAgain = false;
let showLog: () => void = () => undefined;
/** How pasted commands reach the same `argo-proxy` and daemon as the editor. */
let commandPlace: CommandPlace = {};
/** The ARGO view's requests and usage (src/daemon/activity.ts). */
let activity: Activity | undefined;
let usageView: { update(): void } | undefined;
/** The supervisor the activity is connected to (a new one, or a restart, connects again). */
let activityDaemon: { sup: DaemonSupervisor; pid?: number } | undefined;
/** This extension's version (package.json), sent in its requests' User-Agent. */
let extensionVersion: string | undefined;
/** Set when the daemon has no config.setEnvironment (hides the view's button; the command says why). */
const NO_ENV_SWITCH = "argoProxy.environmentSwitchUnavailable";
/** Keeping assistants' settings current runs one at a time; names what each run updated. */
let following: Promise<string[]> = Promise.resolve([]);

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function privateVenv(): string {
  return path.join(context.globalStorageUri.fsPath, "venv");
}

function executableSearch(settings: Settings, pythonInterpreter: string | undefined): Parameters<typeof findExecutable>[0] {
  return {
    executablePath: settings.executablePath,
    pythonInterpreter,
    pathEnv: process.env.PATH ?? "",
    platform: process.platform,
    home: os.homedir(),
    env: process.env,
    privateVenv: privateVenv(),
  };
}

let offeredInstall = false;

async function offerInstall(settings: Settings, pythonInterpreter: string | undefined): Promise<void> {
  if (offeredInstall) return; // once a session; the status item keeps saying it
  offeredInstall = true;
  const places = searchedPlaces(executableSearch(settings, pythonInterpreter));
  traceWarn(`argo-proxy was not found; looked in ${places.join(", ")}`);
  const message =
    "argo-proxy: the `argo-proxy` daemon was not found (looked on PATH, in the selected Python environment, " +
    "~/.local/bin, pipx and uv tool places). Install it into a private environment of this extension?";
  const choice = await api.showError(message, "Install argo-proxy", "Open Settings", "Show Logs");
  if (choice === "Install argo-proxy") await api.executeCommand("argoProxy.install");
  else if (choice === "Open Settings") await api.executeCommand("workbench.action.openSettings", "argoProxy.executablePath");
  else if (choice === "Show Logs") showLog();
}

async function createSupervisor(settings: Settings): Promise<DaemonSupervisor | undefined> {
  const pythonInterpreter = await api.activePythonInterpreter();
  const found = findExecutable(executableSearch(settings, pythonInterpreter), (p) => fs.existsSync(p));
  if (!found) {
    statusItem?.update({ phase: "error", message: "argo-proxy was not found: run \"argo-proxy: Install argo-proxy\"" });
    void offerInstall(settings, pythonInterpreter);
    return undefined;
  }
  if (found.source === "private") await updatePrivateDaemon();
  traceInfo(`using ${found.path} (from the ${found.source})`);
  commandPlace = {
    executable: found.source === "path" ? undefined : found.path,
    controlSocket: settings.controlSocket || undefined,
  };
  const sup = new DaemonSupervisor({
    executable: found.path,
    configPath: settings.configFile || undefined,
    extraArgs: settings.serveArgs,
    controlSocket: settings.controlSocket || undefined,
  });
  subscriptions.push(
    sup.onLog((l) => (l.source === "daemon" ? traceDaemon(l.line) : traceInfo(l.line))),
    sup.onState((s) => onState(s)),
    sup.onNotification((n) => {
      switch (n.method) {
        case "config.error":
          traceError(`config not applied: ${n.params.message}`);
          void api.showError(`argo-proxy: ${n.params.message} (${n.params.kept ?? "not applied"})`, "Show Logs").then(
            (c) => c && showLog(),
          );
          break;
        case "config.changed":
          traceInfo(`config applied: ${n.params.message}`);
          break;
        case "models.refreshed":
          if (n.params.status === "error") traceWarn(`model refresh failed: ${n.params.message}`);
          chatProvider?.refresh();
          break;
        case "state.changed":
          traceInfo(`daemon ${n.params.phase}: ${n.params.reason}`);
          break;
        case "token.changed":
          traceInfo(`access token rotated (${n.params.token_file}); terminals and settings follow`);
          break;
        case "request.finished":
          activity?.recordFinished(n.params);
          // the counters, when the daemon sends them; else fetched (one fetch at a time)
          if (n.params.counters && lastStatus) {
            lastStatus = { ...lastStatus, counters: n.params.counters };
            statusItem?.update(sup.state, lastStatus);
            return;
          }
          break;
      }
      void refreshStatus();
    }),
  );
  return sup;
}

/** A private daemon installed by an older version of the extension is brought up to the shipped wheel. */
async function updatePrivateDaemon(): Promise<void> {
  const wheel = shippedWheel(context.extensionPath);
  if (!wheel || !needsUpdate(privateVenv(), wheel)) return;
  try {
    await api.withProgress("argo-proxy: updating the private daemon", (report) =>
      installPrivateDaemon({
        venv: privateVenv(),
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

async function installDaemon(): Promise<void> {
  const wheel = shippedWheel(context.extensionPath);
  if (!wheel) {
    void api.showError("argo-proxy: this build of the extension carries no daemon wheel; install argo-proxy with pip.");
    return;
  }
  const { found, tried } = await findPython(pythonCandidates(await api.activePythonInterpreter(), process.platform));
  if (!found) {
    traceError(`no Python 3.10+ found: ${tried.join("; ")}`);
    void api
      .showError("argo-proxy needs Python 3.10 or newer to install, and none was found (see the log).", "Show Logs")
      .then((c) => c && showLog());
    return;
  }
  traceInfo(`installing argo-proxy into ${privateVenv()} with Python ${found.version} (${found.executable})`);
  try {
    await api.withProgress("Installing argo-proxy", (report) =>
      installPrivateDaemon({
        venv: privateVenv(),
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
    void api.showError(`argo-proxy: ${errorText(error)}`, "Show Logs").then((c) => c && showLog());
    return;
  }
  offeredInstall = false;
  void api.showInfo("argo-proxy is installed; starting it.");
  await restartDaemon();
}

let lastListenUrl: string | undefined;

function onState(state: SupervisorState): void {
  statusItem?.update(state, state.phase === "running" ? lastStatus : undefined);
  followActivity(state);
  wireTerminals(state);
  const listenUrl = state.phase === "running" ? state.listenUrl : undefined;
  if (listenUrl !== lastListenUrl) {
    lastListenUrl = listenUrl;
    chatProvider?.refresh(); // started, stopped or moved: the models are asked for again
  }
  if (state.phase === "running" && state.listenUrl) {
    const { listenUrl } = state;
    const key = clientKey(state.access, getSettings().username);
    following = following.then(() => followAssistantSettings(listenUrl, key));
  }
  if (state.phase === "error" && state.message) {
    traceError(state.message);
    void api.showError(`argo-proxy: ${state.message.split("\n")[0]}`, "Retry", "Show Logs").then((c) => {
      if (c === "Retry") void restartDaemon();
      else if (c) showLog();
    });
  }
}

/**
 * The ARGO view follows the daemon: a daemon that is up (started, attached, or
 * restarted: another pid) is asked for its records and usage once; from then on its
 * notifications drive the view.
 */
function followActivity(state: SupervisorState): void {
  const sup = supervisor;
  usageView?.update();
  if (!activity) return;
  if (state.phase === "running" && sup) {
    if (activityDaemon?.sup === sup && activityDaemon.pid === state.pid) return;
    activityDaemon = { sup, pid: state.pid };
    void api.setContext(NO_ENV_SWITCH, false);
    void activity.connect(sup);
  } else if (state.phase !== "running" && activityDaemon) {
    activityDaemon = undefined;
    activity.disconnect();
  }
}

/** The terminals' variables: set from the real URL and the token, cleared when the daemon is not running. */
function wireTerminals(state: SupervisorState): void {
  const settings = getSettings();
  let env: Record<string, string> | undefined;
  if (settings.wireTerminals && state.phase === "running" && state.listenUrl) {
    env = terminalEnv(state.listenUrl, clientKey(state.access, settings.username), settings.assistants);
    // `argo-proxy token|env|run|ctl` typed there then ask this daemon too
    if (settings.controlSocket && supervisor) env[CONTROL_SOCKET_ENV] = supervisor.socketPath;
  }
  api.setTerminalEnv(context.environmentVariableCollection, env, "Points coding assistants at argo-proxy");
}

/**
 * Keep what the wire commands wrote current when the port or the token changes —
 * only while the setting still holds what was written (else it is the user's).
 * Returns what it updated.
 */
async function followAssistantSettings(listenUrl: string, key: string): Promise<string[]> {
  const url = clientUrl(listenUrl);
  const updated: string[] = [];
  try {
    const existing = api.getGlobalSetting("claudeCode", "environmentVariables");
    const next = followClaudeCode(existing, context.globalState.get<Written>(WROTE_CLAUDE_CODE), url, key);
    if (next) {
      await api.updateGlobalSetting("claudeCode", "environmentVariables", next);
      await context.globalState.update(WROTE_CLAUDE_CODE, { url, keyHash: keyHash(key) });
      updated.push("claudeCode.environmentVariables");
    }
  } catch (error) {
    traceWarn(`could not update claudeCode.environmentVariables: ${errorText(error)}`);
  }
  const wired = FILE_ASSISTANTS.filter((id) => hasRecord(recordFile(id)));
  if (wired.length && supervisor) {
    try {
      const target: WireTarget = { url, key, models: await supervisor.listModels() };
      for (const id of wired) {
        try {
          const changes = ASSISTANT_FILES[id].changes(readText, places(), target);
          updated.push(...followChanges(changes, recordFile(id)));
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

function places(): { home: string; env: NodeJS.ProcessEnv } {
  return { home: os.homedir(), env: process.env };
}

/** Where the record of what was written to an assistant's files is kept (for undo and follow). */
function recordFile(id: FileAssistant): string {
  return path.join(context.globalStorageUri.fsPath, "wired", `${id}.json`);
}

/** A token shown in a dialog: enough to recognise it, not enough to use it. */
function masked(key: string): string {
  return key.startsWith("ap-") && key.length > 12 ? `${key.slice(0, 7)}…` : key;
}

/** Fetches `status` for the status item: after a notification, when the menu opens; never on a timer. */
async function refreshStatus(): Promise<void> {
  if (statusFetch) {
    statusAgain = true;
    return statusFetch;
  }
  statusFetch = (async () => {
    do {
      statusAgain = false;
      const sup = supervisor;
      if (sup?.state.phase !== "running") return;
      try {
        lastStatus = await sup.status();
        statusItem?.update(sup.state, lastStatus);
      } catch {
        // the state handler reports a daemon that went away
      }
    } while (statusAgain);
  })().finally(() => {
    statusFetch = undefined;
  });
  return statusFetch;
}

/** One start at a time: activation, commands and the language models may all ask at once. */
let starting: Promise<DaemonSupervisor | undefined> | undefined;

function ensureStarted(): Promise<DaemonSupervisor | undefined> {
  starting ??= startOnce().finally(() => {
    starting = undefined;
  });
  return starting;
}

async function startOnce(): Promise<DaemonSupervisor | undefined> {
  // a stop in progress (a restart) finishes first: a new daemon must not attach to the old one
  if (stopping) await stopping;
  if (!supervisor) {
    startedWith = restartSettings();
    supervisor = await createSupervisor(getSettings());
  }
  if (!supervisor) return undefined;
  if (supervisor.state.phase !== "running") {
    try {
      await supervisor.start();
      await refreshStatus();
    } catch (error) {
      traceError(`could not start: ${errorText(error)}`);
      return undefined;
    }
  }
  return supervisor;
}

let stopping: Promise<void> | undefined;

function stopDaemon(): Promise<void> {
  const sup = supervisor;
  supervisor = undefined;
  lastStatus = undefined;
  const previous = stopping ?? Promise.resolve();
  stopping = previous
    .then(async () => {
      if (sup) await sup.dispose();
      statusItem?.update({ phase: "stopped" });
      wireTerminals({ phase: "stopped" });
      lastListenUrl = undefined;
      chatProvider?.refresh();
      followActivity({ phase: "stopped" });
    })
    .finally(() => {
      stopping = undefined;
    });
  return stopping;
}

async function restartDaemon(): Promise<void> {
  await stopDaemon();
  await ensureStarted();
}

/** What the running daemon was started with; a change event that leaves it as it was restarts nothing. */
let startedWith = "";

function restartSettings(): string {
  const s = getSettings();
  return JSON.stringify([s.executablePath, s.configFile, s.serveArgs, s.controlSocket]);
}

function restartSettingsChanged(): boolean {
  // VS Code reports a folder's restricted settings as changed (e.g. in Restricted Mode)
  // although the values in force are the user's, and the same
  return restartSettings() !== startedWith;
}

function scheduleRestart(): void {
  if (restartTimer) clearTimeout(restartTimer);
  restartTimer = setTimeout(() => {
    restartTimer = undefined;
    traceInfo("settings changed: restarting the daemon");
    void restartDaemon();
  }, RESTART_DEBOUNCE_MS);
}

async function withDaemon(action: (sup: DaemonSupervisor) => Promise<void>): Promise<void> {
  const sup = await ensureStarted();
  if (!sup) {
    void api.showError("argo-proxy is not running; see the log for why.", "Show Logs").then((c) => c && showLog());
    return;
  }
  try {
    await action(sup);
  } catch (error) {
    traceError(errorText(error));
    void api.showError(`argo-proxy: ${errorText(error)}`);
  }
}

function defaultConfigPath(): string {
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config");
  return path.join(base, "argo-proxy", "config.yaml");
}

/** The command id of each "Point … at argo-proxy" (argoProxy.wireCodex, …). */
const WIRE_COMMAND: Record<FileAssistant, string> = {
  codex: "Codex",
  gemini: "Gemini",
  aider: "Aider",
  opencode: "OpenCode",
  continue: "Continue",
  cline: "Cline",
};

const COMMANDS: { id: string; label: string; run: () => Promise<void> }[] = [
  { id: "argoProxy.start", label: "Start", run: async () => void (await ensureStarted()) },
  { id: "argoProxy.stop", label: "Stop", run: stopDaemon },
  { id: "argoProxy.restart", label: "Restart", run: restartDaemon },
  {
    id: "argoProxy.refreshModels",
    label: "Refresh models",
    run: () =>
      withDaemon(async (sup) => {
        const r = await sup.refresh();
        const text = `${r.message}: ${r.current.unique_models} models, ${r.current.total_aliases} aliases`;
        if (r.status === "ok") void api.showInfo(text);
        else void api.showError(text);
      }),
  },
  {
    id: "argoProxy.switchEnvironment",
    label: "Switch ARGO environment (prod, dev, test)",
    run: () => withDaemon(switchEnvironment),
  },
  {
    id: "argoProxy.clearRequests",
    label: "Clear the request list",
    run: () => Promise.resolve(activity?.clearRequests()),
  },
  {
    id: "argoProxy.toggleLegacy",
    label: "Toggle legacy mode",
    run: () =>
      withDaemon(async (sup) => {
        const { enabled } = await sup.getLegacy();
        const r = await sup.setLegacy(!enabled);
        void api.showInfo(`argo-proxy legacy mode ${r.enabled ? "on" : "off"} (from the next request; the config file is unchanged)`);
      }),
  },
  {
    id: "argoProxy.openConfig",
    label: "Open config file",
    run: async () => {
      const configured = getSettings().configFile || lastStatus?.config_path || defaultConfigPath();
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
      withDaemon(async (sup) => {
        const s = await sup.status();
        traceInfo(JSON.stringify(s, null, 2));
        showLog();
      }),
  },
  {
    id: "argoProxy.listModels",
    label: "List models",
    run: () =>
      withDaemon(async (sup) => {
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
      withDaemon(async (sup) => {
        const items = ASSISTANTS.map((a) => ({ label: ASSISTANT_LABELS[a], value: a }));
        const picked = await api.quickPick(items, "Which client?");
        if (!picked || !sup.state.listenUrl) return;
        const key = keyText(sup.state.access, getSettings().username, commandPlace);
        await api.copyToClipboard(clientSetup(picked.value, sup.state.listenUrl, key));
        void api.showInfo(`Copied the ${picked.label} set-up`);
      }),
  },
  {
    id: "argoProxy.copyToken",
    label: "Copy the access token",
    run: () =>
      withDaemon(async (sup) => {
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
      withDaemon(async (sup) => {
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
        const updated = await following;
        const also = updated.length ? `; updated ${updated.join(", ")}` : "";
        void api.showInfo(`New access token in force. Relaunch open terminals to give them the new token${also}.`);
      }),
  },
  {
    id: "argoProxy.wireClaudeCode",
    label: "Point the Claude Code extension at argo-proxy",
    run: () =>
      withDaemon(async (sup) => {
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
        if (context.globalState.get(WROTE_CLAUDE_CODE) === undefined) {
          await context.globalState.update(CLAUDE_CODE_BEFORE, { value: before ?? null });
        }
        await api.updateGlobalSetting("claudeCode", "environmentVariables", value);
        await context.globalState.update(WROTE_CLAUDE_CODE, { url: clientUrl(url), keyHash: keyHash(key) });
        const choice = await api.showInfo("Claude Code now uses argo-proxy (other variables kept).", "Undo");
        if (choice === "Undo") await undoClaudeCode();
      }),
  },
  ...FILE_ASSISTANTS.map((id) => ({
    id: `argoProxy.wire${WIRE_COMMAND[id]}`,
    label: `Point ${ASSISTANT_FILES[id].label} at argo-proxy`,
    run: () => wireFiles(id),
  })),
  { id: "argoProxy.undoWiring", label: "Undo pointing an assistant at argo-proxy", run: undoWiring },
  { id: "argoProxy.install", label: "Install argo-proxy (a private environment)", run: installDaemon },
];

/** Picks prod, dev or test and has the daemon write it to its config file (`config.setEnvironment`). */
async function switchEnvironment(sup: DaemonSupervisor): Promise<void> {
  const status = lastStatus ?? (await sup.status());
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
    void refreshStatus();
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
async function wireFiles(id: FileAssistant): Promise<void> {
  await withDaemon(async (sup) => {
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
    applyChanges(changes, recordFile(id));
    traceInfo(`${assistant.label}: wrote ${changes.map((c) => c.file).join(", ")}`);
    const choice = await api.showInfo(`${assistant.label} now uses argo-proxy.`, "Undo");
    if (choice === "Undo") reportUndo(assistant.label, undoChanges(recordFile(id)));
  });
}

function reportUndo(label: string, result: { restored: string[]; kept: string[] }): void {
  const kept = result.kept.length ? ` Changed since, so left as they are: ${result.kept.join(", ")}.` : "";
  traceInfo(`${label}: restored ${result.restored.join(", ") || "nothing"}${kept}`);
  void api.showInfo(`${label}: put back ${result.restored.length} file(s) as they were.${kept}`);
}

async function undoClaudeCode(): Promise<void> {
  const before = context.globalState.get<{ value: unknown }>(CLAUDE_CODE_BEFORE);
  await api.updateGlobalSetting("claudeCode", "environmentVariables", before?.value ?? undefined);
  await context.globalState.update(WROTE_CLAUDE_CODE, undefined);
  await context.globalState.update(CLAUDE_CODE_BEFORE, undefined);
  void api.showInfo("Claude Code: claudeCode.environmentVariables is back as it was.");
}

async function undoWiring(): Promise<void> {
  const items: api.PickItem<FileAssistant | "claude">[] = FILE_ASSISTANTS.filter((id) => hasRecord(recordFile(id))).map(
    (id) => ({ label: ASSISTANT_FILES[id].label, value: id }),
  );
  if (context.globalState.get(WROTE_CLAUDE_CODE) !== undefined) items.unshift({ label: "Claude Code", value: "claude" });
  if (!items.length) {
    void api.showInfo("argo-proxy has not pointed any assistant at itself (or it was undone).");
    return;
  }
  const picked = await api.quickPick(items, "Put back which assistant's settings?");
  if (!picked) return;
  if (picked.value === "claude") await undoClaudeCode();
  else reportUndo(picked.label, undoChanges(recordFile(picked.value)));
}

async function showMenu(): Promise<void> {
  void refreshStatus(); // the tooltip's figures, fetched when looked at
  const items = COMMANDS.map((c) => ({ label: c.label, value: c.id }));
  const picked = await api.quickPick(items, "argo-proxy");
  if (picked) await api.executeCommand(picked.value);
}

export function activate(ctx: vscode.ExtensionContext): void {
  context = ctx;
  subscriptions = [];
  const logger = registerLogger("argo-proxy");
  showLog = () => logger.show();
  statusItem = new StatusItem("argoProxy.menu");
  ctx.subscriptions.push(logger, statusItem, {
    dispose: () => {
      for (const d of subscriptions) d.dispose();
    },
  });
  for (const c of COMMANDS) ctx.subscriptions.push(api.registerCommand(c.id, c.run));
  const manifest = ctx.extension.packageJSON as { version?: unknown };
  extensionVersion = typeof manifest.version === "string" ? manifest.version : undefined;
  const view = new Activity({ log: traceWarn });
  activity = view;
  const usage = registerUsageView(view, () => supervisor?.state.phase === "running");
  usageView = usage;
  ctx.subscriptions.push(
    { dispose: () => view.dispose() },
    usage,
    registerRequestsView(view, (id) =>
      supervisor ? supervisor.getRequest(id) : Promise.reject(new Error("argo-proxy is not running")),
    ),
    view.onUsage((u) => statusItem?.setToday(u && { totals: u.today.total, source: u.source })),
  );
  chatProvider = new ArgoChatProvider(
    {
      endpoint: async (start): Promise<Endpoint | undefined> => {
        const sup = start ? await ensureStarted() : supervisor;
        const { listenUrl, access } = sup?.state ?? {};
        if (sup?.state.phase !== "running" || !listenUrl) return undefined;
        return { listenUrl, key: clientKey(access, getSettings().username), version: extensionVersion };
      },
      listModels: () => (supervisor ? supervisor.listModels() : Promise.resolve([])),
      log: traceWarn,
    },
    () => getSettings().autoStart,
  );
  ctx.subscriptions.push(chatProvider, api.registerChatProvider(VENDOR, chatProvider));
  ctx.subscriptions.push(api.registerCommand("argoProxy.menu", showMenu));
  ctx.subscriptions.push(
    api.onDidChangeConfiguration((e) => {
      const affects = (s: string): boolean => e.affectsConfiguration(s);
      if (needsRestart(affects) && supervisor && restartSettingsChanged()) scheduleRestart();
      else if (affectsTerminals(affects) && supervisor) wireTerminals(supervisor.state);
    }),
  );
  // a failed start leaves the status item in `error`; activate itself never throws
  if (getSettings().autoStart) void ensureStarted();
}

export async function deactivate(): Promise<void> {
  if (restartTimer) clearTimeout(restartTimer);
  await stopDaemon();
}
