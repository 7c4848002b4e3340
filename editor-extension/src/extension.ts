// The thin VS Code side: settings in, a DaemonSupervisor, the status item,
// commands, and the terminal environment. Everything that talks to the daemon
// lives in src/daemon/ (plain Node, tested with `node --test`).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { configTemplate, withClaudeCodeVariables, withCodexProvider } from "./daemon/assistantSettings";
import { Assistant, ASSISTANT_LABELS, ASSISTANTS, clientSetup, terminalEnv } from "./daemon/env";
import { findExecutable } from "./daemon/executable";
import { StatusResult } from "./daemon/protocol";
import { DaemonSupervisor, SupervisorState } from "./daemon/supervisor";
import { registerLogger, traceDaemon, traceError, traceInfo, traceWarn } from "./log";
import { affectsTerminals, getSettings, needsRestart, Settings } from "./settings";
import { StatusItem } from "./status";
import * as api from "./vscodeapi";

const RESTART_DEBOUNCE_MS = 1000;
const STATUS_POLL_MS = 5000;

let supervisor: DaemonSupervisor | undefined;
let subscriptions: vscode.Disposable[] = [];
let statusItem: StatusItem | undefined;
let lastStatus: StatusResult | undefined;
let context: vscode.ExtensionContext;
let restartTimer: NodeJS.Timeout | undefined;
let pollTimer: NodeJS.Timeout | undefined;
let showLog: () => void = () => undefined;

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
      }
      void pollStatus();
    }),
  );
  return sup;
}

function onState(state: SupervisorState): void {
  statusItem?.update(state, state.phase === "running" ? lastStatus : undefined);
  wireTerminals(state);
  if (state.phase === "error" && state.message) {
    traceError(state.message);
    void api.showError(`argo-proxy: ${state.message.split("\n")[0]}`, "Show Logs").then((c) => c && showLog());
  }
}

function wireTerminals(state: SupervisorState): void {
  const settings = getSettings();
  const env =
    settings.wireTerminals && state.phase === "running" && state.listenUrl
      ? terminalEnv(state.listenUrl, settings.username, settings.assistants)
      : undefined;
  api.setTerminalEnv(context.environmentVariableCollection, env, "Points coding assistants at argo-proxy");
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
        const reply = await fetch(`${url}/v1/models`);
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
        await api.copyToClipboard(clientSetup(picked.value, sup.state.listenUrl, getSettings().username));
        void api.showInfo(`Copied the ${picked.label} set-up`);
      }),
  },
  {
    id: "argoProxy.wireClaudeCode",
    label: "Point the Claude Code extension at argo-proxy",
    run: () =>
      withDaemon(async (sup) => {
        const url = sup.state.listenUrl;
        if (!url) throw new Error("the daemon has no listen address yet");
        const value = withClaudeCodeVariables(
          api.getGlobalSetting("claudeCode", "environmentVariables"),
          url,
          getSettings().username,
        );
        const detail = value.map((e) => `${e.name}=${e.value}`).join("\n");
        if (!(await api.confirm("Write these to your user setting claudeCode.environmentVariables?", detail, "Write"))) return;
        await api.updateGlobalSetting("claudeCode", "environmentVariables", value);
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
        const home = process.env.CODEX_HOME || path.join(os.homedir(), ".codex");
        const file = path.join(home, "config.toml");
        const before = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
        const after = withCodexProvider(before, url);
        const detail = `${file}\nmodel_provider = "argo" and a [model_providers.argo] table with wire_api = "responses"; the rest is kept${before ? ` (a copy goes to ${file}.bak)` : ""}.`;
        if (!(await api.confirm("Update Codex's config to use argo-proxy?", detail, "Write"))) return;
        fs.mkdirSync(home, { recursive: true });
        if (before) fs.writeFileSync(`${file}.bak`, before);
        fs.writeFileSync(file, after);
        void api.showInfo(`Codex now uses argo-proxy; set ARGO_USERNAME=${getSettings().username} in its environment.`);
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
