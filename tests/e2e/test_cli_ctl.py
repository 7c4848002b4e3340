"""`argo-proxy ctl` over the control socket: several clients at once, legacy switching
seen as notifications, a private socket, one daemon per socket, a stale socket
replaced after SIGKILL, and a clear message when no daemon runs."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import stat
import subprocess
from pathlib import Path
from typing import Any

from argo_proxy.control.client import ControlClient

from . import api
from .conftest import _EXE, Process, StartDaemon, clean_env, spawn


def ctl(sock: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start `argo-proxy ctl ARGS` on `sock` (not waiting for it)."""
    return subprocess.Popen(
        [_EXE, "ctl", *args, "--control-socket", str(sock)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_ctl(sock: Path, *args: str) -> tuple[int, str, str]:
    proc = ctl(sock, *args)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


def test_two_ctl_clients_at_once_and_legacy_switching_seen_by_a_listener(
    start_daemon: StartDaemon,
) -> None:
    daemon = start_daemon()
    sock = daemon.control_socket
    assert sock is not None
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600

    async def scenario() -> list[tuple[str, Any]]:
        listener = await ControlClient.connect(sock)  # stays connected throughout
        try:
            both = [ctl(sock, "status", "--json"), ctl(sock, "status", "--json")]
            # The listener's own call is answered while the ctl processes talk too.
            assert (await listener.call("legacy.get")) == {"enabled": False}
            outputs = await asyncio.gather(
                *(asyncio.to_thread(p.communicate, timeout=30) for p in both)
            )
            for proc, (out, err) in zip(both, outputs, strict=True):
                assert proc.returncode == 0, err
                assert json.loads(out)["pid"] == daemon.popen.pid
            code, out, _ = await asyncio.to_thread(run_ctl, sock, "legacy", "on")
            assert code == 0 and out.startswith("legacy mode on")
            seen = [await listener.notification()]
            code, out, _ = await asyncio.to_thread(run_ctl, sock, "legacy", "off")
            assert code == 0
            seen.append(await listener.notification())
            return seen
        finally:
            await listener.close()

    notes = asyncio.run(scenario())
    assert [(method, params["legacy"]) for method, params in notes] == [
        ("state.changed", True),
        ("state.changed", False),
    ]
    assert all(params["reason"] == "legacy mode switched by legacy.set" for _, params in notes)

    code, out, _ = run_ctl(sock, "legacy")
    assert (code, out.strip()) == (0, "legacy mode is off")
    code, out, _ = run_ctl(sock, "status")
    assert code == 0 and f"pid {daemon.popen.pid}" in out and daemon.url in out
    assert "legacy mode     off" in out
    assert "access          token required (" in out and api.TOKEN not in out
    code, out, _ = run_ctl(sock, "refresh")
    assert code == 0 and out.startswith("Model list refreshed successfully")
    code, out, _ = run_ctl(sock, "reload")
    assert code == 0 and "no setting changed" in out
    code, out, _ = run_ctl(sock, "config", "--json")
    assert code == 0 and json.loads(out)["config"]["user"] == "j***" and "jdoe" not in out
    code, out, _ = run_ctl(sock, "stop")
    assert (code, out.strip()) == (0, f"the daemon (pid {daemon.popen.pid}) has stopped")
    assert daemon.popen.wait(10) == 0
    assert not sock.exists()


def test_ctl_without_a_daemon_says_so(tmp_path: Path) -> None:
    code, out, err = run_ctl(tmp_path / "none.sock", "status")
    assert code == 1 and out == ""
    assert "no argo-proxy daemon is running" in err and "argo-proxy serve" in err

    stale = tmp_path / "stale.sock"  # a socket file nobody listens on
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(stale))
    code, _, err = run_ctl(stale, "stop")
    assert code == 1 and "stale" in err

    code, _, err = run_ctl(tmp_path / "none.sock", "status", "on")
    assert code == 2 and "takes no argument" in err


def _start(folder: Path, env: dict[str, str], *args: str, wait: bool = True) -> Process:
    return spawn(
        ["serve", str(folder / "config.yaml"), *args], cwd=folder, env=env, wait_for_url=wait
    )


def test_one_daemon_per_socket_and_a_stale_socket_is_replaced(
    workdir: Path, simulator: Process
) -> None:
    folder = workdir / "kill9"
    folder.mkdir()
    (folder / "config.yaml").write_text(
        f"user: jdoe\nport: 0\nargo_base_url: {simulator.url}\npypi_url: http://127.0.0.1:9/x\n"
    )
    env = clean_env(workdir)
    env["XDG_RUNTIME_DIR"] = str(folder / "run")  # the default socket location
    first = _start(folder, env)
    sock = folder / "run" / "argo-proxy" / "control.sock"
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700

    # another port, the same socket: refused at once (exit 3), not left waiting for it;
    # the bound is generous (a cold start on a loaded 2-core machine can take seconds)
    second = _start(folder, env, "--port", "0", wait=False)
    try:
        assert second.popen.wait(60) == 3
    finally:
        second.stop()
    assert (
        f"a daemon is already running (pid {first.popen.pid}, listening on {first.url}); "
        "`argo-proxy ctl status` reaches it"
    ) in second.log

    first.popen.send_signal(signal.SIGKILL)
    first.stop()
    assert sock.exists()  # left behind: nobody removed it

    third = _start(folder, env)
    try:
        proc = ctl(sock, "status", "--json", env=env)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert json.loads(out)["pid"] == third.popen.pid
        assert "replaced the stale control socket" in third.log
    finally:
        assert third.stop() == 0
    assert not sock.exists()


def test_a_second_daemon_on_a_taken_port_says_who_has_it(daemon: Process, workdir: Path) -> None:
    folder = workdir / "sameport"
    folder.mkdir()
    (folder / "config.yaml").write_text("user: jdoe\n")
    env = clean_env(workdir)
    env["ARGO_PROXY_CONTROL_SOCKET"] = str(folder / "control.sock")
    port = daemon.url.rsplit(":", 1)[1]
    second = spawn(
        ["serve", str(folder / "config.yaml"), "--port", port],
        cwd=folder,
        env=env,
        wait_for_url=False,
    )
    try:
        assert second.popen.wait(10) == 3
    finally:
        second.stop()
    assert f"an argo-proxy daemon already listens on {daemon.url}" in second.log
    assert not (folder / "control.sock").exists()  # the failed start cleaned up
