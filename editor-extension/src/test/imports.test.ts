// The import graph of src/: no circles, and protocol.ts (the wire types) imports
// nothing local.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { findCircle, importGraph } from "./importGraph";

const SRC = path.resolve(__dirname, "..", "..", "src");

describe("imports", () => {
  it("no module of src/ imports itself through others", () => {
    const circle = findCircle(importGraph(SRC));
    assert.equal(circle, undefined, `an import circle: ${circle?.join(" → ")}`);
  });

  it("protocol.ts, the wire types, imports nothing local", () => {
    assert.deepEqual(importGraph(SRC).get("daemon/protocol"), []);
  });

  it("the walk sees every kind of import, and names the circle it finds", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "imports-"));
    try {
      fs.mkdirSync(path.join(root, "daemon"));
      fs.writeFileSync(path.join(root, "a.ts"), 'import { b } from "./daemon/b";\nexport const a = b;\n');
      fs.writeFileSync(path.join(root, "daemon", "b.ts"), 'export { c as b } from "./c";\n');
      fs.writeFileSync(path.join(root, "daemon", "c.ts"), 'import type { A } from "../a";\nexport const c = 1;\n');
      fs.writeFileSync(path.join(root, "d.ts"), 'import * as fs from "node:fs";\nimport "./a";\n');
      const graph = importGraph(root);
      assert.deepEqual(graph.get("d"), ["a"]); // node:fs is not local
      assert.deepEqual(findCircle(graph), ["a", "daemon/b", "daemon/c", "a"]);
      fs.writeFileSync(path.join(root, "daemon", "c.ts"), "export const c = 1;\n");
      assert.equal(findCircle(importGraph(root)), undefined);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
