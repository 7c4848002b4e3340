// The config file "Open config file" creates: what it says, and that the daemon takes it.
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { configTemplate } from "../daemon/configTemplate";
import { EXE } from "./helpers";

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
