// Pointing assistants at the daemon through the real `argo-proxy setup` and `env`
// (wiring.ts), as the extension's commands do, against a real daemon on a simulated
// ARGO in a temp HOME: the dry run writes nothing and never shows the token, the
// write keeps the user's other settings and comments, a rotated token is followed,
// undo puts the files back byte for byte, and the terminals get `env`'s variables.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { DaemonSupervisor } from "../daemon/supervisor";
import {
  applySetup,
  clientEnv,
  CommandError,
  ArgoProxyCommand,
  describePlan,
  followSetup,
  hasChanges,
  planSetup,
  setupStatus,
  terminalVariables,
  undoMessage,
  undoSetup,
  WIRE_COMMANDS,
} from "../daemon/wiring";
import { EXE, makeSandbox, Sandbox, Simulator, startSimulator } from "./helpers";

const PACKAGE = path.resolve(__dirname, "..", "..", "package.json");

// what the user had before: settings and comments of their own
const CODEX_BEFORE = '# my codex\nmodel = "o3"\n\n[profiles.fast]\nmodel = "gpt-4.1-mini" # quick\n';
const AIDER_BEFORE = "# mine\ndark-mode: true\n";

let sim: Simulator;
let box: Sandbox;
let sup: DaemonSupervisor;
let place: ArgoProxyCommand;

function home(file: string): string {
  return path.join(box.dir, file);
}

function token(): string {
  return fs.readFileSync(box.tokenPath, "utf8").trim();
}

