// Bundles the extension and everything it imports from node_modules into one
// file, dist/extension.js, so that the .vsix carries no node_modules. `vscode`
// is the editor's own module and stays an import.
import * as esbuild from "esbuild";

await esbuild.build({
  entryPoints: ["src/extension.ts"],
  outfile: "dist/extension.js",
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  external: ["vscode"],
  // a UMD build may require its own files at run time, which a bundle does not
  // have: take the ES module builds where a package has them
  mainFields: ["module", "main"],
  sourcemap: false,
  minify: false,
  logLevel: "warning",
});
