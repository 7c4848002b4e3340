// The bundle the .vsix carries (dist/extension.js, built by esbuild.mjs) loads on its
// own: every module it needs is inside it, and only `vscode` comes from outside.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import Module from "node:module";
import * as path from "node:path";
import { it } from "node:test";

const BUNDLE = path.resolve(__dirname, "..", "..", "dist", "extension.js");

it("dist/extension.js loads with nothing but `vscode` from outside", () => {
  assert.ok(fs.existsSync(BUNDLE), "npm run build makes it");
  const asked: string[] = [];
  const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const original = loader._load;
  loader._load = (request: string, ...rest: unknown[]) => {
    if (request === "vscode") return new Proxy({}, { get: () => ({}) });
    if (!request.startsWith("node:") && !Module.isBuiltin(request)) asked.push(request);
    return original(request, ...rest);
  };
  try {
    const load = Module.createRequire(__filename);
    const loaded = load(BUNDLE) as { activate?: unknown; deactivate?: unknown };
    assert.equal(typeof loaded.activate, "function");
    assert.equal(typeof loaded.deactivate, "function");
  } finally {
    loader._load = original;
  }
  assert.deepEqual(asked.filter((r) => r !== BUNDLE), []);
});
