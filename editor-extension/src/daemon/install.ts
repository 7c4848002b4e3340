// "Install argo-proxy": a private virtual environment under the extension's global
// storage, made with the user's own Python (3.10+), with the daemon's wheel that
// ships inside the .vsix installed into it (its dependencies from the package index
// pip is configured for). A stamp beside it names the wheel it holds, so that an
// updated extension (a new wheel) updates the daemon too. Plain Node.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { venvExecutable } from "./executable";

export const MIN_PYTHON: readonly [number, number] = [3, 10];
const STAMP = "argo-proxy-wheel.json";

/** A way to run Python: `python3`, `py -3`, or an interpreter's full path. */
export interface PythonCommand {
  command: string;
  args: string[];
}

export interface FoundPython extends PythonCommand {
  version: string;
  executable: string;
}

/** Pythons to try, in order: the one selected in VS Code, then the usual commands. */
export function pythonCandidates(selected: string | undefined, platform: NodeJS.Platform): PythonCommand[] {
  const found: PythonCommand[] = [];
  if (selected) found.push({ command: selected, args: [] });
  if (platform === "win32") found.push({ command: "py", args: ["-3"] }, { command: "python", args: [] });
  else found.push({ command: "python3", args: [] }, { command: "python", args: [] });
  return found;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command; each output line goes to `onLine` as it comes. Never rejects for an exit code. */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; onLine?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      signal: options.signal,
      windowsHide: true,
    });
    const out = { stdout: "", stderr: "" };
    for (const key of ["stdout", "stderr"] as const) {
      let pending = "";
      child[key].setEncoding("utf8");
      child[key].on("data", (chunk: string) => {
        out[key] += chunk;
        pending += chunk;
        const lines = pending.split(/\r?\n/);
        pending = lines.pop() ?? "";
        for (const line of lines) if (line.trim()) options.onLine?.(line);
      });
    }
    child.once("error", (error) => resolve({ code: null, stdout: out.stdout, stderr: `${out.stderr}${error.message}` }));
    child.once("close", (code) => resolve({ code, ...out }));
  });
}

function versionAtLeast(version: string, min: readonly [number, number]): boolean {
  const [major, minor] = version.split(".").map(Number);
  return major > min[0] || (major === min[0] && minor >= min[1]);
}

/** The first candidate that runs and is Python 3.10 or newer (and can make a venv). */
export async function findPython(
  candidates: PythonCommand[],
  runner: typeof run = run,
): Promise<{ found?: FoundPython; tried: string[] }> {
  const tried: string[] = [];
  const probe = "import sys, venv; print('%d.%d.%d' % sys.version_info[:3]); print(sys.executable)";
  for (const c of candidates) {
    const label = [c.command, ...c.args].join(" ");
    const result = await runner(c.command, [...c.args, "-c", probe]);
    const [version = "", executable = ""] = result.stdout.trim().split(/\r?\n/);
    if (result.code !== 0 || !/^\d+\.\d+/.test(version)) {
      tried.push(`${label}: ${result.stderr.trim().split(/\r?\n/).pop() || `exit code ${result.code}`}`);
    } else if (!versionAtLeast(version, MIN_PYTHON)) {
      tried.push(`${label}: Python ${version} is older than ${MIN_PYTHON.join(".")}`);
    } else {
      return { found: { ...c, version, executable: executable.trim() }, tried };
    }
  }
  return { tried };
}

/** The wheel shipped in the extension (`dist/argo_proxy-*.whl`), if any. */
export function shippedWheel(extensionDir: string): string | undefined {
  const dir = path.join(extensionDir, "dist");
  try {
    const wheel = fs.readdirSync(dir).find((f) => /^argo_proxy-.*\.whl$/.test(f));
    return wheel && path.join(dir, wheel);
  } catch {
    return undefined;
  }
}

export interface Stamp {
  wheel: string;
  sha256: string;
}

