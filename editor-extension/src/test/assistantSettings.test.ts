// Writing assistants' own settings: ours set, everything else kept.
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  claudeCodeWritten,
  configTemplate,
  followClaudeCode,
  keyHash,
  withClaudeCodeVariables,
  withCodexProvider,
} from "../daemon/assistantSettings";
import { EXE } from "./helpers";

const URL = "http://127.0.0.1:44497/";
const TOKEN = "ap-0123456789abcdef";

describe("withClaudeCodeVariables", () => {
  it("keeps other variables and replaces ours", () => {
    const existing = [
      { name: "HTTPS_PROXY", value: "http://proxy:3128" },
      { name: "ANTHROPIC_BASE_URL", value: "https://old" },
      { bogus: true },
    ];
    assert.deepEqual(withClaudeCodeVariables(existing, URL, TOKEN), [
      { name: "HTTPS_PROXY", value: "http://proxy:3128" },
      { name: "ANTHROPIC_BASE_URL", value: "http://127.0.0.1:44497" },
      { name: "ANTHROPIC_API_KEY", value: TOKEN },
      { name: "CLAUDE_CODE_SKIP_ANTHROPIC_AUTH", value: "1" },
    ]);
  });

  it("starts from nothing when the setting is unset", () => {
    assert.equal(withClaudeCodeVariables(undefined, URL, TOKEN).length, 3);
  });
});

describe("followClaudeCode", () => {
  const wrote = withClaudeCodeVariables([{ name: "HTTPS_PROXY", value: "p" }], URL, TOKEN);
  const last = claudeCodeWritten(wrote);

  it("remembers a hash of the key, not the key", () => {
    assert.deepEqual(last, { url: "http://127.0.0.1:44497", keyHash: keyHash(TOKEN) });
    assert.doesNotMatch(JSON.stringify(last), /ap-0123/);
  });

  it("brings what it wrote up to date with a new port and a rotated token", () => {
    assert.deepEqual(followClaudeCode(wrote, last, "http://127.0.0.1:50001", "ap-new"), [
      { name: "HTTPS_PROXY", value: "p" },
      { name: "ANTHROPIC_BASE_URL", value: "http://127.0.0.1:50001" },
      { name: "ANTHROPIC_API_KEY", value: "ap-new" },
      { name: "CLAUDE_CODE_SKIP_ANTHROPIC_AUTH", value: "1" },
    ]);
  });

  it("leaves alone what is current, what the user changed since, and what it never wrote", () => {
    assert.equal(followClaudeCode(wrote, last, URL, TOKEN), undefined);
    const edited = wrote.map((e) => (e.name === "ANTHROPIC_BASE_URL" ? { ...e, value: "https://my.gateway" } : e));
    assert.equal(followClaudeCode(edited, last, "http://127.0.0.1:50001", "ap-new"), undefined);
    assert.equal(followClaudeCode(wrote, undefined, "http://127.0.0.1:50001", "ap-new"), undefined);
    assert.equal(followClaudeCode(undefined, last, "http://127.0.0.1:50001", "ap-new"), undefined);
  });
});

describe("withCodexProvider", () => {
  it("writes a whole config when there is none", () => {
    assert.equal(
      withCodexProvider("", URL),
      [
        'model_provider = "argo"',
        "",
        "[model_providers.argo]",
        'name = "ARGO via argo-proxy"',
        'base_url = "http://127.0.0.1:44497/v1"',
        'env_key = "ARGO_PROXY_TOKEN"',
        'wire_api = "responses"',
        "",
      ].join("\n"),
    );
  });

  it("never writes a key into the file", () => {
    assert.doesNotMatch(withCodexProvider("", URL), /ap-|api_key|jdoe/);
  });

  it("keeps other settings, selects argo, and replaces an older argo table", () => {
    const before = [
      "# my settings",
      'model = "o3"',
      'model_provider = "openai"',
      "",
      "[model_providers.argo]",
      'base_url = "http://127.0.0.1:1/v1"',
      "",
      "[model_providers.other]",
      'base_url = "https://example.invalid/v1"',
      "",
      "[profiles.fast]",
      'model = "gpt-4.1-mini"',
    ].join("\n");
    const after = withCodexProvider(before, URL);
    assert.match(after, /^# my settings\nmodel = "o3"\nmodel_provider = "argo"\n/);
    assert.equal((after.match(/\[model_providers\.argo\]/g) ?? []).length, 1);
    assert.ok(after.includes('base_url = "http://127.0.0.1:44497/v1"'));
    assert.ok(!after.includes("http://127.0.0.1:1/v1"));
    assert.ok(after.includes('[model_providers.other]\nbase_url = "https://example.invalid/v1"'));
    assert.ok(after.includes('[profiles.fast]\nmodel = "gpt-4.1-mini"'));
    assert.equal(withCodexProvider(after, URL), after); // idempotent
  });

  it("puts model_provider before the first table", () => {
    const after = withCodexProvider('[profiles.x]\nmodel = "a"\n', URL);
    assert.ok(after.startsWith('model_provider = "argo"\n[profiles.x]'));
  });
});

describe("configTemplate", () => {
  it("is a v3 config with the user and loopback defaults", () => {
    const text = configTemplate("jdoe");
    assert.match(text, /^config_version: '3'$/m);
    assert.match(text, /^user: jdoe$/m);
    assert.match(text, /^host: 127\.0\.0\.1$/m);
    assert.match(text, /^auth: token$/m);
  });
});

describe("configTemplate with the real daemon", () => {
  it("is a file `argo-proxy config validate` accepts", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "argo-template-"));
    try {
      const file = path.join(dir, "config.yaml");
      fs.writeFileSync(file, configTemplate("jdoe"));
      const out = execFileSync(EXE, ["config", "validate", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      assert.ok(out.length > 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
