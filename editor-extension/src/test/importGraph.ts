// The extension's import graph, for the test that keeps it free of circles (the
// Python side has its own, tests/unit/test_repository.py). Every local import counts,
// type-only ones and re-exports too: TypeScript's own pre-processor lists them.
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

/** Module (path relative to `root`, without `.ts`) → the local modules it imports. */
export type ImportGraph = Map<string, string[]>;

function tsFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
}

/** The graph of every `.ts` file under `root`: only relative imports, resolved. */
export function importGraph(root: string): ImportGraph {
  const name = (file: string): string => path.relative(root, file).replace(/\.ts$/, "").split(path.sep).join("/");
  const graph: ImportGraph = new Map();
  for (const file of tsFiles(root)) {
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
    const local = importedFiles
      .map((i) => i.fileName)
      .filter((spec) => spec.startsWith("."))
      .map((spec) => name(path.resolve(path.dirname(file), spec.replace(/\.js$/, "")) + ".ts"));
    graph.set(name(file), [...new Set(local)]);
  }
  return graph;
}

/** The first circle found, as the modules on it with the first repeated at the end
 * (`a → b → a`), or undefined when there is none. */
export function findCircle(graph: ImportGraph): string[] | undefined {
  const done = new Set<string>();
  const walking: string[] = []; // the modules being walked, outermost first
  const visit = (module: string): string[] | undefined => {
    const onPath = walking.indexOf(module);
    if (onPath >= 0) return [...walking.slice(onPath), module];
    if (done.has(module)) return undefined;
    walking.push(module);
    for (const next of graph.get(module) ?? []) {
      const circle = visit(next);
      if (circle) return circle;
    }
    walking.pop();
    done.add(module);
    return undefined;
  };
  for (const module of [...graph.keys()].sort()) {
    const circle = visit(module);
    if (circle) return circle;
  }
  return undefined;
}
