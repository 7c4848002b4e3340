"""The simulator and the daemon as real processes, for bench/soak.py and bench/memory.py.

`Stack` starts `argo-proxy simulate --port 0` (or reuses a running simulator) and
`argo-proxy serve CONFIG` in a private temporary directory, the way bench/passthrough.py
does: `HOME`/cwd there (no user config is read), the daemon's own control socket there
(`--control-socket` and `ARGO_PROXY_CONTROL_SOCKET`: a daemon already running for the
user holds the default socket's instance lock), readiness = the `listening on` line on
stderr, then `GET /health`.

It also writes a local access token (`token_file:` in the config, the file mode 0600,
`secrets.token_urlsafe(32)`) and `auth_headers()` sends it on every request, so the
scripts work both before and after the daemon requires one; a daemon that does not yet
know `token_file` logs that it ignores the key.

`memory(pid)` reads VmRSS and VmHWM (peak RSS) from /proc/PID/status; `reset_peak(pid)`
resets VmHWM to the current RSS (writing 5 to /proc/PID/clear_refs, Linux >= 4.0).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

# bench/ is the script's directory, so sys.path[0]: the process helpers are passthrough's.
from passthrough import ServerProcess, argo_proxy_command, machine_cpu_seconds

__all__ = [
    "USER",
    "Memory",
    "ServerProcess",
    "Stack",
    "auth_headers",
    "bench_env",
    "log",
    "machine_cpu_seconds",
    "memory",
    "mib",
    "reset_peak",
    "run_report",
    "start_simulator",
]

USER = "benchuser"  # the ARGO username in the config (the simulator accepts any)
READY_TIMEOUT = 60.0  # seconds for a server to print its listening line (cold imports)


def log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def run_report(name: str, produce: Callable[[str], list[str]], output: str | None) -> int:
    """Run a benchmark in a private temporary folder (`produce(folder)` gives its report
    lines), print the report and write it to `output`; the exit code. SIGTERM and
    Ctrl-C stop it (130), a RuntimeError is reported (1): the servers are stopped either
    way by the callee's own cleanup."""

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    with tempfile.TemporaryDirectory(prefix=f"argo-{name}-") as tmp:
        try:
            lines = produce(tmp)
        except KeyboardInterrupt:
            log("interrupted")
            return 130
        except RuntimeError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
    text = "\n".join([f"argo-proxy {name} benchmark, {started}", "", *lines])
    print(text)
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return 0


# ---------------------------------------------------------------------------------------
# Memory of a process (Linux /proc)


@dataclass(frozen=True)
class Memory:
    rss: int  # bytes resident now (VmRSS)
    hwm: int  # bytes, the peak of VmRSS since start or reset_peak() (VmHWM)


def memory(pid: int) -> Memory:
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) * 1024  # the kernel reports kB (KiB)
    return Memory(fields["VmRSS"], fields["VmHWM"])


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS; False if the kernel refused."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def mib(n: int | float) -> str:
    return f"{n / 1048576:.0f} MiB"


# ---------------------------------------------------------------------------------------
# The servers


def auth_headers(token: str, *, anthropic: bool = False) -> dict[str, str]:
    """The local access token as each client SDK sends its API key."""
    if anthropic:
        return {"x-api-key": token, "anthropic-version": "2023-06-01"}
    return {"Authorization": f"Bearer {token}"}


def _write_token(path: Path) -> str:
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def bench_env(directory: Path) -> dict[str, str]:
    """Our environment minus ARGO_* and proxies, with HOME (and so the user config
    lookups) and the control socket in `directory`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ARGO", "HTTP_PROXY", "HTTPS_PROXY"))
    }
    env.update(
        HOME=str(directory),
        XDG_CONFIG_HOME=str(directory / ".config"),
        PYTHONUNBUFFERED="1",
        NO_PROXY="*",
        ARGO_PROXY_CONTROL_SOCKET=str(directory / "control.sock"),
    )
    return env


def start_simulator(directory: Path, *args: str) -> tuple[ServerProcess, str]:
    """`argo-proxy simulate --port 0 ARGS` in `directory`; (process, its base URL)."""
    directory.mkdir(exist_ok=True)
    log("starting the simulator")
    argv = [*argo_proxy_command(), "simulate", "--host", "127.0.0.1", "--port", "0", *args]
    sim = ServerProcess("simulator", argv, cwd=str(directory), env=bench_env(directory))
    try:
        return sim, sim.wait_ready(READY_TIMEOUT)
    except BaseException:
        sim.stop()
        raise


class Stack:
    """A simulator (unless `sim_url` is given) and a daemon, stopped by `stop()`.

    `config` adds keys to the daemon's config file (e.g. `request_timeout`).
    """

    def __init__(
        self,
        tmp: str,
        *,
        sim_url: str | None = None,
        sim_args: tuple[str, ...] = (),
        config: dict[str, Any] | None = None,
        name: str = "daemon",
        prefix: tuple[str, ...] = (),
    ) -> None:
        self.dir = Path(tmp, name)
        self.dir.mkdir(mode=0o700)  # it holds the token file
        self.sim: ServerProcess | None = None
        self.daemon: ServerProcess | None = None
        env = self.env = bench_env(self.dir)
        try:
            if sim_url is None:
                self.sim, sim_url = start_simulator(self.dir, *sim_args)
            self.sim_url = sim_url
            self.token = _write_token(self.dir / "token")
            lines = {
                "config_version": "'3'",
                "user": USER,
                "port": 0,
                "argo_base_url": sim_url,
                "pypi_url": "http://127.0.0.1:9/pypi",  # GET /version must not go out
                "token_file": str(self.dir / "token"),
                **(config or {}),
            }
            path = self.dir / "config.yaml"
            path.write_text("".join(f"{k}: {v}\n" for k, v in lines.items()))
            log(f"simulator at {sim_url}; starting the daemon")
            socket = env["ARGO_PROXY_CONTROL_SOCKET"]  # its own: see the module docstring
            self.control_socket = socket
            argv = [
                *prefix,  # e.g. prlimit (bench/limits.py)
                *argo_proxy_command(),
                "serve",
                str(path),
                "--quiet",
                "--control-socket",
                socket,
            ]
            self.daemon = ServerProcess("daemon", argv, cwd=str(self.dir), env=env)
            self.url = self.daemon.wait_ready(READY_TIMEOUT)
        except BaseException:  # also Ctrl-C: never leave a server behind
            self.stop()
            raise

    @property
    def pid(self) -> int:
        assert self.daemon is not None
        return self.daemon.proc.pid

    def headers(self, *, anthropic: bool = False) -> dict[str, str]:
        return {**auth_headers(self.token, anthropic=anthropic), "content-type": "application/json"}

    async def wait_health(self, session: aiohttp.ClientSession, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{self.url}/health", headers=self.headers()) as response:
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}: {(await response.text())[:200]}"
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                last = repr(exc)
            await asyncio.sleep(0.1)
        raise RuntimeError(f"daemon /health not OK after {timeout:g}s: {last}")

    def stop(self) -> None:
        for server in (self.daemon, self.sim):
            if server is not None:
                server.stop()
