// Where the daemon's control socket lives: the same rule as the Python side
// (daemon/config.py `control_socket_path`, which asks platformdirs for the user
// runtime directory). No `vscode` import: tested with `node --test`.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const CONTROL_SOCKET_ENV = "ARGO_PROXY_CONTROL_SOCKET";
const APP_NAME = "argo-proxy";

export interface SocketPathDeps {
  env: NodeJS.ProcessEnv;
  euid: number;
  home: string;
  platform: NodeJS.Platform;
  /** lstat-like: undefined when the path is missing. */
  lstat: (p: string) => { isDir: boolean; isSymlink: boolean; uid: number; mode: number } | undefined;
}

function realLstat(p: string): ReturnType<SocketPathDeps["lstat"]> {
  try {
    const info = fs.lstatSync(p);
    return { isDir: info.isDirectory(), isSymlink: info.isSymbolicLink(), uid: info.uid, mode: info.mode & 0o777 };
  } catch {
    return undefined;
  }
}

export function defaultSocketDeps(): SocketPathDeps {
  return {
    env: process.env,
    euid: typeof process.geteuid === "function" ? process.geteuid() : 0,
    home: os.homedir(),
    platform: process.platform,
    lstat: realLstat,
  };
}

function expandHome(p: string, home: string): string {
  if (p === "~") return home;
  if (p.startsWith("~/")) return path.join(home, p.slice(2));
  return p;
}

/** platformdirs accepts a runtime dir only as a directory the user owns with mode 0700. */
function isPrivateDir(p: string, deps: SocketPathDeps, missingOk: boolean): boolean {
  const info = deps.lstat(p);
  if (info === undefined) return missingOk;
  return info.isDir && !info.isSymlink && info.uid === deps.euid && info.mode === 0o700;
}

/** The user runtime directory as platformdirs computes it on Linux and macOS. */
export function userRuntimeDir(deps: SocketPathDeps): string {
  if (deps.platform === "darwin") {
    return path.join(deps.home, "Library", "Caches", "TemporaryItems", APP_NAME);
  }
  const xdg = deps.env.XDG_RUNTIME_DIR ?? "";
  if (path.isAbsolute(xdg) && isPrivateDir(xdg, deps, true)) {
    return path.join(xdg, APP_NAME);
  }
  const platformDefault = `/run/user/${deps.euid}`;
  if (isPrivateDir(platformDefault, deps, false)) {
    return path.join(platformDefault, APP_NAME);
  }
  const temp = ["TMPDIR", "TEMP", "TMP"].map((k) => deps.env[k] ?? "").find((v) => path.isAbsolute(v)) ?? "/tmp";
  return path.join(temp, `runtime-${deps.euid}`, APP_NAME);
}

/** `explicit` (the `--control-socket` option), else $ARGO_PROXY_CONTROL_SOCKET, else the runtime dir. */
export function controlSocketPath(explicit: string | undefined, deps: SocketPathDeps = defaultSocketDeps()): string {
  const chosen = explicit || deps.env[CONTROL_SOCKET_ENV];
  if (chosen) {
    return path.resolve(expandHome(chosen, deps.home));
  }
  return path.join(userRuntimeDir(deps), "control.sock");
}
