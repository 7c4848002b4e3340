"""End-to-end fixtures: the simulated ARGO and the daemon as real processes on
free loopback ports, driven by the official SDKs."""

from __future__ import annotations

import itertools
import json
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
from typing import Any

import httpx
import pytest

from . import api

_LISTENING = re.compile(r"listening on (http://\S+)")
_EXE = shutil.which("argo-proxy", path=str(Path(sys.executable).parent)) or "argo-proxy"


@dataclass
class Process:
    """A running argo-proxy command, its URL, and everything it wrote to stderr."""

    popen: subprocess.Popen[bytes]
    url: str = ""
    lines: list[str] = field(default_factory=list)
    control_socket: Path | None = None  # a daemon's control socket (`argo-proxy ctl`)
    _drainer: threading.Thread = field(default_factory=threading.Thread)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, text: str, timeout: float = 30) -> str:
        """The first stderr line containing `text`, waiting for it to be written."""
        deadline = time.monotonic() + timeout
        while True:
            for line in list(self.lines):
                if text in line:
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"no line with {text!r} in:\n{self.log}")
            time.sleep(0.02)

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
            "ARGO_PROXY_CONTROL_SOCKET",
            "ARGO_PROXY_HOST",
            "ARGO_PROXY_AUTH",
            "ARGO_PROXY_TOKEN_FILE",
            "ARGO_PROXY_SOCKET",
            "DUMP_REQUESTS",
            "DUMP_DIR",
        }
    }
    # XDG_RUNTIME_DIR: the default control socket lives there; never the real user's.
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".local" / "state"),  # the log file's folder
        XDG_RUNTIME_DIR=str(home / "run"),
        NO_COLOR="1",
    )
    return env


def new_user(workdir: Path, name: str, config: str) -> tuple[Path, dict[str, str]]:
    """Another user: their own home (so their own token and config dir), a config file
    there with `config`, and their own control socket; (home, environment)."""
    home = workdir / name
    home.mkdir()
    (home / "config.yaml").write_text(config)
    env = clean_env(home)
    env["ARGO_PROXY_CONTROL_SOCKET"] = str(home / "control.sock")
    return home, env


