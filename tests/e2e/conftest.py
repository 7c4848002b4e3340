"""End-to-end fixtures: the simulated ARGO and the daemon as real processes on
free loopback ports, driven by the official SDKs."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

_LISTENING = re.compile(r"listening on (http://\S+)")
_EXE = shutil.which("argo-proxy", path=str(Path(sys.executable).parent)) or "argo-proxy"


@dataclass
class Process:
    """A running argo-proxy command, its URL, and everything it wrote to stderr."""

    popen: subprocess.Popen[bytes]
    url: str = ""
    lines: list[str] = field(default_factory=list)
    _drainer: threading.Thread = field(default_factory=threading.Thread)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            code = self.popen.wait()
        self._drainer.join(5)
        assert self.popen.stderr is not None
        self.popen.stderr.close()
        return code


def clean_env(home: Path) -> dict[str, str]:
    """The environment of a user with no argo-proxy settings and an empty home."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "HOST",
            "PORT",
            "VERBOSE",
            "ARGO_BASE_URL",
            "ARGO_USER",
            "CONFIG_PATH",
            "USERNAME_PASSTHROUGH",
            "USE_LEGACY_ARGO",
            "ANTHROPIC_STREAM_MODE",
        }
    }
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), NO_COLOR="1")
    return env


def spawn(args: list[str], *, cwd: Path, env: dict[str, str], wait_for_url: bool = True) -> Process:
    """Start `argo-proxy ARGS`; with wait_for_url, wait for its 'listening on' line."""
    popen = subprocess.Popen(
        [_EXE, *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    proc = Process(popen)
    found = threading.Event()

    def drain() -> None:
        assert popen.stderr is not None
        for raw in popen.stderr:
            line = raw.decode("utf-8", "replace")
            proc.lines.append(line)
            match = _LISTENING.search(line)
            if match and not proc.url:
                proc.url = match.group(1)
                found.set()
        found.set()

    proc._drainer = threading.Thread(target=drain, daemon=True)
    proc._drainer.start()
    if wait_for_url:
        found.wait(30)
        if not proc.url:
            proc.stop()
            raise RuntimeError(f"argo-proxy {' '.join(args)} did not start:\n{proc.log}")
    return proc


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def simulator(workdir: Path) -> Iterator[Process]:
    proc = spawn(["simulate", "--port", "0"], cwd=workdir, env=clean_env(workdir))
    yield proc
    proc.stop()


StartDaemon = Callable[..., Process]


@pytest.fixture(scope="session")
def start_daemon(workdir: Path, simulator: Process) -> Iterator[StartDaemon]:
    """Start a daemon with a config file (text appended to a base pointing at the simulator)."""
    started: list[Process] = []
    counter = iter(range(1, 10_000))

    def start(extra_config: str = "", *args: str, user: str = "jdoe") -> Process:
        folder = workdir / f"daemon{next(counter)}"
        folder.mkdir()
        config = folder / "config.yaml"
        config.write_text(
            f"config_version: '3'\nuser: {user}\nport: 0\nargo_base_url: {simulator.url}\n"
            f"pypi_url: http://127.0.0.1:9/pypi\n{extra_config}"
        )
        proc = spawn(["serve", str(config), *args], cwd=folder, env=clean_env(workdir))
        started.append(proc)
        if "argo_base_url" not in extra_config:  # the simulator is the upstream
            _wait_for_models(proc.url)
        return proc

    yield start
    for proc in started:
        proc.stop()


def _wait_for_models(url: str) -> None:
    """The daemon serves at once; wait until its first model fetch has landed."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/health").json().get("models") == "upstream":
            return
        time.sleep(0.05)


@pytest.fixture(scope="session")
def daemon(start_daemon: StartDaemon) -> Process:
    return start_daemon()


@pytest.fixture()
def sim(simulator: Process) -> Iterator[httpx.Client]:
    """The simulator's admin API (faults, request log), reset around each test."""
    with httpx.Client(base_url=simulator.url) as client:
        client.post("/__sim/reset")
        yield client
        client.post("/__sim/reset")
