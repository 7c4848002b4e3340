// The control socket the extension attaches to must be the user's own (socket.ts
// `socketTrustProblem`): checked on fakes for each rule, and on a real socket that
// the supervisor then refuses to talk to.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { DaemonSupervisor } from "../daemon/supervisor";
import { socketTrustProblem, SocketPathDeps } from "../daemon/socket";
import { EXE } from "./helpers";

const ME = 1000;
const OTHER = 1001;

type Entry = { uid: number; mode: number; dir?: boolean; sticky?: boolean };

/** Deps over a fake tree: `/` and `/home` root's, `/tmp` 1777, the rest as given. */
function fakeDeps(entries: Record<string, Entry>): SocketPathDeps {
  const tree: Record<string, Entry> = {
    "/": { uid: 0, mode: 0o755, dir: true },
    "/home": { uid: 0, mode: 0o755, dir: true },
    "/tmp": { uid: 0, mode: 0o777, dir: true, sticky: true },
    ...entries,
  };
  return {
    env: {},
    euid: ME,
    home: "/home/me",
    platform: "linux",
    lstat: (p) => {
      const e = tree[p];
      return e && { isDir: e.dir ?? false, isSymlink: false, uid: e.uid, mode: e.mode, sticky: e.sticky };
    },
  };
}

const mine = { uid: ME, mode: 0o700, dir: true };

describe("socketTrustProblem", () => {
  it("trusts the user's socket in the user's private folder, under root's folders or /tmp", () => {
    const home = fakeDeps({ "/home/me": mine, "/home/me/run": mine, "/home/me/run/c.sock": { uid: ME, mode: 0o600 } });
    assert.equal(socketTrustProblem("/home/me/run/c.sock", home), undefined);
    const tmp = fakeDeps({ "/tmp/runtime-1000": mine, "/tmp/runtime-1000/c.sock": { uid: ME, mode: 0o600 } });
    assert.equal(socketTrustProblem("/tmp/runtime-1000/c.sock", tmp), undefined);
  });

  it("refuses another user's socket", () => {
    const deps = fakeDeps({ "/home/me": mine, "/home/me/c.sock": { uid: OTHER, mode: 0o600 } });
    const problem = socketTrustProblem("/home/me/c.sock", deps) ?? "";
    assert.match(problem, /^the control socket \/home\/me\/c\.sock belongs to uid 1001, not to you: /);
    assert.match(problem, /another user could stand in for your daemon there/);
  });

  it("refuses a socket others can write to", () => {
    const deps = fakeDeps({ "/home/me": mine, "/home/me/c.sock": { uid: ME, mode: 0o666 } });
    assert.match(socketTrustProblem("/home/me/c.sock", deps) ?? "", /can be written by other users \(mode 0666\)/);
  });

  it("refuses a socket in another user's folder, or in a folder others can write to", () => {
    const theirs = fakeDeps({ "/home/them": { uid: OTHER, mode: 0o700, dir: true }, "/home/them/c.sock": { uid: ME, mode: 0o600 } });
    assert.match(
      socketTrustProblem("/home/them/c.sock", theirs) ?? "",
      /^the control socket's folder \/home\/them belongs to uid 1001, not to you: /,
    );
    const open = fakeDeps({ "/tmp/shared": { uid: ME, mode: 0o777, dir: true, sticky: true }, "/tmp/shared/c.sock": { uid: ME, mode: 0o600 } });
    assert.match(
      socketTrustProblem("/tmp/shared/c.sock", open) ?? "",
      /^the control socket's folder \/tmp\/shared can be written by other users \(mode 0777\)/,
    );
  });

  it("refuses a folder inside another user's, or inside one others can write to without the sticky bit", () => {
    const inside = fakeDeps({
      "/home/them": { uid: OTHER, mode: 0o755, dir: true },
      "/home/them/me": mine,
      "/home/them/me/c.sock": { uid: ME, mode: 0o600 },
    });
    assert.match(
      socketTrustProblem("/home/them/me/c.sock", inside) ?? "",
      /is inside \/home\/them, a folder that belongs to uid 1001/,
    );
    const open = fakeDeps({
      "/srv": { uid: 0, mode: 0o777, dir: true },
      "/srv/me": mine,
      "/srv/me/c.sock": { uid: ME, mode: 0o600 },
    });
    assert.match(socketTrustProblem("/srv/me/c.sock", open) ?? "", /is inside \/srv, which other users can write to \(mode 0777\)/);
  });

  it("follows links to the socket's real place", () => {
    const deps = {
      ...fakeDeps({ "/home/them": { uid: OTHER, mode: 0o700, dir: true }, "/home/them/c.sock": { uid: ME, mode: 0o600 } }),
      realpath: (p: string) => (p === "/home/me/c.sock" ? "/home/them/c.sock" : p),
    };
    assert.match(socketTrustProblem("/home/me/c.sock", deps) ?? "", /folder \/home\/them belongs to uid 1001/);
  });
});

describe("attaching", () => {
  it("refuses a socket in a folder others can write to, says why, and starts nothing", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "argo-ext-trust-"));
    const socketPath = path.join(dir, "c.sock");
    let connections = 0;
    const planted = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => planted.listen(socketPath, resolve));
    fs.chmodSync(dir, 0o777); // anyone could have put this socket here
    const lines: string[] = [];
    const sup = new DaemonSupervisor({
      executable: EXE,
      controlSocket: socketPath,
      env: { ...process.env, HOME: dir },
      restartDelay: () => 10,
    });
    sup.onLog((l) => lines.push(l.line));
    try {
      await assert.rejects(sup.start(), /not attaching: the control socket's folder .* can be written by other users \(mode 0777\)/);
      assert.equal(sup.state.phase, "error");
      assert.match(sup.state.message ?? "", /^not attaching: the control socket's folder/);
      assert.ok(!(sup.state.message ?? "").includes("tried"), "not tried again: waiting changes nothing");
      assert.ok(lines.some((l) => l.includes("not attaching:") && l.includes(dir)), lines.join("\n"));
      assert.equal(connections, 0, "nothing was sent to the planted socket");
      assert.equal(sup.state.mode, undefined, "no daemon was started in its place");
    } finally {
      await sup.dispose();
      await new Promise<void>((resolve) => planted.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("trusts a real socket in a private folder", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "argo-ext-trust-"));
    const socketPath = path.join(dir, "c.sock");
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      fs.chmodSync(socketPath, 0o600);
      assert.equal(socketTrustProblem(socketPath), undefined);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
