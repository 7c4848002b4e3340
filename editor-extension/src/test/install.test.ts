// Finding argo-proxy where per-user installers put it, and "Install argo-proxy" for
// real: a private venv made with the system's Python, the daemon's wheel (built by
// wheel.mjs, as `npm run package` does) installed with its dependencies from the
// package index, and a daemon started from it in a HOME that has no argo-proxy.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { executableCandidates, findExecutable, searchedPlaces, venvExecutable } from "../daemon/executable";
import {
  findPython,
  installPrivateDaemon,
  needsUpdate,
  pythonCandidates,
  readStamp,
  RunResult,
  shippedWheel,
} from "../daemon/install";
import { DaemonSupervisor } from "../daemon/supervisor";
import { makeSandbox, Simulator, startSimulator } from "./helpers";

const EXT_DIR = path.resolve(__dirname, "..", "..");

describe("per-user install places", () => {
  it("finds pipx's and uv's links in ~/.local/bin when PATH lacks it (Linux)", () => {
    const settings = { executablePath: "", pathEnv: "/usr/bin", platform: "linux" as const, home: "/home/j" };
    assert.deepEqual(
      findExecutable(settings, (p) => p === "/home/j/.local/bin/argo-proxy"),
      { path: "/home/j/.local/bin/argo-proxy", source: "user" },
    );
    const places = executableCandidates(settings).map((c) => c.path);
    for (const p of [
      "/home/j/.local/share/pipx/venvs/argo-proxy/bin/argo-proxy",
      "/home/j/.local/pipx/venvs/argo-proxy/bin/argo-proxy",
      "/home/j/.local/share/uv/tools/argo-proxy/bin/argo-proxy",
    ]) {
      assert.ok(places.includes(p), p);
    }
    assert.ok(places.indexOf("/usr/bin/argo-proxy") < places.indexOf("/home/j/.local/bin/argo-proxy"));
  });

  it("follows PIPX_BIN_DIR, PIPX_HOME, UV_TOOL_DIR and XDG_DATA_HOME", () => {
    const places = executableCandidates({
      executablePath: "",
      pathEnv: "",
      platform: "linux",
      home: "/home/j",
      env: { PIPX_BIN_DIR: "/opt/pbin", PIPX_HOME: "/opt/pipx", UV_TOOL_DIR: "/opt/uvt", XDG_DATA_HOME: "/d" },
    }).map((c) => c.path);
    for (const p of [
      "/opt/pbin/argo-proxy",
      "/opt/pipx/venvs/argo-proxy/bin/argo-proxy",
      "/opt/uvt/argo-proxy/bin/argo-proxy",
      "/d/uv/tools/argo-proxy/bin/argo-proxy",
      "/d/pipx/venvs/argo-proxy/bin/argo-proxy",
    ]) {
      assert.ok(places.includes(p), p);
    }
  });

  it("knows the Windows places: ~/.local/bin, pipx, uv, pip --user", () => {
    const settings = {
      executablePath: "",
      pathEnv: "C:\\Windows",
      platform: "win32" as const,
      home: "C:\\Users\\j",
      env: { APPDATA: "C:\\Users\\j\\AppData\\Roaming", LOCALAPPDATA: "C:\\Users\\j\\AppData\\Local" },
      privateVenv: "C:\\Users\\j\\storage\\venv",
    };
    const places = executableCandidates(settings).map((c) => c.path);
    for (const p of [
      "C:\\Users\\j\\.local\\bin\\argo-proxy.exe",
      "C:\\Users\\j\\pipx\\venvs\\argo-proxy\\Scripts\\argo-proxy.exe",
      "C:\\Users\\j\\AppData\\Local\\pipx\\pipx\\venvs\\argo-proxy\\Scripts\\argo-proxy.exe",
      "C:\\Users\\j\\AppData\\Roaming\\uv\\tools\\argo-proxy\\Scripts\\argo-proxy.exe",
      "C:\\Users\\j\\AppData\\Roaming\\Python\\Python312\\Scripts\\argo-proxy.exe",
    ]) {
      assert.ok(places.includes(p), p);
    }
    assert.deepEqual(executableCandidates(settings).at(-1), {
      path: "C:\\Users\\j\\storage\\venv\\Scripts\\argo-proxy.exe",
      source: "private",
    });
  });

  it("knows macOS's pip --user folders, and says where it looked", () => {
    const settings = { executablePath: "", pathEnv: "/usr/bin", platform: "darwin" as const, home: "/Users/j" };
    assert.ok(executableCandidates(settings).some((c) => c.path === "/Users/j/Library/Python/3.12/bin/argo-proxy"));
    const said = searchedPlaces({ ...settings, privateVenv: "/s/venv" });
    assert.equal(said[0], "PATH");
    assert.ok(said.includes("/Users/j/.local/bin") && said.includes("/s/venv/bin"));
  });

  it("uses the private environment last", () => {
    const settings = { executablePath: "", pathEnv: "/usr/bin", platform: "linux" as const, home: "/h", privateVenv: "/s/venv" };
    assert.deepEqual(findExecutable(settings, (p) => p === "/s/venv/bin/argo-proxy"), {
      path: "/s/venv/bin/argo-proxy",
      source: "private",
    });
    assert.equal(findExecutable(settings, (p) => p.startsWith("/s/") || p === "/h/.local/bin/argo-proxy")?.source, "user");
  });
});

