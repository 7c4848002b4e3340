"""Ctrl+C and SIGTERM stop both simulator command lines at once, with exit code 0.

Regression: `python -m argo_proxy.daemon.simulator` relied on asyncio.run's Ctrl+C
support, which stays off when SIGINT is inherited as ignored (any `cmd &` in a script,
many CI runners); SIGINT then did nothing and SIGTERM killed it uncleanly. Every wait
here is for a line, a log entry or an exit, with generous bounds for a loaded machine.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import httpx
import pytest

from argo_proxy.daemon.simulator import SimulatorSettings, StopSignals, serve_until_stopped

READY = "argo-proxy simulate: listening on "
BEARER = {"authorization": "Bearer jdoe"}
BOUND = 60.0  # seconds; generous: only a hang should ever reach it
ENTRY_POINTS = {
    "module": [sys.executable, "-m", "argo_proxy.daemon.simulator", "--port", "0"],
    "cli": [sys.executable, "-m", "argo_proxy.control.cli", "simulate", "--port", "0"],
}
# (signal, start with SIGINT ignored as a background job of a script would)
SIGNALS = {
    "SIGINT": (signal.SIGINT, False),
    "SIGINT-inherited-ignored": (signal.SIGINT, True),
    "SIGTERM": (signal.SIGTERM, False),
}


class Simulator:
    """A simulator subprocess whose stderr is read by a thread, line by line."""

    def __init__(self, argv: list[str], *, ignore_sigint: bool = False) -> None:
        if ignore_sigint:
            # `exec` keeps the ignored disposition, as a fork from `cmd &` would.
            argv = ["sh", "-c", "trap '' INT; exec \"$@\"", "sh", *argv]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace")
            self.stderr.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def ready(self) -> str:
        """Wait for the ready line; the base URL it reports."""
        while True:
            line = self.lines.get(timeout=BOUND)
            assert line is not None, "exited before ready:\n" + "".join(self.stderr)
            if line.startswith(READY):
                return line[len(READY) :].strip()

    def stop(self, sig: int) -> tuple[int, bytes, str]:
        """Send `sig`; (exit code, stdout, stderr) once it has exited."""
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=BOUND)  # a hang fails here, not forever
        self._reader.join(BOUND)
        assert self.proc.stdout is not None
        stdout = self.proc.stdout.read()
        return code, stdout, "".join(self.stderr)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(BOUND)  # it ends at EOF; only then may its pipe be closed
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def spawn() -> Iterator[list[Simulator]]:
    started: list[Simulator] = []
    yield started
    for sim in started:
        sim.close()


@pytest.mark.parametrize("how", SIGNALS)
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_signal_with_an_idle_keep_alive_connection_exits_0_at_once(
    spawn: list[Simulator], entry: str, how: str
) -> None:
    sig, ignore_sigint = SIGNALS[how]
    sim = Simulator(ENTRY_POINTS[entry], ignore_sigint=ignore_sigint)
    spawn.append(sim)
    url = sim.ready()
    with httpx.Client(timeout=BOUND) as http:
        assert http.get(f"{url}/v1/models").status_code == 200
        # The client keeps its connection open while the simulator stops.
        code, stdout, stderr = sim.stop(sig)
    assert code == 0, stderr
    assert stdout == b""
    # Idle keep-alive connections are closed at once, not waited on or aborted.
    assert "aborted" not in stderr, stderr


@pytest.mark.parametrize("how", SIGNALS)
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_signal_right_after_the_ready_line_exits_0(
    spawn: list[Simulator], entry: str, how: str
) -> None:
    sig, ignore_sigint = SIGNALS[how]
    sim = Simulator(ENTRY_POINTS[entry], ignore_sigint=ignore_sigint)
    spawn.append(sim)
    sim.ready()
    code, _, stderr = sim.stop(sig)
    assert code == 0, stderr


def test_sigint_with_a_busy_stream_aborts_it_and_exits_0(spawn: list[Simulator]) -> None:
    sim = Simulator(ENTRY_POINTS["module"])
    spawn.append(sim)
    url = sim.ready()
    body = {
        "model": "gpt4o",
        "stream": True,
        "messages": [{"role": "user", "content": "hi [[sim:fault=hang]]"}],
    }
    outcome: list[BaseException | int] = []

    def hanging_request() -> None:
        try:
            with httpx.Client(timeout=BOUND) as http:
                reply = http.post(f"{url}/v1/chat/completions", json=body, headers=BEARER)
                outcome.append(reply.status_code)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    client = threading.Thread(target=hanging_request, daemon=True)
    client.start()
    with httpx.Client(timeout=BOUND) as admin:
        # Busy once the simulator has logged the request (it then hangs in the fault).
        while not admin.get(f"{url}/__sim/log").json()["requests"]:
            client.join(0.05)
    code, _, stderr = sim.stop(signal.SIGINT)
    client.join(BOUND)
    assert code == 0, stderr
    assert "aborted 1 connection(s) still busy" in stderr
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.HTTPError)


async def test_a_signal_before_the_server_starts_stops_it_without_serving() -> None:
    """Start-up (Sanic's import, the bind) is covered too: the signal is not lost."""
    before = signal.getsignal(signal.SIGTERM)
    ready: list[str] = []
    with StopSignals() as stop:
        signal.raise_signal(signal.SIGTERM)  # our handler runs before this returns
        assert stop.received == signal.SIGTERM
        await serve_until_stopped("127.0.0.1", 0, SimulatorSettings(), stop, on_ready=ready.append)
    assert ready == []
    assert signal.getsignal(signal.SIGTERM) == before
