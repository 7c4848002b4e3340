// Finding the `argo-proxy` executable: the setting, else the active Python
// environment's scripts folder, else PATH. `exists` is passed in so that the
// rule is tested without touching the disk.
import * as path from "node:path";

export interface ExecutableSettings {
  /** `argoProxy.executablePath`; empty when unset. */
  executablePath: string;
  /** The active Python interpreter (from the Python extension), if any. */
  pythonInterpreter?: string;
  /** The PATH to search. */
  pathEnv: string;
  platform: NodeJS.Platform;
}

export type ExecutableSource = "setting" | "python" | "path";

export interface FoundExecutable {
  path: string;
  source: ExecutableSource;
}

function exeName(platform: NodeJS.Platform): string {
  return platform === "win32" ? "argo-proxy.exe" : "argo-proxy";
}

/** Where to look, in order, with what each candidate came from. */
export function executableCandidates(settings: ExecutableSettings): FoundExecutable[] {
  const sep = settings.platform === "win32" ? ";" : ":";
  const name = exeName(settings.platform);
  const found: FoundExecutable[] = [];
  if (settings.executablePath) {
    found.push({ path: settings.executablePath, source: "setting" });
    return found; // an explicit setting is never second-guessed
  }
  if (settings.pythonInterpreter) {
    found.push({ path: path.join(path.dirname(settings.pythonInterpreter), name), source: "python" });
  }
  for (const dir of settings.pathEnv.split(sep)) {
    if (dir) found.push({ path: path.join(dir, name), source: "path" });
  }
  return found;
}

/** The first candidate that exists, or undefined with nothing found. */
export function findExecutable(
  settings: ExecutableSettings,
  exists: (p: string) => boolean,
): FoundExecutable | undefined {
  return executableCandidates(settings).find((c) => exists(c.path));
}
