// What "Point … at argo-proxy" writes, against real files in a temp HOME: each
// assistant's other settings and comments kept, its own entries set, followed to a
// new port and token while the file is as written, and undone. Aider (pinned, from
// PyPI), Gemini CLI and Codex (when the pinned CLIs are there: the Python suite,
// tests/e2e/test_assistants.py, installs them) then run for real from the written
// files against the daemon, with nothing in their environment that names it. Both
// live in the test cache outside the clone (tests/downloads.py).
import * as assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parse as parseJsonc } from "jsonc-parser";
import { parse as parseYaml } from "yaml";
import { ASSISTANT_FILES, FileAssistant, Places, WireTarget, withEnvVariables } from "../daemon/assistantFiles";
import { ChatModel } from "../daemon/chat";
import { clientKey, clientUrl } from "../daemon/env";
import { applyChanges, describeChange, followChanges, readText, undoChanges } from "../daemon/fileEdits";
import { DaemonSupervisor } from "../daemon/supervisor";
import { makeSandbox, Sandbox, Simulator, startSimulator } from "./helpers";

const MODELS: ChatModel[] = [
  {
    id: "argo:claude-sonnet-4.6",
    internal_id: "claudesonnet46",
    name: "Claude Sonnet 4.6",
    family: "anthropic",
    max_input_tokens: 200_000,
    max_output_tokens: 64_000,
    tool_calling: true,
    image_input: true,
  },
  {
    id: "argo:gpt-4o",
    internal_id: "gpt4o",
    name: "GPT-4o",
    family: "openai",
    max_input_tokens: 128_000,
    max_output_tokens: 16_384,
    tool_calling: true,
    image_input: true,
  },
];

const TARGET: WireTarget = { url: "http://127.0.0.1:44497", key: "ap-first-token", models: MODELS };
const MOVED: WireTarget = { url: "http://127.0.0.1:45000", key: "ap-second-token", models: MODELS };

// What a user already has in each file.
const EXISTING: Record<string, string> = {
  ".gemini/settings.json": '{\n  // mine\n  "ui": { "theme": "GitHub" },\n  "security": { "folderTrust": { "enabled": true } }\n}\n',
  ".gemini/.env": "# my keys\nOTHER_KEY=1\nGEMINI_API_KEY=old\n",
  ".aider.conf.yml": "# my aider settings\ndark-mode: true\nmodel: openai/argo:gpt-4o\n",
  ".config/opencode/opencode.json":
    '{\n  "$schema": "https://opencode.ai/config.json",\n  // my providers\n  "provider": { "mine": { "npm": "x" } },\n  "theme": "tokyonight"\n}\n',
  ".continue/config.yaml":
    "name: My Config\nversion: 0.0.1\nschema: v1\nmodels:\n  # my local model\n  - name: Llama\n    provider: ollama\n    model: llama3\n  - name: old ARGO\n    provider: openai\n    model: argo:gpt-4o\n    apiBase: http://127.0.0.1:1234/v1\n",
  ".cline/data/globalState.json": '{"mode":"act","actModeApiProvider":"anthropic","favoritedModelIds":["x"]}',
  ".cline/data/secrets.json": '{"apiKey":"sk-ant-mine"}',
  ".codex/config.toml": '# mine\nmodel = "o3"\n\n[profiles.fast]\nmodel = "gpt-4o-mini"\n',
};

function home(): {
  places: Places;
  dir: string;
  write: (rel: string, text: string) => void;
  read: (rel: string) => string | undefined;
} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "argo-wire-"));
  return {
    dir,
    places: { home: dir, env: {} },
    write: (rel, text) => {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), text);
    },
    read: (rel) => readText(path.join(dir, rel)),
  };
}

function json(text: string | undefined): Record<string, unknown> {
  return parseJsonc(text ?? "") as Record<string, unknown>;
}

