// The access token and the real port, against the real daemon: what the supervisor
// wires into terminals gets in (HTTP 200) and nothing else does (401), a rotation
// is followed, and a second daemon on a taken port (another user's, on a shared
// host) comes up on a free one that everything wired then uses.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { after, before, describe, it } from "node:test";
import { clientUrl } from "../daemon/access";
import { DaemonSupervisor, SupervisorState } from "../daemon/supervisor";
import { clientEnv, terminalVariables } from "../daemon/wiring";
import {
  EXE,
  freePort,
  httpStatus,
  makeSandbox,
  runExe,
  Sandbox,
  Simulator,
  startDaemon,
  startSimulator,
  waitForState,
} from "./helpers";

let sim: Simulator;

before(async () => {
  sim = await startSimulator();
});

after(async () => {
  await sim.stop();
});

/** The terminals' environment for this state, as extension.ts builds it: `argo-proxy env --json`, every assistant. */
async function wiredEnv(box: Sandbox, state: SupervisorState): Promise<Record<string, string>> {
  assert.ok(state.listenUrl, "the daemon has a listen URL");
  const env = await clientEnv({ executable: EXE, configPath: box.configPath, controlSocket: box.socketPath, env: box.env });
  const vars = terminalVariables(env, Object.keys(env.assistants));
  assert.equal(vars.ARGO_PROXY_URL, clientUrl(state.listenUrl), "the address the supervisor sees");
  return vars;
}

function tokenInFile(box: Sandbox): string {
  return fs.readFileSync(box.tokenPath, "utf8").trim();
}

/** What each client family sends with the key it finds in `env`: all must get in. */
async function assertEnvGetsIn(env: Record<string, string>): Promise<void> {
  assert.equal(await httpStatus(`${env.OPENAI_BASE_URL}/models`, { authorization: `Bearer ${env.OPENAI_API_KEY}` }), 200);
  assert.equal(await httpStatus(`${env.ANTHROPIC_BASE_URL}/v1/models`, { "x-api-key": env.ANTHROPIC_API_KEY }), 200);
  assert.equal(await httpStatus(`${env.GOOGLE_GEMINI_BASE_URL}/v1/models`, { "x-goog-api-key": env.GEMINI_API_KEY }), 200);
  assert.equal(await httpStatus(`${env.ARGO_PROXY_URL}/v1/models?key=${encodeURIComponent(env.ARGO_PROXY_TOKEN)}`), 200);
}

