// Where the daemon's control socket lives: the same rule as the Python side
// (daemon/config.py `control_socket_path`, which asks platformdirs for the user
// runtime directory), and whether a socket found there may be trusted (daemon/folders.py
// does the same for `argo-proxy ctl`). No `vscode` import: tested with `node --test`.
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
  lstat: (p: string) => { isDir: boolean; isSymlink: boolean; uid: number; mode: number; sticky?: boolean } | undefined;
  /** The path with every link resolved (fs.realpathSync); throws when it is missing. */
  realpath?: (p: string) => string;
}

function realLstat(p: string): ReturnType<SocketPathDeps["lstat"]> {
  try {
    const info = fs.lstatSync(p);
    return {
      isDir: info.isDirectory(),
      isSymlink: info.isSymbolicLink(),
      uid: info.uid,
      mode: info.mode & 0o777,
      sticky: (info.mode & 0o1000) !== 0, // S_ISVTX
    };
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
    realpath: (p) => fs.realpathSync(p),
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

/** As the daemon says it (daemon/config.py SOCKET_FOLDER_HINT). */
const SOCKET_HINT =
  "another user could stand in for your daemon there. Set XDG_RUNTIME_DIR to a folder of your own " +
  "(mode 0700), or name the socket with the argoProxy.controlSocket setting or " +
  `${CONTROL_SOCKET_ENV} (docs/security.md#private-folders)`;

/**
 * Why the control socket at `socketPath` must not be attached to, or undefined when it
 * may: whoever answers on a socket another user owns, or could have put there, could
 * pose as the daemon and be handed the editor's requests. The socket must belong to
 * the user (or root), its folder to the user, neither writable by others, and every
 * folder above to the user or root, writable by others only with the sticky bit (/tmp).
 */
export function socketTrustProblem(socketPath: string, deps: SocketPathDeps = defaultSocketDeps()): string | undefined {
  if (deps.platform === "win32") return undefined;
  const refuse = (what: string, where: string, problem: string): string => `${what} ${where} ${problem}: ${SOCKET_HINT}`;
  const owner = (uid: number): string => `uid ${uid}`;
  let real: string;
  try {
    real = deps.realpath ? deps.realpath(socketPath) : socketPath;
  } catch {
    return undefined; // gone meanwhile: nothing to attach to
  }
  const socket = deps.lstat(real);
  if (socket === undefined) return undefined;
  if (socket.uid !== deps.euid && socket.uid !== 0) {
    return refuse("the control socket", socketPath, `belongs to ${owner(socket.uid)}, not to you`);
  }
  if (socket.mode & 0o022) {
    return refuse("the control socket", socketPath, `can be written by other users (mode ${octal(socket.mode)})`);
  }
  const folder = path.dirname(real);
  const info = deps.lstat(folder);
  if (!info?.isDir) return refuse("the control socket's folder", folder, "cannot be checked");
  if (info.uid !== deps.euid) {
    return refuse("the control socket's folder", folder, `belongs to ${owner(info.uid)}, not to you`);
  }
  if (info.mode & 0o022) {
    return refuse("the control socket's folder", folder, `can be written by other users (mode ${octal(info.mode)})`);
  }
  for (let above = path.dirname(folder); ; above = path.dirname(above)) {
    const up = deps.lstat(above);
    if (!up?.isDir) return refuse("the control socket", socketPath, `is inside ${above}, which cannot be checked`);
    if (up.uid !== deps.euid && up.uid !== 0) {
      return refuse("the control socket", socketPath, `is inside ${above}, a folder that belongs to ${owner(up.uid)}`);
    }
    if (up.mode & 0o022 && !up.sticky) {
      return refuse("the control socket", socketPath, `is inside ${above}, which other users can write to (mode ${octal(up.mode)})`);
    }
    if (above === path.dirname(above)) return undefined;
  }
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}
