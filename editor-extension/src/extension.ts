// The thin VS Code side: settings in, a DaemonSupervisor, the status item,
// commands, and the terminal environment. Everything that talks to the daemon
// lives in src/daemon/ (plain Node, tested with `node --test`).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import {
  codexWritten,
  configTemplate,
  followClaudeCode,
  followCodex,
  keyHash,
  withClaudeCodeVariables,
  withCodexProvider,
  Written,
} from "./daemon/assistantSettings";
import {
  argoProxyCommand,
  Assistant,
  ASSISTANT_LABELS,
  ASSISTANTS,
  clientKey,
  clientSetup,
  clientUrl,
  CommandPlace,
  keyText,
  terminalEnv,
} from "./daemon/env";
import { findExecutable } from "./daemon/executable";
import { StatusResult } from "./daemon/protocol";
import { CONTROL_SOCKET_ENV } from "./daemon/socket";
import { DaemonSupervisor, SupervisorState } from "./daemon/supervisor";
import { registerLogger, traceDaemon, traceError, traceInfo, traceWarn } from "./log";
import { affectsTerminals, getSettings, needsRestart, Settings } from "./settings";
import { StatusItem } from "./status";
import * as api from "./vscodeapi";

const RESTART_DEBOUNCE_MS = 1000;
const STATUS_POLL_MS = 5000;
// What the extension last wrote to the assistants' own settings (a URL and a key hash).
const WROTE_CLAUDE_CODE = "argoProxy.wrote.claudeCode";
const WROTE_CODEX = "argoProxy.wrote.codex";

let supervisor: DaemonSupervisor | undefined;
let subscriptions: vscode.Disposable[] = [];
let statusItem: StatusItem | undefined;
let lastStatus: StatusResult | undefined;
let context: vscode.ExtensionContext;
let restartTimer: NodeJS.Timeout | undefined;
let pollTimer: NodeJS.Timeout | undefined;
let showLog: () => void = () => undefined;
/** How pasted commands reach the same `argo-proxy` and daemon as the editor. */
let commandPlace: CommandPlace = {};
/** Keeping assistants' settings current runs one at a time; names what each run updated. */
let following: Promise<string[]> = Promise.resolve([]);

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function createSupervisor(settings: Settings): Promise<DaemonSupervisor | undefined> {
  const found = findExecutable(
    {
      executablePath: settings.executablePath,
      pythonInterpreter: await api.activePythonInterpreter(),
      pathEnv: process.env.PATH ?? "",
      platform: process.platform,
    },
    (p) => fs.existsSync(p),
  );
  if (!found) {
    const message =
      "argo-proxy: the `argo-proxy` executable was not found. [Option 1] set `argoProxy.executablePath`; " +
      "[Option 2] `pip install` argo-proxy into the selected Python environment; [Option 3] put it on PATH.";
    statusItem?.update({ phase: "error", message });
    void api.showError(message, "Open Settings").then((choice) => {
      if (choice) void vscode.commands.executeCommand("workbench.action.openSettings", "argoProxy.executablePath");
    });
    return undefined;
  }
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
          break;
        case "state.changed":
          traceInfo(`daemon ${n.params.phase}: ${n.params.reason}`);
          break;
        case "token.changed":
          traceInfo(`access token rotated (${n.params.token_file}); terminals and settings follow`);
          break;
      }
      void pollStatus();
    }),
  );
  return sup;
}

