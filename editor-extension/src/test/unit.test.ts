// The plain functions: finding the executable, the restart backoff, the serve
// arguments, the client set-ups, the control socket path; and
// the layering rule.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { clientKey, clientUrl } from "../daemon/access";
import { argoProxyCommand, CLIENTS, clientSetup, keyText, shellQuote } from "../daemon/clientSetup";
import { findExecutable } from "../daemon/executable";
import { controlSocketPath, defaultSocketDeps, SocketPathDeps } from "../daemon/socket";
import { execFileSync } from "node:child_process";
import { EXE } from "./helpers";
import { restartDelay, serveArgs, setsPort } from "../daemon/supervisor";

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

describe("serveArgs", () => {
  it("starts with --port auto unless the extra arguments choose a port", () => {
    assert.deepEqual(serveArgs({ configPath: "/c.yaml", controlSocket: "/s", extraArgs: ["-v"] }), [
      "serve", "/c.yaml", "--control", "stdio", "--control-socket", "/s", "--port", "auto", "-v",
    ]);
    assert.deepEqual(serveArgs({ extraArgs: ["--port", "44500"] }), ["serve", "--control", "stdio", "--port", "44500"]);
    assert.deepEqual(serveArgs({ portAuto: false }), ["serve", "--control", "stdio"]);
  });

  it("knows every way to spell a port", () => {
    for (const args of [["--port", "1"], ["--port=1"], ["-p", "1"], ["-p1"], ["--po", "1"]]) {
      assert.ok(setsPort(args), args.join(" "));
    }
    for (const args of [[], ["-v"], ["--legacy-argo"], ["--host", "127.0.0.1"]]) assert.ok(!setsPort(args), args.join(" "));
  });
});

describe("clientUrl and clientKey", () => {
  it("dials a wildcard listen address on loopback", () => {
    assert.equal(clientUrl("http://0.0.0.0:5000"), "http://127.0.0.1:5000");
    assert.equal(clientUrl("http://[::]:5000/"), "http://[::1]:5000");
    assert.equal(clientUrl("http://127.0.0.1:5000/"), "http://127.0.0.1:5000");
  });

  it("sends the token with auth: token, else the username", () => {
    assert.equal(clientKey({ auth: "token", token: "ap-x", tokenFile: "/t" }, "jdoe"), "ap-x");
    assert.equal(clientKey({ auth: "none", tokenFile: "/t" }, "jdoe"), "jdoe");
    assert.equal(clientKey(undefined, "jdoe"), "jdoe");
  });
});

describe("client set-ups", () => {
  const token = { auth: "token" as const, token: "ap-secret", tokenFile: "/t" };

  it("name the token by the command that prints it, never the token itself", () => {
    const key = keyText(token, "jdoe");
    for (const a of CLIENTS) {
      const text = clientSetup(a, "http://127.0.0.1:5000", key);
      assert.match(text, /127\.0\.0\.1:5000/);
      assert.doesNotMatch(text, /ap-secret/);
      assert.doesNotMatch(text, /jdoe/);
    }
    assert.match(clientSetup("claude", "http://127.0.0.1:5000", key), /^export ANTHROPIC_API_KEY="\$\(argo-proxy token\)"$/m);
    assert.match(clientSetup("codex", "http://127.0.0.1:5000", key), /^env_key = "ARGO_PROXY_TOKEN"$/m);
    assert.match(
      clientSetup("openai-sdk", "http://127.0.0.1:5000", key),
      /^import os$[\s\S]*api_key=os\.environ\["ARGO_PROXY_TOKEN"\]\)$/m,
    );
  });

  it("with auth: none, show the username", () => {
    const key = keyText({ auth: "none" }, "jdoe");
    assert.match(clientSetup("aider", "http://127.0.0.1:5000", key), /^export OPENAI_API_KEY=jdoe$/m);
    assert.match(clientSetup("anthropic-sdk", "http://127.0.0.1:5000", key), /api_key="jdoe"\)$/);
  });

  it("ask the same argo-proxy and daemon as the editor", () => {
    assert.equal(argoProxyCommand("token"), "argo-proxy token");
    assert.equal(
      argoProxyCommand("token", { executable: "/my envs/bin/argo-proxy", controlSocket: "/tmp/c.sock" }),
      "'/my envs/bin/argo-proxy' token --control-socket /tmp/c.sock",
    );
    assert.equal(argoProxyCommand("run", { controlSocket: "/tmp/c.sock" }), "argo-proxy run --control-socket /tmp/c.sock --");
    const key = keyText(token, "jdoe", { executable: "/venv/bin/argo-proxy" });
    assert.match(clientSetup("gemini", "http://127.0.0.1:5000", key), /^export GEMINI_API_KEY="\$\(\/venv\/bin\/argo-proxy token\)"$/m);
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
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
  const src = path.resolve(__dirname, "..", "..", "src");
  const files = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)],
    );
  const importsVscode = (file: string): boolean =>
    /from\s+["']vscode["']|require\(["']vscode["']\)/.test(fs.readFileSync(file, "utf8"));

  it("src/daemon imports no vscode and uses no any", () => {
    for (const file of files(path.join(src, "daemon"))) {
      const text = fs.readFileSync(file, "utf8");
      assert.ok(!importsVscode(file), file);
      assert.doesNotMatch(text, /:\s*any\b|as any\b|<any>/, `${file} uses any`);
    }
  });

  it("only the modules that own a part of VS Code import it", () => {
    const owners = [
      "extension.ts",
      "languageModels.ts",
      "requestsView.ts",
      "status.ts",
      "usageView.ts",
      "vscodeapi.ts",
    ];
    const importing = files(src)
      .filter((f) => !f.includes(`${path.sep}test${path.sep}`) && importsVscode(f))
      .map((f) => path.relative(src, f))
      .sort();
    assert.deepEqual(importing, owners);
  });
});