before(async () => {
  sim = await startSimulator();
  box = makeSandbox(sim.url);
  // the assistants' files and setup's backups in this HOME, wherever the runner's are
  for (const name of ["CODEX_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "GEMINI_CLI_HOME", "CLAUDE_CONFIG_DIR"]) {
    delete box.env[name];
  }
  sup = new DaemonSupervisor(box.options());
  await sup.start();
  place = { executable: EXE, configPath: box.configPath, controlSocket: sup.socketPath, env: box.env };
  fs.mkdirSync(home(".codex"));
  fs.writeFileSync(home(".codex/config.toml"), CODEX_BEFORE);
  fs.writeFileSync(home(".aider.conf.yml"), AIDER_BEFORE);
});

after(async () => {
  await sup?.dispose();
  box?.remove();
  await sim?.stop();
});

describe("argo-proxy setup, as the extension runs it", () => {
  it("has a command for each tool setup knows, and no other", async () => {
    const tools = (await setupStatus(place)).tools.map((t) => t.tool);
    assert.deepEqual(Object.keys(WIRE_COMMANDS).sort(), [...tools].sort());
    const manifest = JSON.parse(fs.readFileSync(PACKAGE, "utf8")) as { contributes: { commands: { command: string }[] } };
    const declared = manifest.contributes.commands.map((c) => c.command);
    for (const { command } of Object.values(WIRE_COMMANDS)) assert.ok(declared.includes(command), command);
  });

  it("dry run: the diff of the user's file, nothing written, no token shown", async () => {
    const plan = await planSetup(place, ["codex", "aider"]);
    assert.equal(plan.dry_run, true);
    assert.ok(hasChanges(plan));
    const shown = describePlan(plan);
    assert.match(shown, /^\+model_provider = "argo"$/m);
    assert.match(shown, /^\+base_url = "http:\/\/127\.0\.0\.1:\d+\/v1"$/m);
    assert.match(shown, /^\+openai-api-key: ap-…$/m);
    assert.ok(!shown.includes(token()), "the dialog never shows the token");
    assert.equal(fs.readFileSync(home(".codex/config.toml"), "utf8"), CODEX_BEFORE);
    assert.equal(fs.readFileSync(home(".aider.conf.yml"), "utf8"), AIDER_BEFORE);
  });

  it("write: our entries set, the user's settings and comments kept; set up, and nothing left to change", async () => {
    const result = await applySetup(place, ["codex", "aider"]);
    assert.deepEqual(result.written?.codex, [home(".codex/config.toml")]);
    const codex = fs.readFileSync(home(".codex/config.toml"), "utf8");
    assert.ok(codex.startsWith("# my codex\n"), codex);
    assert.match(codex, /^model = "o3"$/m, "the user's model stays");
    assert.match(codex, /^\[profiles\.fast\]\nmodel = "gpt-4\.1-mini" # quick$/m);
    assert.match(codex, /^env_key = "ARGO_PROXY_TOKEN"$/m);
    assert.ok(!codex.includes(token()), "no secret in Codex's file");
    const aider = fs.readFileSync(home(".aider.conf.yml"), "utf8");
    assert.ok(aider.startsWith(AIDER_BEFORE), aider);
    assert.match(aider, new RegExp(`^openai-api-key: ${token()}$`, "m"));
    assert.equal(fs.statSync(home(".aider.conf.yml")).mode & 0o777, 0o600, "a file with the token is private");
    assert.equal(hasChanges(await planSetup(place, ["codex", "aider"])), false);
    const status = await setupStatus(place);
    assert.deepEqual(
      status.tools.filter((t) => t.set_up).map((t) => t.tool),
      ["codex", "aider"],
    );
  });

  it("follows a rotated token into the files that hold it, and leaves the others", async () => {
    const codexBefore = fs.readFileSync(home(".codex/config.toml"), "utf8");
    await sup.rotateToken();
    const written = await followSetup(place);
    assert.deepEqual(written, [home(".aider.conf.yml")]);
    assert.match(fs.readFileSync(home(".aider.conf.yml"), "utf8"), new RegExp(`^openai-api-key: ${token()}$`, "m"));
    assert.equal(fs.readFileSync(home(".codex/config.toml"), "utf8"), codexBefore);
    assert.deepEqual(await followSetup(place), [], "nothing more to follow");
  });

  it("leaves a tool whose file the user changed since: it is theirs now", async () => {
    const file = home(".aider.conf.yml");
    const edited = `${fs.readFileSync(file, "utf8")}# mine too\n`;
    fs.writeFileSync(file, edited);
    const aider = (await setupStatus(place)).tools.find((t) => t.tool === "aider");
    assert.deepEqual(aider?.changed_since, [file]);
    await sup.rotateToken();
    assert.deepEqual(await followSetup(place), []);
    assert.equal(fs.readFileSync(file, "utf8"), edited);
    // put back as setup wrote it (the new token), so that undo below restores it
    await applySetup(place, ["aider"]);
    assert.deepEqual((await setupStatus(place)).tools.find((t) => t.tool === "aider")?.changed_since, []);
  });

  it("undo: the files back byte for byte; then nothing set up and nothing to undo", async () => {
    const undone = await undoSetup(place, ["codex", "aider"]);
    assert.deepEqual(undone.undone.codex, { restored: [home(".codex/config.toml")], removed: [], kept: [] });
    assert.equal(fs.readFileSync(home(".codex/config.toml"), "utf8"), CODEX_BEFORE);
    assert.equal(fs.readFileSync(home(".aider.conf.yml"), "utf8"), AIDER_BEFORE);
    assert.equal(undoMessage("Aider", undone.undone.aider), "Aider: put back 1 file(s) as they were.");
    assert.deepEqual((await setupStatus(place)).tools.filter((t) => t.set_up), []);
    const again = await undoSetup(place, ["codex"]);
    assert.equal(undoMessage("Codex CLI", again.undone.codex), "Codex CLI: nothing to undo.");
  });

  it("a new file: created, then removed by undo", async () => {
    const file = home(".gemini/settings.json");
    const plan = await planSetup(place, ["gemini"]);
    assert.match(describePlan(plan), /^--- \/dev\/null$/m);
    await applySetup(place, ["gemini"]);
    assert.match(fs.readFileSync(file, "utf8"), /"selectedType": "gemini-api-key"/);
    const undone = (await undoSetup(place, ["gemini"])).undone.gemini;
    assert.ok(undone?.removed.includes(file));
    assert.equal(fs.existsSync(file), false);
  });

  it("refuses a file that does not parse, saying which, and leaves it", async () => {
    const file = home(".aider.conf.yml");
    fs.writeFileSync(file, "model: [unclosed\n");
    try {
      await assert.rejects(planSetup(place, ["aider"]), (error: unknown) => {
        assert.ok(error instanceof CommandError);
        assert.equal(error.code, 1);
        assert.match(error.message, /\.aider\.conf\.yml/);
        return true;
      });
      assert.equal(fs.readFileSync(file, "utf8"), "model: [unclosed\n");
    } finally {
      fs.writeFileSync(file, AIDER_BEFORE);
    }
  });
});

describe("the terminals' variables, from argo-proxy env --json", () => {
  it("with every assistant: exactly env's variables, with the daemon's address and token", async () => {
    const env = await clientEnv(place);
    const all = terminalVariables(env, Object.keys(env.assistants));
    assert.deepEqual(all, env.variables);
    assert.deepEqual(Object.keys(all), Object.keys(env.variables), "in `argo-proxy env`'s order");
    assert.equal(all.ARGO_PROXY_URL, sup.state.listenUrl);
    assert.equal(all.ARGO_PROXY_TOKEN, token());
  });

  it("with some: ARGO_PROXY_URL, ARGO_PROXY_TOKEN and what those read; an unknown id adds nothing", async () => {
    const env = await clientEnv(place);
    assert.deepEqual(Object.keys(terminalVariables(env, ["gemini"])), [
      "ARGO_PROXY_URL",
      "ARGO_PROXY_TOKEN",
      "GOOGLE_GEMINI_BASE_URL",
      "GEMINI_API_KEY",
    ]);
    assert.deepEqual(Object.keys(terminalVariables(env, ["claude"])), [
      "ARGO_PROXY_URL",
      "ARGO_PROXY_TOKEN",
      "ANTHROPIC_BASE_URL",
      "ANTHROPIC_API_KEY",
      "CLAUDE_CODE_SKIP_ANTHROPIC_AUTH",
    ]);
    assert.deepEqual(Object.keys(terminalVariables(env, ["no-such-tool"])), ["ARGO_PROXY_URL", "ARGO_PROXY_TOKEN"]);
  });
});
