// Pointing coding assistants at the daemon through the `argo-proxy` command, which
// holds the one implementation of the wiring (control/assistants.py, control/
// setup_command.py): `setup TOOL --dry-run --json` gives the diffs the extension
// shows, `setup TOOL --json --yes` writes them (with a backup), `setup TOOL --undo
// --json` puts the files back, and `env --json` gives the terminals' variables and
// which assistant reads which. Nothing here knows an assistant's files. Plain Node.
import { execFile } from "node:child_process";
import type { EnvResult, SetupResult, SetupStatus, UndoneFiles, UndoResult } from "./protocol";

/**
 * The "Point … at argo-proxy" commands (package.json): `argo-proxy setup`'s tool, the
 * command's id (argoProxy.wireCodex, …) and title; the dialogs use the label `setup` gives.
 */
export const WIRE_COMMANDS: Record<string, { command: string; label: string }> = {
  claude: { command: "argoProxy.wireClaudeCode", label: "Claude Code" },
  codex: { command: "argoProxy.wireCodex", label: "Codex CLI" },
  gemini: { command: "argoProxy.wireGemini", label: "Gemini CLI" },
  aider: { command: "argoProxy.wireAider", label: "Aider" },
  opencode: { command: "argoProxy.wireOpenCode", label: "OpenCode" },
  continue: { command: "argoProxy.wireContinue", label: "Continue" },
  cline: { command: "argoProxy.wireCline", label: "Cline" },
};

/** Which `argo-proxy`, and which daemon and config it asks (the editor's own). */
export interface ArgoProxyCommand {
  executable: string;
  /** The control socket of the daemon the editor runs. */
  controlSocket?: string;
  /** The config file the editor starts the daemon with (`argoProxy.configFile`). */
  configPath?: string;
  /** The command's environment (default: the extension host's). */
  env?: NodeJS.ProcessEnv;
  /** How long one run may take; Python starts slowly on a loaded machine. */
  timeoutMs?: number;
}

/**
 * What the command said last on stderr (`argo-proxy setup: FILE: …`, which may run
 * over several lines), without its prefix; earlier warnings are left out.
 */
function lastComplaint(stderr: string): string {
  const starts = [...stderr.matchAll(/^argo-proxy [\w-]+: /gm)];
  const last = starts[starts.length - 1];
  const text = last ? stderr.slice(last.index + last[0].length) : stderr;
  return text.trim();
}

/** A run of the command that failed: its exit code and what it said on stderr. */
export class CommandError extends Error {
  constructor(
    readonly args: string[],
    readonly code: number | string | null,
    readonly stderr: string,
  ) {
    super(lastComplaint(stderr) || `argo-proxy ${args.join(" ")} exited with ${code}`);
    this.name = "CommandError";
  }
}

/** `argo-proxy ARGS…`, its JSON output parsed. */
export function runJson<T>(place: ArgoProxyCommand, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      place.executable,
      args,
      { env: place.env ?? process.env, timeout: place.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new CommandError(args, error.code ?? error.signal ?? null, stderr));
          return;
        }
        try {
          resolve(JSON.parse(stdout) as T);
        } catch {
          reject(new CommandError(args, 0, `argo-proxy ${args[0]}: printed no JSON: ${stdout.slice(0, 200)}`));
        }
      },
    );
  });
}

function daemonArgs(place: ArgoProxyCommand): string[] {
  return [
    ...(place.configPath ? ["--config", place.configPath] : []),
    ...(place.controlSocket ? ["--control-socket", place.controlSocket] : []),
  ];
}

/** The diffs pointing `tools` at the daemon would make; nothing written. */
export function planSetup(place: ArgoProxyCommand, tools: string[]): Promise<SetupResult> {
  return runJson(place, ["setup", ...tools, "--dry-run", "--json", ...daemonArgs(place)]);
}

/** Writes what `planSetup` showed (the command keeps a backup for undo). */
export function applySetup(place: ArgoProxyCommand, tools: string[]): Promise<SetupResult> {
  return runJson(place, ["setup", ...tools, "--json", "--yes", ...daemonArgs(place)]);
}

/** Puts the tools' files back as they were before `setup` first wrote them. */
export function undoSetup(place: ArgoProxyCommand, tools: string[]): Promise<UndoResult> {
  return runJson(place, ["setup", ...tools, "--undo", "--json"]);
}

/** The tools `setup` knows, and which it has set up (by the editor or in a terminal). */
export function setupStatus(place: ArgoProxyCommand): Promise<SetupStatus> {
  return runJson(place, ["setup", "--json"]);
}

/** `argo-proxy env --json`: the variables for this daemon, and who reads which. */
export function clientEnv(place: ArgoProxyCommand): Promise<EnvResult> {
  return runJson(place, ["env", "--json", ...daemonArgs(place)]);
}

/**
 * Points the tools `setup` has set up (from the editor or a terminal) at the daemon
 * again, after its address or key changed: `setup` rewrites only its own entries and
 * keeps its first backup. A tool with a file changed since `setup` wrote it is left
 * alone: that file is the user's now. Returns the files written.
 */
export async function followSetup(place: ArgoProxyCommand): Promise<string[]> {
  const status = await setupStatus(place);
  const wired = status.tools.filter((t) => t.set_up && !t.changed_since?.length).map((t) => t.tool);
  if (!wired.length || !hasChanges(await planSetup(place, wired))) return [];
  return Object.values((await applySetup(place, wired)).written ?? {}).flat();
}

/** Whether a plan would change any file. */
export function hasChanges(result: SetupResult): boolean {
  return result.plans.some((p) => p.files.some((f) => f.changes));
}

/** The dialog's text for a plan: each changed file's diff, then where the key goes. */
export function describePlan(result: SetupResult): string {
  const parts: string[] = [];
  for (const plan of result.plans) {
    const changed = plan.files.filter((f) => f.changes);
    if (!changed.length) continue;
    for (const file of changed) parts.push(file.diff.trimEnd()); // a new file's diff is from /dev/null
    parts.push(plan.key_note);
  }
  return parts.join("\n\n");
}

/** What undo did, in a sentence for a notification. */
export function undoMessage(label: string, undone: UndoneFiles | null | undefined): string {
  if (!undone) return `${label}: nothing to undo.`;
  const back = undone.restored.length + undone.removed.length;
  const kept = undone.kept.length ? ` Changed since, so left as they are: ${undone.kept.join(", ")}.` : "";
  return `${label}: put back ${back} file(s) as they were.${kept}`;
}

/**
 * The terminals' variables: ARGO_PROXY_URL, ARGO_PROXY_TOKEN and those the chosen
 * assistants read (by `env --json`'s table), in `argo-proxy env`'s order. An id the
 * table does not know adds nothing; with every assistant it is all of `env`'s.
 */
export function terminalVariables(env: EnvResult, assistants: readonly string[]): Record<string, string> {
  const wanted = new Set(["ARGO_PROXY_URL", "ARGO_PROXY_TOKEN"]);
  for (const id of assistants) for (const name of env.assistants?.[id]?.variables ?? []) wanted.add(name);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env.variables)) if (wanted.has(name)) out[name] = value;
  return out;
}