describe("the access token in what the supervisor wires", () => {
  let box: Sandbox;
  let sup: DaemonSupervisor;

  before(async () => {
    box = makeSandbox(sim.url);
    sup = new DaemonSupervisor(box.options());
    await sup.start();
  });

  after(async () => {
    await sup.dispose();
    box.remove();
  });

  it("is fetched at start: the token in the daemon's token file", async () => {
    const access = sup.state.access;
    assert.equal(access?.auth, "token");
    assert.equal(access?.token, tokenInFile(box));
    assert.equal(access?.tokenFile, box.tokenPath);
    assert.deepEqual(await sup.getToken(), access);
  });

  it("is in the terminal environment, which is exactly `argo-proxy env`'s", async () => {
    const env = await wiredEnv(box, sup.state);
    assert.equal(env.ARGO_PROXY_TOKEN, sup.state.access?.token);
    for (const name of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"]) assert.equal(env[name], env.ARGO_PROXY_TOKEN);
    const cli = JSON.parse(await runExe(["env", "--json", "--control-socket", box.socketPath], box.env)) as {
      variables: Record<string, string>;
    };
    assert.deepEqual(env, cli.variables);
  });

  it("gets in with that environment's key, and not without it", async () => {
    const env = await wiredEnv(box, sup.state);
    await assertEnvGetsIn(env);
    assert.equal(await httpStatus(`${env.OPENAI_BASE_URL}/models`), 401);
    assert.equal(await httpStatus(`${env.ANTHROPIC_BASE_URL}/v1/models`, { "x-api-key": "jdoe" }), 401);
    assert.equal(await httpStatus(`${env.ARGO_PROXY_URL}/health`), 200, "/health needs no token");
  });

  it("follows a rotation made here: the old key is refused, the new one is wired", async () => {
    const old = await wiredEnv(box, sup.state);
    const access = await sup.rotateToken();
    assert.ok(access.token && access.token !== old.ARGO_PROXY_TOKEN);
    assert.deepEqual(sup.state.access, access, "the state has the new token when rotateToken resolves");
    assert.equal(access.token, tokenInFile(box));
    const env = await wiredEnv(box, sup.state);
    assert.equal(env.ANTHROPIC_API_KEY, access.token);
    await assertEnvGetsIn(env);
    assert.equal(await httpStatus(`${old.ANTHROPIC_BASE_URL}/v1/models`, { "x-api-key": old.ANTHROPIC_API_KEY }), 401);
  });

  it("follows a rotation made elsewhere (`argo-proxy token --rotate`): token.changed, then token.get", async () => {
    const old = sup.state.access?.token;
    const changed = waitForState(sup, (s) => s.access?.token !== undefined && s.access.token !== old, 30_000);
    const printed = (await runExe(["token", "--rotate", "--control-socket", box.socketPath], box.env)).trim();
    const state = await changed;
    assert.equal(state.access?.token, printed);
    await assertEnvGetsIn(await wiredEnv(box, state));
    assert.equal(await httpStatus(`${state.listenUrl}/v1/models`, { authorization: `Bearer ${old}` }), 401);
  });

  it("is fetched again when the daemon is restarted after a crash", async () => {
    const oldPid = sup.state.pid!;
    const token = sup.state.access?.token;
    process.kill(oldPid, "SIGKILL");
    const state = await waitForState(sup, (s) => s.phase === "running" && s.pid !== oldPid, 60_000);
    assert.equal(state.access?.token, token, "the same token file, so the same token");
    await assertEnvGetsIn(await wiredEnv(box, state));
  });
});

describe("a daemon attached to", () => {
  it("hands over its token too", async () => {
    const box = makeSandbox(sim.url);
    const daemon = await startDaemon(box);
    const sup = new DaemonSupervisor(box.options());
    try {
      const state = await sup.start();
      assert.equal(state.mode, "attached");
      assert.equal(state.access?.token, tokenInFile(box));
      await assertEnvGetsIn(await wiredEnv(box, state));
    } finally {
      await sup.dispose();
      await daemon.stop();
      box.remove();
    }
  });
});

describe("auth: none", () => {
  it("wires the username, which the daemon takes", async () => {
    const box = makeSandbox(sim.url);
    box.writeConfig("auth: none\n");
    const sup = new DaemonSupervisor(box.options());
    try {
      const state = await sup.start();
      assert.equal(state.access?.auth, "none");
      assert.equal(state.access?.token, undefined);
      const env = await wiredEnv(box, state);
      assert.equal(env.ANTHROPIC_API_KEY, "jdoe");
      assert.equal(env.ARGO_PROXY_TOKEN, "jdoe");
      await assertEnvGetsIn(env);
    } finally {
      await sup.dispose();
      box.remove();
    }
  });
});

describe("a reload that changes auth", () => {
  it("is followed: config.changed, then token.get", async () => {
    const box = makeSandbox(sim.url);
    const sup = new DaemonSupervisor(box.options());
    try {
      const started = await sup.start();
      assert.equal(started.access?.auth, "token");
      const off = waitForState(sup, (s) => s.access?.auth === "none", 30_000);
      box.writeConfig("auth: none\n");
      const state = await off;
      const env = await wiredEnv(box, state);
      assert.equal(env.OPENAI_API_KEY, "jdoe");
      await assertEnvGetsIn(env);
    } finally {
      await sup.dispose();
      box.remove();
    }
  });
});

describe("two users' daemons on one host", () => {
  let port: number;
  let boxA: Sandbox;
  let daemonA: Awaited<ReturnType<typeof startDaemon>>;

  before(async () => {
    // user A: their own HOME (so their own token), runtime dir and control socket
    port = await freePort();
    boxA = makeSandbox(sim.url, { port });
    daemonA = await startDaemon(boxA);
    assert.equal(daemonA.url, `http://127.0.0.1:${port}`);
  });

  after(async () => {
    await daemonA.stop();
    boxA.remove();
  });

  it("the second starts on a free port (--port auto), and what it wires uses that port", async () => {
    const boxB = makeSandbox(sim.url, { port }); // user B's config names the same port
    const sup = new DaemonSupervisor(boxB.options());
    try {
      const state = await sup.start();
      assert.equal(state.mode, "spawned", "B's own daemon, not A's");
      assert.notEqual(state.pid, daemonA.child.pid);
      const realPort = Number(new URL(state.listenUrl!).port);
      assert.ok(realPort > 0 && realPort !== port, `B listens on another port than ${port}: ${state.listenUrl}`);
      assert.equal((await sup.status()).listen_url, state.listenUrl);

      const env = await wiredEnv(boxB, state);
      for (const name of ["ARGO_PROXY_URL", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "GOOGLE_GEMINI_BASE_URL"]) {
        assert.equal(new URL(env[name]).port, String(realPort), name);
      }
      assert.equal(env.ARGO_PROXY_TOKEN, tokenInFile(boxB));
      await assertEnvGetsIn(env);
      // B's key is no key to A's daemon, nor A's to B's
      assert.notEqual(tokenInFile(boxA), tokenInFile(boxB));
      assert.equal(await httpStatus(`http://127.0.0.1:${port}/v1/models`, { "x-api-key": env.ANTHROPIC_API_KEY }), 401);
      assert.equal(await httpStatus(`${env.ARGO_PROXY_URL}/v1/models`, { "x-api-key": tokenInFile(boxA) }), 401);
    } finally {
      await sup.dispose();
      boxB.remove();
    }
  });

  it("without --port auto the second would not start at all", async () => {
    const boxB = makeSandbox(sim.url, { port });
    const sup = new DaemonSupervisor(boxB.options({ portAuto: false }));
    try {
      await assert.rejects(sup.start(), /already listens on/);
      assert.equal(sup.state.phase, "error");
    } finally {
      await sup.dispose();
      boxB.remove();
    }
  });
});