describe("findPython", () => {
  const answers: Record<string, RunResult> = {
    old: { code: 0, stdout: "3.8.10\n/usr/bin/old\n", stderr: "" },
    broken: { code: 1, stdout: "", stderr: "Traceback …\nModuleNotFoundError: No module named 'venv'" },
    good: { code: 0, stdout: "3.12.3\n/usr/bin/good\n", stderr: "" },
  };
  const runner = (command: string): Promise<RunResult> => Promise.resolve(answers[command]);

  it("takes the first Python 3.10+ that can make a venv, and says why others were passed over", async () => {
    const { found, tried } = await findPython(
      ["old", "broken", "good"].map((command) => ({ command, args: [] })),
      runner,
    );
    assert.equal(found?.command, "good");
    assert.equal(found?.version, "3.12.3");
    assert.equal(found?.executable, "/usr/bin/good");
    assert.match(tried[0], /old: Python 3.8.10 is older than 3.10/);
    assert.match(tried[1], /No module named 'venv'/);
  });

  it("tries the selected interpreter first, then python3 (py -3 on Windows)", () => {
    assert.deepEqual(
      pythonCandidates("/venv/bin/python", "linux").map((c) => c.command),
      ["/venv/bin/python", "python3", "python"],
    );
    assert.deepEqual(pythonCandidates(undefined, "win32")[0], { command: "py", args: ["-3"] });
  });
});

describe("Install argo-proxy, for real", () => {
  let sim: Simulator;
  let wheel: string;
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), "argo-install-"));
  const venv = path.join(storage, "venv");

  before(async () => {
    if (!shippedWheel(EXT_DIR)) execFileSync(process.execPath, [path.join(EXT_DIR, "wheel.mjs")], { cwd: EXT_DIR });
    wheel = shippedWheel(EXT_DIR)!;
    sim = await startSimulator();
  });

  after(async () => {
    await sim.stop();
    fs.rmSync(storage, { recursive: true, force: true });
  });

  it("makes the private environment with the system's Python and the daemon starts from it", async () => {
    const { found } = await findPython(pythonCandidates(undefined, process.platform));
    assert.ok(found, "a Python 3.10+ on PATH");
    const steps: string[] = [];
    const exe = await installPrivateDaemon({ venv, wheel, python: found, onProgress: (m) => steps.push(m) });
    assert.equal(exe, venvExecutable(venv, process.platform));
    assert.ok(steps.some((s) => s.startsWith("Creating a Python environment")), steps.join("\n"));
    assert.ok(steps.some((s) => /^Successfully installed .*argo-proxy-/.test(s)), steps.join("\n"));
    assert.equal(readStamp(venv)?.wheel, path.basename(wheel));
    assert.equal(needsUpdate(venv, wheel), false);

    // a HOME with no argo-proxy and a PATH without the repository's: the search finds the private one
    const box = makeSandbox(sim.url);
    try {
      const pathEnv = (box.env.PATH ?? "").split(":").filter((d) => !fs.existsSync(path.join(d, "argo-proxy"))).join(":");
      const found = findExecutable(
        { executablePath: "", pathEnv, platform: process.platform, home: box.dir, privateVenv: venv },
        fs.existsSync,
      );
      assert.deepEqual(found, { path: exe, source: "private" });
      const sup = new DaemonSupervisor(box.options({ executable: found.path, env: { ...box.env, PATH: pathEnv } }));
      try {
        const state = await sup.start();
        assert.equal(state.phase, "running");
        assert.ok((await sup.listModels()).length > 0);
      } finally {
        await sup.dispose();
      }
    } finally {
      box.remove();
    }
  });

  it("an extension update (another wheel) updates the private daemon", async () => {
    fs.writeFileSync(path.join(venv, "argo-proxy-wheel.json"), JSON.stringify({ wheel: path.basename(wheel), sha256: "0" }));
    assert.equal(needsUpdate(venv, wheel), true);
    const steps: string[] = [];
    await installPrivateDaemon({
      venv,
      wheel,
      python: { command: "python3", args: [] },
      onProgress: (m) => steps.push(m),
    });
    assert.ok(!steps.some((s) => s.startsWith("Creating")), "the environment is kept");
    assert.ok(steps.includes(`Replacing ${path.basename(wheel)}`), steps.join("\n"));
    assert.equal(needsUpdate(venv, wheel), false);
    assert.match(execFileSync(venvExecutable(venv, process.platform), ["--version"], { encoding: "utf8" }), /argo-proxy \d/);
  });
});