def spawn(
    args: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    wait_for_url: bool = True,
    pipes: bool = False,
    prefix: tuple[str, ...] = (),
) -> Process:
    """Start `argo-proxy ARGS` (behind `prefix`, e.g. `prlimit ...`); with wait_for_url,
    wait for its 'listening on' line.

    With `pipes`, stdin and stdout are pipes (for `--control stdio`), else /dev/null.
    """
    stdio = subprocess.PIPE if pipes else subprocess.DEVNULL
    popen = subprocess.Popen(
        [*prefix, _EXE, *args],
        cwd=cwd,
        env=env,
        stdin=stdio,
        stdout=stdio,
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


class StdioDaemon:
    """A daemon started with `--control stdio`, driven over its pipes like an editor does.

    Every byte the daemon writes to stdout is kept (`raw`) so a test can check that
    stdout carried JSON-RPC frames and nothing else.
    """

    def __init__(self, proc: Process, config: Path) -> None:
        self.proc = proc
        self.config = config
        self.raw = bytearray()
        self.responses: dict[int, dict[str, Any]] = {}
        self.notifications: list[dict[str, Any]] = []
        self._taken: set[int] = set()  # indexes of notifications a wait has returned
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def url(self) -> str:
        return self.proc.url

    def _read(self) -> None:
        stdout = self.proc.popen.stdout
        assert stdout is not None
        buffer = b""
        while chunk := stdout.read1(65536):
            with self._cond:
                self.raw += chunk
                buffer += chunk
                while (frame := split_frame(buffer)) is not None:
                    message, buffer = frame
                    if "method" in message:
                        self.notifications.append(message)
                    else:
                        self.responses[message.get("id")] = message
                self._cond.notify_all()

    def send_raw(self, data: bytes) -> None:
        stdin = self.proc.popen.stdin
        assert stdin is not None
        stdin.write(data)
        stdin.flush()

    def send(self, message: Any) -> None:
        body = json.dumps(message).encode()
        self.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def request(self, method: str, params: Any = None, timeout: float = 10) -> dict[str, Any]:
        """Send a request; return the whole response (`result` or `error`)."""
        msg_id = next(self._ids)
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.response(msg_id, timeout)

    def response(self, msg_id: Any, timeout: float = 10) -> dict[str, Any]:
        with self._cond:
            if not self._cond.wait_for(lambda: msg_id in self.responses, timeout):
                raise AssertionError(f"no response to {msg_id}; stderr:\n{self.proc.log}")
            return self.responses.pop(msg_id)

    def call(self, method: str, params: Any = None, timeout: float = 10) -> Any:
        response = self.request(method, params, timeout)
        assert "result" in response, response
        return response["result"]

    def notification(
        self, method: str, match: Callable[[Any], bool] = lambda _: True, timeout: float = 10
    ) -> Any:
        """The params of the oldest notification `method` that matches and was not yet
        returned (waiting for it if need be)."""

        def find() -> Any:
            for index, note in enumerate(self.notifications):
                if index not in self._taken and note["method"] == method:
                    if match(note.get("params")):
                        self._taken.add(index)
                        return note
            return None

        with self._cond:
            found = self._cond.wait_for(find, timeout)
        if not found:
            raise AssertionError(
                f"no {method} notification; got {self.notifications}\nstderr:\n{self.proc.log}"
            )
        return found.get("params")

    def close_stdin(self) -> None:
        stdin = self.proc.popen.stdin
        if stdin is not None and not stdin.closed:
            stdin.close()

    def wait(self, timeout: float = 15) -> int:
        """Wait for the daemon to exit (after shutdown or EOF); its exit code."""
        code = self.proc.popen.wait(timeout)
        self._reader.join(5)
        self.close_stdin()
        assert self.proc.popen.stdout is not None
        self.proc.popen.stdout.close()
        self.proc.stop()
        return code

    def stop(self) -> int:
        self.close_stdin()
        code = self.proc.stop()
        self._reader.join(5)
        if self.proc.popen.stdout is not None:
            self.proc.popen.stdout.close()
        return code


def split_frame(buffer: bytes) -> tuple[dict[str, Any], bytes] | None:
    """The first whole `Content-Length` frame in `buffer` and the rest; None if incomplete.

    Raises AssertionError for anything that is not a JSON-RPC frame.
    """
    head, sep, rest = buffer.partition(b"\r\n\r\n")
    if not sep:
        return None
    headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n"))
    assert set(headers) <= {b"Content-Length", b"Content-Type"}, f"bad frame header {head!r}"
    length = int(headers[b"Content-Length"])
    if len(rest) < length:
        return None
    message = json.loads(rest[:length])
    assert isinstance(message, dict) and message.get("jsonrpc") == "2.0", message
    return message, rest[length:]


def parse_frames(data: bytes) -> list[dict[str, Any]]:
    """Every frame in `data`; fails unless `data` is frames and nothing else."""
    messages = []
    while data:
        frame = split_frame(data)
        assert frame is not None, f"stdout ends with a partial frame or stray bytes: {data!r}"
        message, data = frame
        messages.append(message)
    return messages


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The home directory of every daemon the tests start, with their access token."""
    home = tmp_path_factory.mktemp("home")
    token_file = home / ".config" / "argo-proxy" / "token"
    token_file.parent.mkdir(parents=True)
    token_file.write_text(api.TOKEN + "\n")
    token_file.chmod(0o600)
    return home


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

    def start(
        extra_config: str = "", *args: str, user: str = "jdoe", prefix: tuple[str, ...] = ()
    ) -> Process:
        folder = workdir / f"daemon{next(counter)}"
        folder.mkdir()
        config = folder / "config.yaml"
        config.write_text(
            f"config_version: '3'\nuser: {user}\nport: 0\nargo_base_url: {simulator.url}\n"
            f"pypi_url: http://127.0.0.1:9/pypi\n{extra_config}"
        )
        env = clean_env(workdir)
        # Each daemon its own control socket: a second daemon on one socket refuses to start.
        env["ARGO_PROXY_CONTROL_SOCKET"] = str(folder / "control.sock")
        env["XDG_STATE_HOME"] = str(folder / "state")  # and its own request records
        proc = spawn(["serve", str(config), *args], cwd=folder, env=env, prefix=prefix)
        proc.control_socket = folder / "control.sock"
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


StartStdioDaemon = Callable[..., StdioDaemon]


_stdio_ids = itertools.count(1)


@pytest.fixture()
def start_stdio_daemon(workdir: Path, simulator: Process) -> Iterator[StartStdioDaemon]:
    """Start `argo-proxy serve CONFIG --control stdio` with pipes, as an editor does."""
    started: list[StdioDaemon] = []

    def start(extra_config: str = "", *args: str) -> StdioDaemon:
        folder = workdir / f"stdio{next(_stdio_ids)}"
        folder.mkdir()
        config = folder / "config.yaml"
        config.write_text(
            f"config_version: '3'\nuser: jdoe\nport: 0\nargo_base_url: {simulator.url}\n"
            f"pypi_url: http://127.0.0.1:9/pypi\n{extra_config}"
        )
        env = clean_env(workdir)
        env["ARGO_PROXY_CONTROL_SOCKET"] = str(folder / "control.sock")
        env["XDG_STATE_HOME"] = str(folder / "state")  # its own request records
        proc = spawn(
            ["serve", str(config), "--control", "stdio", *args], cwd=folder, env=env, pipes=True
        )
        proc.control_socket = folder / "control.sock"
        daemon = StdioDaemon(proc, config)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()


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