/** What each assistant's files must say after a write for `target`; `h.read` gives them. */
const CHECKS: Record<FileAssistant, (read: (rel: string) => string | undefined, target: WireTarget) => void> = {
  codex: (read, t) => {
    const toml = read(".codex/config.toml")!;
    assert.match(toml, /^# mine$/m);
    assert.match(toml, /\[profiles\.fast\]/);
    assert.match(toml, /^model_provider = "argo"$/m);
    assert.ok(toml.includes(`base_url = "${t.url}/v1"`));
    assert.ok(!toml.includes(t.key), "no secret in config.toml");
  },
  gemini: (read, t) => {
    const settings = read(".gemini/settings.json")!;
    assert.match(settings, /\/\/ mine/);
    const parsed = json(settings) as { ui: unknown; security: { auth: { selectedType: string }; folderTrust: unknown } };
    assert.deepEqual(parsed.ui, { theme: "GitHub" });
    assert.deepEqual(parsed.security.folderTrust, { enabled: true });
    assert.equal(parsed.security.auth.selectedType, "gemini-api-key");
    assert.equal(
      read(".gemini/.env"),
      `# my keys\nOTHER_KEY=1\nGEMINI_API_KEY=${t.key}\nGOOGLE_GEMINI_BASE_URL=${t.url}\n`,
    );
  },
  aider: (read, t) => {
    const text = read(".aider.conf.yml")!;
    assert.match(text, /^# my aider settings$/m);
    assert.deepEqual(parseYaml(text), {
      "dark-mode": true,
      model: "openai/argo:gpt-4o", // the user's choice stays
      "openai-api-base": `${t.url}/v1`,
      "openai-api-key": t.key,
    });
  },
  opencode: (read, t) => {
    const text = read(".config/opencode/opencode.json")!;
    assert.match(text, /\/\/ my providers/);
    const parsed = json(text) as {
      theme: string;
      model: string;
      provider: Record<string, { options?: { baseURL: string; apiKey: string }; models?: Record<string, unknown> }>;
    };
    assert.equal(parsed.theme, "tokyonight");
    assert.deepEqual(parsed.provider.mine, { npm: "x" });
    assert.equal(parsed.provider.argo.options?.baseURL, `${t.url}/v1`);
    assert.equal(parsed.provider.argo.options?.apiKey, "{env:ARGO_PROXY_TOKEN}");
    assert.deepEqual(Object.keys(parsed.provider.argo.models ?? {}), ["argo:claude-sonnet-4.6", "argo:gpt-4o"]);
    assert.equal(parsed.model, "argo/argo:claude-sonnet-4.6");
    assert.ok(!text.includes(t.key), "no secret in opencode.json");
  },
  continue: (read, t) => {
    const text = read(".continue/config.yaml")!;
    assert.match(text, /# my local model/);
    const parsed = parseYaml(text) as { name: string; models: { name: string; model: string; apiBase?: string; apiKey?: string }[] };
    assert.equal(parsed.name, "My Config");
    assert.deepEqual(
      parsed.models.map((m) => m.model),
      ["llama3", "argo:claude-sonnet-4.6", "argo:gpt-4o"], // the old ARGO entry replaced, the user's kept
    );
    assert.ok(parsed.models.slice(1).every((m) => m.apiBase === `${t.url}/v1` && m.apiKey === t.key));
  },
  cline: (read, t) => {
    const state = json(read(".cline/data/globalState.json"));
    assert.equal(state.mode, "act");
    assert.deepEqual(state.favoritedModelIds, ["x"]);
    assert.equal(state.actModeApiProvider, "openai");
    assert.equal(state.planModeApiProvider, "openai");
    assert.equal(state.openAiBaseUrl, `${t.url}/v1`);
    assert.equal(state.actModeOpenAiModelId, "argo:claude-sonnet-4.6");
    assert.deepEqual(json(read(".cline/data/secrets.json")), { apiKey: "sk-ant-mine", openAiApiKey: t.key });
  },
};

describe("each assistant's files", () => {
  for (const id of Object.keys(ASSISTANT_FILES) as FileAssistant[]) {
    const assistant = ASSISTANT_FILES[id];

    it(`${assistant.label}: keeps the user's settings, follows a new port and token, and undoes`, () => {
      const h = home();
      const record = path.join(h.dir, "storage", `${id}.json`);
      try {
        const files = assistant.files(h.places);
        const rels = files.map((f) => path.relative(h.dir, f));
        for (const rel of rels) if (EXISTING[rel] !== undefined) h.write(rel, EXISTING[rel]);
        const originals = rels.map((rel) => h.read(rel));

        const read = (f: string): string | undefined => readText(f);
        const changes = assistant.changes(read, h.places, TARGET);
        assert.deepEqual(changes.map((c) => c.file).sort(), [...files].sort());
        const shown = changes.map((c) => describeChange(c, (l) => l.replace(TARGET.key, "ap-…"))).join("\n");
        assert.ok(!shown.includes(TARGET.key), "the dialog never shows the token");
        applyChanges(changes, record);
        CHECKS[id](h.read, TARGET);
        for (const c of changes.filter((c) => c.mode === 0o600)) {
          assert.equal(fs.statSync(c.file).mode & 0o777, 0o600, `${c.file} is private`);
        }
        // writing again changes nothing
        assert.deepEqual(
          assistant.changes(readText, h.places, TARGET).filter((c) => c.before !== c.after),
          [],
        );

        // a new port and token: followed while the files are as written
        const followed = followChanges(assistant.changes(readText, h.places, MOVED), record);
        assert.ok(followed.length > 0);
        CHECKS[id](h.read, MOVED);

        // the user edits one file: it is theirs now; undo restores the others and keeps it
        const edited = files[0];
        fs.appendFileSync(edited, id === "cline" || id === "opencode" || id === "gemini" ? "\n" : "\n# mine too\n");
        assert.deepEqual(followChanges(assistant.changes(readText, h.places, TARGET), record).includes(edited), false);
        const undone = undoChanges(record);
        assert.deepEqual(undone.kept, [edited]);
        rels.forEach((rel, i) => {
          if (files[i] !== edited) assert.equal(h.read(rel), originals[i], `${rel} restored`);
        });
        assert.ok(!fs.existsSync(record));
      } finally {
        fs.rmSync(h.dir, { recursive: true, force: true });
      }
    });

    it(`${assistant.label}: writes into an empty HOME, and undo removes what it created`, () => {
      const h = home();
      const record = path.join(h.dir, "storage", `${id}.json`);
      try {
        applyChanges(assistant.changes(readText, h.places, TARGET), record);
        for (const f of assistant.files(h.places)) assert.ok(fs.existsSync(f), f);
        const undone = undoChanges(record);
        assert.equal(undone.kept.length, 0);
        for (const f of assistant.files(h.places)) assert.ok(!fs.existsSync(f), `${f} removed`);
      } finally {
        fs.rmSync(h.dir, { recursive: true, force: true });
      }
    });
  }

  it("refuses to rewrite a file it cannot parse", () => {
    const h = home();
    try {
      h.write(".continue/config.yaml", "models: [unclosed\n");
      assert.throws(() => ASSISTANT_FILES.continue.changes(readText, h.places, TARGET), /config\.yaml/);
      h.write(".cline/data/globalState.json", "{not json");
      assert.throws(() => ASSISTANT_FILES.cline.changes(readText, h.places, TARGET), /globalState\.json is not a JSON object/);
    } finally {
      fs.rmSync(h.dir, { recursive: true, force: true });
    }
  });

  it("withEnvVariables replaces in place, handles export and a missing newline", () => {
    assert.equal(withEnvVariables("export A=1\nB=2", { A: "x", C: "y" }), "A=x\nB=2\nC=y\n");
    assert.equal(withEnvVariables(undefined, { A: "x" }), "A=x\n");
  });
});

// What the tests download, outside the clone: $ARGO_PROXY_TEST_CACHE, else
// argo-proxy-tests in the user cache folder (tests/downloads.py has the same rule).
const TEST_CACHE =
  process.env.ARGO_PROXY_TEST_CACHE ||
  path.join(process.env.XDG_CACHE_HOME?.trim() || path.join(os.homedir(), ".cache"), "argo-proxy-tests");
// The real CLIs (pinned, as tests/e2e/test_assistants.py installs them).
const ASSISTANTS_DIR = process.env.ARGO_PROXY_ASSISTANTS_DIR ?? path.join(TEST_CACHE, "assistants");
const BIN = path.join(ASSISTANTS_DIR, "node_modules", ".bin");

function runCli(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  // stdin closed: Codex reads more prompt from an open one
  const child = spawn(command, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${path.basename(command)} exited with ${code}:\n${stdout}\n${stderr}`));
    });
  });
}

const AIDER_VERSION = "0.86.2";
const AIDER_VENV = path.join(TEST_CACHE, `aider-${AIDER_VERSION}`);

/** Aider in its own venv, installed once from PyPI (a pinned version). */
function aider(): string {
  const exe = path.join(AIDER_VENV, "bin", "aider");
  const stamp = path.join(AIDER_VENV, "installed");
  if (fs.existsSync(exe) && readText(stamp) === AIDER_VERSION) return exe;
  console.error(`test cache: installing Aider ${AIDER_VERSION} into ${AIDER_VENV} (once, ~690 MB)`);
  fs.rmSync(AIDER_VENV, { recursive: true, force: true });
  fs.mkdirSync(TEST_CACHE, { recursive: true });
  execFileSync("python3", ["-m", "venv", AIDER_VENV]);
  execFileSync(path.join(AIDER_VENV, "bin", "python"), ["-m", "pip", "install", "-q", "--disable-pip-version-check", `aider-chat==${AIDER_VERSION}`], {
    stdio: ["ignore", "ignore", "inherit"],
    timeout: 900_000,
  });
  fs.writeFileSync(stamp, AIDER_VERSION);
  return exe;
}

describe("Aider runs for real from the ~/.aider.conf.yml written", () => {
  let sim: Simulator;
  let box: Sandbox;
  let sup: DaemonSupervisor;

  before(async () => {
    sim = await startSimulator();
    box = makeSandbox(sim.url);
    sup = new DaemonSupervisor(box.options());
    await sup.start();
  });

  after(async () => {
    await sup.dispose();
    box.remove();
    await sim.stop();
  });

  it("answers through the daemon, its key and address only from the file", { timeout: 1_200_000 }, async () => {
    const exe = aider();
    const target = { url: clientUrl(sup.state.listenUrl!), key: clientKey(sup.state.access, "jdoe"), models: await sup.listModels() };
    const places = { home: box.dir, env: {} };
    applyChanges(ASSISTANT_FILES.aider.changes(readText, places, target), path.join(box.dir, "records", "aider.json"));
    const work = path.join(box.dir, "project");
    fs.mkdirSync(work);
    const env: NodeJS.ProcessEnv = {
      PATH: "/usr/bin:/bin",
      HOME: box.dir,
      // litellm's price list is fetched from the internet unless told to use its own copy
      LITELLM_LOCAL_MODEL_COST_MAP: "True",
      NO_COLOR: "1",
    };
    const out = await runCli(
      exe,
      ["--message", "hello from aider", "--no-git", "--yes-always", "--no-check-update", "--analytics-disable", "--no-show-model-warnings", "--no-pretty"],
      env,
      work,
    );
    assert.match(out, /Echo: hello from aider/);
  });
});

describe("assistants run for real from the written files", { skip: !fs.existsSync(BIN) && `no ${BIN} (CI installs it)` }, () => {
  let sim: Simulator;
  let box: Sandbox;
  let sup: DaemonSupervisor;
  let target: WireTarget;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    sim = await startSimulator();
    box = makeSandbox(sim.url);
    sup = new DaemonSupervisor(box.options());
    await sup.start();
    target = { url: clientUrl(sup.state.listenUrl!), key: clientKey(sup.state.access, "jdoe"), models: await sup.listModels() };
    // nothing of the developer's: the assistants know the daemon only from the files
    env = Object.fromEntries(
      Object.entries(box.env).filter(([k]) => !/^(ANTHROPIC_|OPENAI_|GEMINI_|GOOGLE_|ARGO_PROXY_|CODEX_)/.test(k)),
    );
    Object.assign(env, { NO_COLOR: "1", CI: "1", GEMINI_CLI_TRUST_WORKSPACE: "true" });
  });

  after(async () => {
    await sup.dispose();
    box.remove();
    await sim.stop();
  });

  it("Gemini CLI answers through the daemon with ~/.gemini/settings.json and .env as written", async () => {
    const places = { home: box.dir, env: {} };
    applyChanges(ASSISTANT_FILES.gemini.changes(readText, places, target), path.join(box.dir, "records", "gemini.json"));
    const out = await runCli(path.join(BIN, "gemini"), ["-p", "hello from gemini", "-m", "gemini-2.5-pro"], env, box.dir);
    assert.match(out, /Echo: hello from gemini/);
  });

  it("Codex answers through the daemon with ~/.codex/config.toml as written (the key from ARGO_PROXY_TOKEN)", async () => {
    const places = { home: box.dir, env: {} };
    applyChanges(ASSISTANT_FILES.codex.changes(readText, places, target), path.join(box.dir, "records", "codex.json"));
    const out = await runCli(
      path.join(BIN, "codex"),
      ["exec", "--skip-git-repo-check", "-m", "argo:gpt-4o", "hello from codex"],
      { ...env, ARGO_PROXY_TOKEN: target.key },
      box.dir,
    );
    assert.match(out, /Echo: hello from codex/);
  });
});
