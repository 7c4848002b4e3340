// Shared by the tests: the real `argo-proxy` executable, a simulated ARGO, and
// a temp home with a config file and a control socket of its own.
import { ChildProcess, execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { DaemonSupervisor, SupervisorOptions, SupervisorState } from "../daemon/supervisor";

/** $ARGO_PROXY_EXE, else the repository's ../.venv/bin/argo-proxy. */
export const EXE = process.env.ARGO_PROXY_EXE ?? path.resolve(__dirname, "..", "..", "..", ".venv", "bin", "argo-proxy");

export interface Simulator {
  url: string;
  stop(): Promise<void>;
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** `argo-proxy simulate` on a free port (`args`: more options, e.g. `--chunk-delay-ms`). */
export function startSimulator(args: string[] = []): Promise<Simulator> {
  const child = spawn(EXE, ["simulate", "--port", "0", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`simulator did not start: ${seen}`)), 20_000);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      seen += chunk;
      const match = /argo-proxy simulate: listening on (http:\/\/\S+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        child.stderr.removeAllListeners("data");
        child.stderr.resume();
        resolve({
          url: match[1],
          stop: async () => {
            child.kill("SIGTERM");
            await waitExit(child);
          },
        });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited with ${code}: ${seen}`));
    });
  });
}

export interface Sandbox {
  dir: string;
  configPath: string;
  socketPath: string;
  /** The daemon's token file in this sandbox's HOME (the default `token_file`). */
  tokenPath: string;
  env: NodeJS.ProcessEnv;
  writeConfig(extra?: string): void;
  options(overrides?: Partial<SupervisorOptions>): SupervisorOptions;
  remove(): void;
}

/** A temp HOME, runtime dir, config (listening on `port`, 0 = any) and control socket. */
export function makeSandbox(argoUrl: string, { port = 0 }: { port?: number } = {}): Sandbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "argo-ext-"));
  const runtime = path.join(dir, "run");
  fs.mkdirSync(runtime, { mode: 0o700 });
  const configPath = path.join(dir, "config.yaml");
  const socketPath = path.join(dir, "c.sock");
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, XDG_RUNTIME_DIR: runtime };
  delete env.ARGO_PROXY_CONTROL_SOCKET;
  delete env.XDG_CONFIG_HOME; // the token file goes to $HOME/.config/argo-proxy/token
  const writeConfig = (extra = ""): void => {
    const text =
      `config_version: '3'\nuser: jdoe\nport: ${port}\n` +
      `argo_base_url: ${argoUrl}\npypi_url: http://127.0.0.1:9/pypi\n${extra}`;
    // write then rename, as editors do, so that the watcher never sees half a file
    fs.writeFileSync(`${configPath}.tmp`, text);
    fs.renameSync(`${configPath}.tmp`, configPath);
  };
  writeConfig();
  return {
    dir,
    configPath,
    socketPath,
    tokenPath: path.join(dir, ".config", "argo-proxy", "token"),
    env,
    writeConfig,
    options: (overrides = {}) => ({
      executable: EXE,
      configPath,
      controlSocket: socketPath,
      env,
      ...overrides,
    }),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Resolves with the first value `register` hands over that satisfies `pred`. */
export function waitFor<T>(
  register: (listener: (value: T) => void) => { dispose(): void },
  pred: (value: T) => boolean,
  timeoutMs = 20_000,
  what = "event",
): Promise<T> {
  return new Promise((resolve, reject) => {
    const sub = register((value) => {
      if (pred(value)) {
        clearTimeout(timer);
        sub.dispose();
        resolve(value);
      }
    });
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
  });
}

export function waitForState(
  sup: DaemonSupervisor,
  pred: (s: SupervisorState) => boolean,
  timeoutMs = 20_000,
): Promise<SupervisorState> {
  if (pred(sup.state)) return Promise.resolve(sup.state);
  return waitFor(sup.onState, pred, timeoutMs, "supervisor state");
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The HTTP status of `GET url` with these headers (as a client with that key would send). */
export async function httpStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  const reply = await fetch(url, { headers, signal: AbortSignal.timeout(20_000) });
  await reply.arrayBuffer();
  return reply.status;
}

/** Runs the real `argo-proxy` with `args` in a sandbox's environment; resolves with stdout. */
export function runExe(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(EXE, args, { env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`argo-proxy ${args.join(" ")}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Starts `argo-proxy serve` by hand (as another user, or a terminal, would) and waits for its listening line. */
export async function startDaemon(
  box: Sandbox,
  extraArgs: string[] = [],
): Promise<{ child: ChildProcess; url: string; stop(): Promise<void> }> {
  const child = spawn(EXE, ["serve", box.configPath, "--control-socket", box.socketPath, ...extraArgs], {
    env: box.env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`the daemon did not start: ${seen}`)), 30_000);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      seen += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the daemon exited with ${code}: ${seen}`));
    });
  });
  child.stderr.resume();
  return {
    child,
    url,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