function onState(state: SupervisorState): void {
  statusItem?.update(state, state.phase === "running" ? lastStatus : undefined);
  wireTerminals(state);
  if (state.phase === "running" && state.listenUrl) {
    const { listenUrl } = state;
    const key = clientKey(state.access, getSettings().username);
    following = following.then(() => followAssistantSettings(listenUrl, key));
  }
  if (state.phase === "error" && state.message) {
    traceError(state.message);
    void api.showError(`argo-proxy: ${state.message.split("\n")[0]}`, "Show Logs").then((c) => c && showLog());
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
  const file = codexConfigFile();
  try {
    const before = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    const after = followCodex(before, context.globalState.get<Written>(WROTE_CODEX), url);
    if (after !== undefined) {
      fs.writeFileSync(file, after);
      await context.globalState.update(WROTE_CODEX, { url });
      updated.push(file);
    }
  } catch (error) {
    traceWarn(`could not update ${file}: ${errorText(error)}`);
  }
  if (updated.length) traceInfo(`now pointing at ${url}: updated ${updated.join(", ")}`);
  return updated;
}

function codexConfigFile(): string {
  return path.join(process.env.CODEX_HOME || path.join(os.homedir(), ".codex"), "config.toml");
}

/** A token shown in a dialog: enough to recognise it, not enough to use it. */
function masked(key: string): string {
  return key.startsWith("ap-") && key.length > 12 ? `${key.slice(0, 7)}…` : key;
}

async function pollStatus(): Promise<void> {
  if (!supervisor || supervisor.state.phase !== "running") return;
  try {
    lastStatus = await supervisor.status();
    statusItem?.update(supervisor.state, lastStatus);
  } catch {
    // the state handler reports a daemon that went away
  }
}

async function ensureStarted(): Promise<DaemonSupervisor | undefined> {
  if (!supervisor) supervisor = await createSupervisor(getSettings());
  if (!supervisor) return undefined;
  if (supervisor.state.phase !== "running") {
    try {
      await supervisor.start();
      await pollStatus();
    } catch (error) {
      traceError(`could not start: ${errorText(error)}`);
      return undefined;
    }
  }
  return supervisor;
}

async function stopDaemon(): Promise<void> {
  const sup = supervisor;
  supervisor = undefined;
  lastStatus = undefined;
  if (sup) await sup.dispose();
  statusItem?.update({ phase: "stopped" });
  wireTerminals({ phase: "stopped" });
}

async function restartDaemon(): Promise<void> {
  await stopDaemon();
  await ensureStarted();
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
        const items = ASSISTANTS.map((a) => ({ label: ASSISTANT_LABELS[a], value: a as Assistant }));
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
        await api.updateGlobalSetting("claudeCode", "environmentVariables", value);
        await context.globalState.update(WROTE_CLAUDE_CODE, { url: clientUrl(url), keyHash: keyHash(key) });
        void api.showInfo("Claude Code now uses argo-proxy (other variables kept).");
      }),
  },
  {
    id: "argoProxy.wireCodex",
    label: "Point Codex CLI at argo-proxy (~/.codex/config.toml)",
    run: () =>
      withDaemon(async (sup) => {
        const url = sup.state.listenUrl;
        if (!url) throw new Error("the daemon has no listen address yet");
        const file = codexConfigFile();
        const before = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
        const after = withCodexProvider(before, clientUrl(url));
        const detail =
          `${file}\nmodel_provider = "argo" and a [model_providers.argo] table with wire_api = "responses"; ` +
          `the rest is kept${before ? ` (a copy goes to ${file}.bak)` : ""}.\n\n` +
          'No secret goes into the file: env_key = "ARGO_PROXY_TOKEN" makes Codex read the key from that ' +
          "variable, which VS Code's integrated terminals have (argoProxy.wireTerminals), so a rotated token " +
          `needs no edit. Elsewhere start Codex with \`${argoProxyCommand("run", commandPlace)} codex\`.`;
        if (!(await api.confirm("Update Codex's config to use argo-proxy?", detail, "Write"))) return;
        fs.mkdirSync(path.dirname(file), { recursive: true });
        if (before) fs.writeFileSync(`${file}.bak`, before);
        fs.writeFileSync(file, after);
        await context.globalState.update(WROTE_CODEX, codexWritten(after));
        const terminals = getSettings().wireTerminals
          ? "Open a new terminal and run codex there: it has ARGO_PROXY_TOKEN."
          : "Terminals are not wired (argoProxy.wireTerminals is off): set ARGO_PROXY_TOKEN yourself.";
        void api.showInfo(`Codex now uses argo-proxy. ${terminals}`);
      }),
  },
];

async function showMenu(): Promise<void> {
  const items = COMMANDS.map((c) => ({ label: c.label, value: c.id }));
  const picked = await api.quickPick(items, "argo-proxy");
  if (picked) await api.executeCommand(picked.value);
}

export async function activate(ctx: vscode.ExtensionContext): Promise<void> {
  context = ctx;
  subscriptions = [];
  const logger = registerLogger("argo-proxy");
  showLog = logger.show;
  statusItem = new StatusItem("argoProxy.menu");
  ctx.subscriptions.push(logger, statusItem, { dispose: () => subscriptions.forEach((d) => d.dispose()) });
  for (const c of COMMANDS) ctx.subscriptions.push(api.registerCommand(c.id, c.run));
  ctx.subscriptions.push(api.registerCommand("argoProxy.menu", showMenu));
  ctx.subscriptions.push(
    api.onDidChangeConfiguration((e) => {
      const affects = (s: string): boolean => e.affectsConfiguration(s);
      if (needsRestart(affects) && supervisor) scheduleRestart();
      else if (affectsTerminals(affects) && supervisor) wireTerminals(supervisor.state);
    }),
  );
  pollTimer = setInterval(() => void pollStatus(), STATUS_POLL_MS);
  ctx.subscriptions.push({ dispose: () => pollTimer && clearInterval(pollTimer) });
  // a failed start leaves the status item in `error`; activate itself never throws
  if (getSettings().autoStart) void ensureStarted();
}

export async function deactivate(): Promise<void> {
  if (restartTimer) clearTimeout(restartTimer);
  await stopDaemon();
}
