// Builds the daemon's wheel into dist/, for the .vsix: "Install argo-proxy" puts it
// into a private virtual environment (src/daemon/install.ts). Uses the repository's
// .venv Python (or $ARGO_PROXY_PYTHON), which has setuptools from `pip install -e .`.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const repo = path.resolve(import.meta.dirname, "..");
const python =
  process.env.ARGO_PROXY_PYTHON ??
  [path.join(repo, ".venv", "bin", "python"), path.join(repo, ".venv", "Scripts", "python.exe")].find((p) =>
    fs.existsSync(p),
  ) ??
  "python3";
const out = path.join(import.meta.dirname, "dist");
fs.mkdirSync(out, { recursive: true });
for (const f of fs.readdirSync(out)) if (f.endsWith(".whl")) fs.rmSync(path.join(out, f));
// a copy of the sources, so that the build leaves nothing (build/, *.egg-info) in the tree
const src = fs.mkdtempSync(path.join(os.tmpdir(), "argo-wheel-"));
try {
  for (const item of ["pyproject.toml", "README.md", "daemon", "control"]) {
    fs.cpSync(path.join(repo, item), path.join(src, item), {
      recursive: true,
      filter: (p) => !/__pycache__|\.pyc$/.test(p),
    });
  }
  execFileSync(python, ["-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", out, src], {
    stdio: ["ignore", "inherit", "inherit"],
  });
} finally {
  fs.rmSync(src, { recursive: true, force: true });
}
const wheels = fs.readdirSync(out).filter((f) => f.endsWith(".whl"));
if (wheels.length !== 1) throw new Error(`expected one wheel in ${out}, found ${wheels.join(", ") || "none"}`);
console.log(`wheel: dist/${wheels[0]}`);