function sha256(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

export function readStamp(venv: string): Stamp | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(path.join(venv, STAMP), "utf8")) as Partial<Stamp>;
    return typeof parsed.wheel === "string" && typeof parsed.sha256 === "string"
      ? { wheel: parsed.wheel, sha256: parsed.sha256 }
      : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the private environment exists and holds another wheel than `wheel`. */
export function needsUpdate(venv: string, wheel: string, platform: NodeJS.Platform = process.platform): boolean {
  if (!fs.existsSync(venvExecutable(venv, platform))) return false; // nothing installed: nothing to update
  const stamp = readStamp(venv);
  return stamp?.sha256 !== sha256(wheel);
}

export class InstallError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
    this.name = "InstallError";
  }
}

export interface InstallOptions {
  venv: string;
  wheel: string;
  python: PythonCommand;
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  /** Each step, and pip's lines as they come. */
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
}

/**
 * Creates the environment if it is missing and installs (or updates to) `wheel`.
 * Resolves with the `argo-proxy` executable; rejects with an InstallError that says
 * what failed and what to do (its `output` has the tool's last lines).
 */
export async function installPrivateDaemon(opts: InstallOptions): Promise<string> {
  const platform = opts.platform ?? process.platform;
  const say = opts.onProgress ?? (() => undefined);
  const env = { ...(opts.env ?? process.env), PIP_DISABLE_PIP_VERSION_CHECK: "1", PYTHONUTF8: "1" };
  const venvPython = venvExecutable(opts.venv, platform, platform === "win32" ? "python.exe" : "python");
  const tail = (r: RunResult): string => `${r.stdout}\n${r.stderr}`.trim().split(/\r?\n/).slice(-15).join("\n");
  if (!fs.existsSync(venvPython)) {
    say(`Creating a Python environment in ${opts.venv}`);
    fs.mkdirSync(path.dirname(opts.venv), { recursive: true });
    const made = await run(opts.python.command, [...opts.python.args, "-m", "venv", opts.venv], {
      env,
      signal: opts.signal,
    });
    if (made.code !== 0) {
      fs.rmSync(opts.venv, { recursive: true, force: true });
      const hint = made.stderr.includes('ensurepip')
        ? " (on Debian and Ubuntu: install the python3-venv package)"
        : "";
      throw new InstallError(`could not create a Python environment with ${opts.python.command}${hint}`, tail(made));
    }
  }
  const wheelName = path.basename(opts.wheel);
  const stamp = readStamp(opts.venv);
  const hash = sha256(opts.wheel);
  const pip = [venvPython, "-m", "pip", "install", "--progress-bar", "off"] as const;
  const onLine = (line: string): void => {
    if (/^(Collecting|Installing|Successfully|Downloading|Processing)/.test(line.trim())) say(line.trim());
  };
  if (stamp && stamp.sha256 !== hash && stamp.wheel === wheelName) {
    // the same version number with other content (a development build): pip would keep the old one
    say(`Replacing ${wheelName}`);
    const forced = await run(pip[0], [...pip.slice(1), "--force-reinstall", "--no-deps", opts.wheel], {
      env,
      onLine,
      signal: opts.signal,
    });
    if (forced.code !== 0) throw new InstallError(`pip could not reinstall ${wheelName}`, tail(forced));
  }
  say(`Installing ${wheelName} and its dependencies`);
  const installed = await run(pip[0], [...pip.slice(1), "--upgrade", opts.wheel], { env, onLine, signal: opts.signal });
  if (installed.code !== 0) {
    throw new InstallError(
      `pip could not install ${wheelName} (its dependencies come from the package index pip is set up for)`,
      tail(installed),
    );
  }
  const exe = venvExecutable(opts.venv, platform);
  if (!fs.existsSync(exe)) throw new InstallError(`the install made no ${exe}`, tail(installed));
  fs.writeFileSync(path.join(opts.venv, STAMP), JSON.stringify({ wheel: wheelName, sha256: hash }, null, 2));
  say("argo-proxy is installed");
  return exe;
}
