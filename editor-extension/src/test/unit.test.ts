// The plain functions: finding the executable, the restart backoff, the
// terminal environment, the control socket path; and the layering rule.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { clientSetup, terminalEnv, ASSISTANTS } from "../daemon/env";
import { findExecutable } from "../daemon/executable";
import { controlSocketPath, defaultSocketDeps, SocketPathDeps } from "../daemon/socket";
import { execFileSync } from "node:child_process";
import { EXE } from "./helpers";
import { restartDelay } from "../daemon/supervisor";

describe("findExecutable", () => {
  const base = { executablePath: "", pathEnv: "/a/bin:/b/bin", platform: "linux" as const };

  it("uses the setting as given", () => {
    const found = findExecutable({ ...base, executablePath: "/opt/argo-proxy" }, () => true);
    assert.deepEqual(found, { path: "/opt/argo-proxy", source: "setting" });
    assert.equal(findExecutable({ ...base, executablePath: "/opt/argo-proxy" }, () => false), undefined);
  });

  it("prefers the active Python environment, then PATH", () => {
    const settings = { ...base, pythonInterpreter: "/venv/bin/python" };
    assert.deepEqual(findExecutable(settings, () => true), { path: "/venv/bin/argo-proxy", source: "python" });
    assert.deepEqual(
      findExecutable(settings, (p) => p === "/b/bin/argo-proxy"),
      { path: "/b/bin/argo-proxy", source: "path" },
    );
    assert.equal(findExecutable(settings, () => false), undefined);
  });
});

describe("restartDelay", () => {
  it("doubles from half a second up to 30 s", () => {
    assert.deepEqual([0, 1, 2, 3].map(restartDelay), [500, 1000, 2000, 4000]);
    assert.equal(restartDelay(20), 30_000);
  });
});

describe("terminalEnv", () => {
  it("points every assistant at the daemon's address", () => {
    const env = terminalEnv("http://127.0.0.1:5000/", "jdoe");
    assert.equal(env.ANTHROPIC_BASE_URL, "http://127.0.0.1:5000");
    assert.equal(env.ANTHROPIC_API_KEY, "jdoe");
    assert.equal(env.OPENAI_BASE_URL, "http://127.0.0.1:5000/v1");
    assert.equal(env.OPENAI_API_BASE, "http://127.0.0.1:5000/v1");
    assert.equal(env.OPENAI_API_KEY, "jdoe");
    assert.equal(env.GOOGLE_GEMINI_BASE_URL, "http://127.0.0.1:5000");
    assert.equal(env.GEMINI_API_KEY, "jdoe");
  });

  it("sets only what the chosen assistants read", () => {
    assert.deepEqual(Object.keys(terminalEnv("http://h:1", "u", ["gemini"])).sort(), [
      "GEMINI_API_KEY",
      "GOOGLE_GEMINI_BASE_URL",
    ]);
  });

  it("has a set-up text for every client", () => {
    for (const a of ASSISTANTS) assert.match(clientSetup(a, "http://127.0.0.1:5000", "jdoe"), /127\.0\.0\.1:5000/);
  });
});

describe("controlSocketPath", () => {
  const deps = (over: Partial<SocketPathDeps>): SocketPathDeps => ({
    env: {},
    euid: 1000,
    home: "/home/jdoe",
    platform: "linux",
    lstat: () => undefined,
    ...over,
  });
  const privateDir = { isDir: true, isSymlink: false, uid: 1000, mode: 0o700 };

  it("takes the option, then ARGO_PROXY_CONTROL_SOCKET", () => {
    assert.equal(controlSocketPath("/x/c.sock", deps({ env: { ARGO_PROXY_CONTROL_SOCKET: "/y" } })), "/x/c.sock");
    assert.equal(controlSocketPath(undefined, deps({ env: { ARGO_PROXY_CONTROL_SOCKET: "~/s" } })), "/home/jdoe/s");
  });

  it("uses a private XDG_RUNTIME_DIR, else /run/user/UID, else the temp dir", () => {
    const xdg = deps({ env: { XDG_RUNTIME_DIR: "/run/user/1000" }, lstat: () => privateDir });
    assert.equal(controlSocketPath(undefined, xdg), "/run/user/1000/argo-proxy/control.sock");
    const loose = deps({ env: { XDG_RUNTIME_DIR: "/x" }, lstat: (p) => (p === "/x" ? { ...privateDir, mode: 0o755 } : undefined) });
    assert.equal(controlSocketPath(undefined, loose), "/tmp/runtime-1000/argo-proxy/control.sock");
    const runUser = deps({ lstat: (p) => (p === "/run/user/1000" ? privateDir : undefined) });
    assert.equal(controlSocketPath(undefined, runUser), "/run/user/1000/argo-proxy/control.sock");
    assert.equal(controlSocketPath(undefined, deps({ env: { TMPDIR: "/scratch" } })), "/scratch/runtime-1000/argo-proxy/control.sock");
  });

  it("matches the Python daemon's rule on this machine", () => {
    const python = path.join(path.dirname(EXE), "python");
    const env = { ...process.env };
    delete env.ARGO_PROXY_CONTROL_SOCKET;
    const fromPython = execFileSync(
      python,
      ["-c", "from argo_proxy.daemon.config import control_socket_path; print(control_socket_path())"],
      { env, encoding: "utf8" },
    ).trim();
    assert.equal(controlSocketPath(undefined, { ...defaultSocketDeps(), env }), fromPython);
  });
});

describe("layering", () => {
  it("src/daemon imports no vscode", () => {
    const dir = path.resolve(__dirname, "..", "..", "src", "daemon");
    for (const file of fs.readdirSync(dir)) {
      const text = fs.readFileSync(path.join(dir, file), "utf8");
      assert.doesNotMatch(text, /from\s+["']vscode["']|require\(["']vscode["']\)/, file);
      assert.doesNotMatch(text, /:\s*any\b|as any\b|<any>/, `${file} uses any`);
    }
  });
});
