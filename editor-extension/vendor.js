// Copies the runtime dependency next to the compiled code, so that the .vsix
// (packaged with --no-dependencies, offline) carries it: Node finds
// out/node_modules/vscode-jsonrpc from out/daemon/*.js.
const fs = require("node:fs");
fs.rmSync("out/node_modules", { recursive: true, force: true });
fs.cpSync("node_modules/vscode-jsonrpc", "out/node_modules/vscode-jsonrpc", { recursive: true });
