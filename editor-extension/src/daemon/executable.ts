// Finding the `argo-proxy` executable: the setting, else the active Python
// environment's scripts folder, else PATH, else where per-user installers put it
// (pip --user, pipx, uv tool: VS Code's PATH comes from a login shell that often
// lacks ~/.local/bin), else the extension's own private environment. `exists` is
// passed in so that the rule is tested without touching the disk, for every platform.
import * as path from "node:path";

export interface ExecutableSettings {
  /** `argoProxy.executablePath`; empty when unset. */
  executablePath: string;
  /** The active Python interpreter (from the Python extension), if any. */
  pythonInterpreter?: string;
  /** The PATH to search. */
  pathEnv: string;
  platform: NodeJS.Platform;
  /** The user's home folder (per-user install places are under it). */
  home?: string;
  /** Variables that move those places: PIPX_BIN_DIR, PIPX_HOME, UV_TOOL_BIN_DIR, UV_TOOL_DIR, XDG_*, APPDATA, LOCALAPPDATA. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The private virtual environment "Install argo-proxy" creates. */
  privateVenv?: string;
}

export type ExecutableSource = "setting" | "python" | "path" | "user" | "private";

export interface FoundExecutable {
  path: string;
  source: ExecutableSource;
}

function exeName(platform: NodeJS.Platform): string {
  return platform === "win32" ? "argo-proxy.exe" : "argo-proxy";
}

function pathOf(platform: NodeJS.Platform): path.PlatformPath {
  return platform === "win32" ? path.win32 : path.posix;
}

/** Python minor versions whose per-user scripts folders are looked at (pip --user). */
const PYTHONS = ["3.10", "3.11", "3.12", "3.13", "3.14"];

/** The executable inside a virtual environment. */
export function venvExecutable(venv: string, platform: NodeJS.Platform, name = exeName(platform)): string {
  const p = pathOf(platform);
  return platform === "win32" ? p.join(venv, "Scripts", name) : p.join(venv, "bin", name);
}

/** Where pip --user, pipx and `uv tool` put the executable, in that order of likelihood. */
export function userInstallDirs(settings: ExecutableSettings): string[] {
  const { platform, home } = settings;
  const env = settings.env ?? {};
  const p = pathOf(platform);
  const dirs: (string | undefined)[] = [];
  const venvBin = (venv: string | undefined): string | undefined =>
    venv ? p.dirname(venvExecutable(venv, platform)) : undefined;
  dirs.push(env.PIPX_BIN_DIR, env.UV_TOOL_BIN_DIR, env.XDG_BIN_HOME);
  if (platform === "win32") {
    const profile = home ?? env.USERPROFILE;
    // pipx (1.3+) and uv put their links in ~/.local/bin on Windows too
    if (profile) dirs.push(p.join(profile, ".local", "bin"));
    dirs.push(venvBin(env.PIPX_HOME && p.join(env.PIPX_HOME, "venvs", "argo-proxy")));
    if (profile) dirs.push(venvBin(p.join(profile, "pipx", "venvs", "argo-proxy")));
    if (env.LOCALAPPDATA) dirs.push(venvBin(p.join(env.LOCALAPPDATA, "pipx", "pipx", "venvs", "argo-proxy")));
    dirs.push(venvBin(env.UV_TOOL_DIR && p.join(env.UV_TOOL_DIR, "argo-proxy")));
    if (env.APPDATA) {
      dirs.push(venvBin(p.join(env.APPDATA, "uv", "tools", "argo-proxy")));
      for (const v of PYTHONS) dirs.push(p.join(env.APPDATA, "Python", `Python${v.replace(".", "")}`, "Scripts"));
    }
  } else if (home) {
    dirs.push(p.join(home, ".local", "bin"));
    const data = env.XDG_DATA_HOME || p.join(home, ".local", "share");
    dirs.push(venvBin(env.PIPX_HOME && p.join(env.PIPX_HOME, "venvs", "argo-proxy")));
    dirs.push(venvBin(p.join(data, "pipx", "venvs", "argo-proxy")));
    dirs.push(venvBin(p.join(home, ".local", "pipx", "venvs", "argo-proxy")));
    dirs.push(venvBin(env.UV_TOOL_DIR && p.join(env.UV_TOOL_DIR, "argo-proxy")));
    dirs.push(venvBin(p.join(data, "uv", "tools", "argo-proxy")));
    if (platform === "darwin") for (const v of PYTHONS) dirs.push(p.join(home, "Library", "Python", v, "bin"));
  }
  return [...new Set(dirs.filter((d): d is string => Boolean(d)))];
}

/** Where to look, in order, with what each candidate came from. */
export function executableCandidates(settings: ExecutableSettings): FoundExecutable[] {
  const sep = settings.platform === "win32" ? ";" : ":";
  const name = exeName(settings.platform);
  const p = pathOf(settings.platform);
  const found: FoundExecutable[] = [];
  if (settings.executablePath) {
    found.push({ path: settings.executablePath, source: "setting" });
    return found; // an explicit setting is never second-guessed
  }
  if (settings.pythonInterpreter) {
    found.push({ path: p.join(p.dirname(settings.pythonInterpreter), name), source: "python" });
  }
  for (const dir of settings.pathEnv.split(sep)) {
    if (dir) found.push({ path: p.join(dir, name), source: "path" });
  }
  for (const dir of userInstallDirs(settings)) found.push({ path: p.join(dir, name), source: "user" });
  if (settings.privateVenv) {
    found.push({ path: venvExecutable(settings.privateVenv, settings.platform), source: "private" });
  }
  const seen = new Set<string>();
  return found.filter((c) => !seen.has(c.path) && seen.add(c.path));
}

/** The first candidate that exists, or undefined with nothing found. */
export function findExecutable(
  settings: ExecutableSettings,
  exists: (p: string) => boolean,
): FoundExecutable | undefined {
  return executableCandidates(settings).find((c) => exists(c.path));
}

/** Where a search looked, for a message that says so. */
export function searchedPlaces(settings: ExecutableSettings): string[] {
  const p = pathOf(settings.platform);
  const places = executableCandidates(settings)
    .filter((c) => c.source !== "path")
    .map((c) => (c.source === "setting" ? c.path : p.dirname(c.path)));
  return ["PATH", ...places];
}
