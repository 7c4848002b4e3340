// DaemonSupervisor against the real daemon (`argo-proxy serve --control stdio`)
// and a simulated ARGO.
import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import { after, before, describe, it } from "node:test";
import { DaemonSupervisor } from "../daemon/supervisor";
import { makeSandbox, Sandbox, Simulator, startSimulator, waitFor, waitForState } from "./helpers";

let sim: Simulator;

before(async () => {
  sim = await startSimulator();
});

after(async () => {
  await sim.stop();
});

describe("a daemon the supervisor starts", () => {
  let box: Sandbox;
  let sup: DaemonSupervisor;

  before(async () => {
    box = makeSandbox(sim.url);
    sup = new DaemonSupervisor(box.options({ restartDelay: () => 50 }));
    await sup.start();
  });

  after(async () => {
    await sup.dispose();
    box.remove();
  });

  it("starts, listens and answers status", async () => {
    assert.equal(sup.state.phase, "running");
    assert.equal(sup.state.mode, "spawned");
    const status = await sup.status();
    assert.equal(status.phase, "running");
    assert.match(status.version, /^\d+\.\d+/);
    assert.match(status.listen_url ?? "", /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(status.listen_url, "http://127.0.0.1:0");
    assert.equal(sup.state.listenUrl, status.listen_url);
    assert.equal(status.pid, sup.state.pid);
    assert.equal(status.control_socket, box.socketPath);
    assert.ok(fs.existsSync(box.socketPath), "the daemon listens on the control socket too");
  });

  it("refreshes the model list", async () => {
    const result = await sup.refresh();
    assert.equal(result.status, "ok", result.message);
    assert.ok(result.current.unique_models > 0);
  });

  it("toggles legacy mode and hears state.changed", async () => {
    const heard = waitFor(
      sup.onNotification,
      (n) => n.method === "state.changed" && n.params.legacy === true,
      10_000,
      "state.changed",
    );
    const on = await sup.setLegacy(true);
    assert.deepEqual(on, { enabled: true, changed: true });
    await heard;
    assert.equal(sup.state.legacy, true);
    assert.deepEqual(await sup.getLegacy(), { enabled: true });
    const off = await sup.setLegacy(false);
    assert.deepEqual(off, { enabled: false, changed: true });
  });

  it("hears config.changed when the config file is edited", async () => {
    const heard = waitFor(sup.onNotification, (n) => n.method === "config.changed", 15_000, "config.changed");
    box.writeConfig("request_timeout: 123\n");
    const n = await heard;
    assert.ok(n.method === "config.changed");
    assert.equal(n.params.ok, true);
    assert.equal(n.params.trigger, "watch");
    assert.ok(n.params.changes.some((c) => c.key === "request_timeout"), JSON.stringify(n.params));
  });

  it("restarts the daemon after it is killed", async () => {
    const oldPid = sup.state.pid;
    assert.ok(oldPid);
    process.kill(oldPid, "SIGKILL");
    const state = await waitForState(sup, (s) => s.phase === "running" && s.pid !== oldPid, 30_000);
    assert.equal(state.mode, "spawned");
    const status = await sup.status();
    assert.equal(status.pid, state.pid);
    assert.equal(status.phase, "running");
  });
});

describe("stopping", () => {
  it("stops the daemon it started cleanly (exit 0) and removes the socket", async () => {
    const box = makeSandbox(sim.url);
    const sup = new DaemonSupervisor(box.options());
    try {
      await sup.start();
      const pid = sup.state.pid;
      assert.ok(pid);
      const code = await sup.stop();
      assert.equal(code, 0);
      assert.equal(sup.state.phase, "stopped");
      assert.throws(() => process.kill(pid, 0), "the process is gone");
      assert.equal(fs.existsSync(box.socketPath), false);
      await assert.rejects(sup.status(), /not running/);
    } finally {
      await sup.dispose();
      box.remove();
    }
  });
});

describe("a daemon already running", () => {
  let box: Sandbox;
  let other: ChildProcess;

  before(async () => {
    box = makeSandbox(sim.url);
    other = spawn(box.options().executable, ["serve", box.configPath, "--control-socket", box.socketPath], {
      env: box.env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    other.stderr!.resume();
    const deadline = Date.now() + 20_000;
    while (!fs.existsSync(box.socketPath)) {
      if (Date.now() > deadline) throw new Error("the other daemon did not create its socket");
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(async () => {
    if (other.exitCode === null) {
      other.kill("SIGTERM");
      await new Promise((r) => other.once("exit", r));
    }
    box.remove();
  });

  it("is attached to, not started a second time, and keeps running when detached", async () => {
    const sup = new DaemonSupervisor(box.options());
    try {
      const state = await sup.start();
      assert.equal(state.mode, "attached");
      assert.equal(state.pid, other.pid);
      const status = await sup.status();
      assert.equal(status.pid, other.pid);
      assert.match(status.listen_url ?? "", /^http:\/\/127\.0\.0\.1:\d+$/);
      const heard = waitFor(sup.onNotification, (n) => n.method === "state.changed", 10_000, "state.changed");
      await sup.setLegacy(true);
      await heard;
      assert.equal(await sup.stop(), null);
      assert.equal(sup.state.phase, "stopped");
      assert.equal(other.exitCode, null, "a daemon it attached to keeps running");
    } finally {
      await sup.dispose();
    }
  });
});

describe("repeated fast crashes", () => {
  it("gives up and says why, with the daemon's last lines", async () => {
    const box = makeSandbox(sim.url);
    const sup = new DaemonSupervisor(box.options({ restartDelay: () => 50, maxFastCrashes: 3 }));
    try {
      await sup.start();
      const refused = waitFor(sup.onNotification, (n) => n.method === "config.error", 15_000, "config.error");
      box.writeConfig("request_timeout: -5\n");
      const n = await refused;
      assert.ok(n.method === "config.error");
      assert.equal(n.params.ok, false);
      // the broken file is kept out while the daemon runs, but a restart reads it and fails
      process.kill(sup.state.pid!, "SIGKILL");
      const state = await waitForState(sup, (s) => s.phase === "error", 30_000);
      assert.match(state.message ?? "", /3 times in a row/);
      assert.match(state.message ?? "", /request_timeout/);
    } finally {
      await sup.dispose();
      box.remove();
    }
  });
});

describe("a start that fails", () => {
  it("is tried again with backoff, saying why, and runs once the cause is gone", async () => {
    const box = makeSandbox(sim.url);
    box.writeConfig("request_timeout: -5\n"); // the daemon refuses to start (exit code 3)
    const sup = new DaemonSupervisor(box.options({ restartDelay: () => 200, startRetries: 4 }));
    try {
      const retrying = waitForState(sup, (s) => s.phase === "starting" && (s.message ?? "").includes("try 1 of 5"), 30_000);
      const started = sup.start();
      const state = await retrying;
      assert.match(state.message ?? "", /could not start \(try 1 of 5\): .*; trying again in 200 ms/);
      box.writeConfig(); // fixed while it waits
      assert.equal((await started).phase, "running");
    } finally {
      await sup.dispose();
      box.remove();
    }
  });

  it("ends in `error` with the reason after the last try", async () => {
    const box = makeSandbox(sim.url);
    box.writeConfig("request_timeout: -5\n");
    const sup = new DaemonSupervisor(box.options({ restartDelay: () => 50, startRetries: 2 }));
    try {
      await assert.rejects(sup.start(), /could not start \(tried 3 times\): .*request_timeout/s);
      assert.equal(sup.state.phase, "error");
      assert.match(sup.state.message ?? "", /request_timeout/);
    } finally {
      await sup.dispose();
      box.remove();
    }
  });
});
