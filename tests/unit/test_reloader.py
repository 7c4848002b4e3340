"""control/reloader.py without processes: a reload applied whole or refused whole, its
steps undone newest first when one fails half-way."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from argo_proxy.control import reloader
from argo_proxy.control.record_storage import RecordStorage
from argo_proxy.control.reload import ReloadReport
from argo_proxy.control.reloader import Reloader
from argo_proxy.daemon.config import Config, load_config
from argo_proxy.daemon.state import DaemonState

BASE = (
    "user: jdoe\nhost: 127.0.0.1\nargo_base_url: http://127.0.0.1:9\n"
    "model_refresh_interval_hours: 0\n"
)
OLD_PORT, NEW_PORT = 41001, 41002
Steps = list[tuple[str, int]]  # (what was done, the port in force when it was)


class FakeSocket:
    """What bind_socket returns here: no port is taken; closing it is recorded."""

    def __init__(self, steps: Steps, state: DaemonState) -> None:
        self._steps, self._state = steps, state

    def close(self) -> None:
        self._steps.append(("close the new socket", self._state.config.port))


class FakeListeners:
    """The HTTP listeners, seen from a reload: `switch` records, or fails if told to."""

    def __init__(self, steps: Steps, state: DaemonState, fail: bool) -> None:
        self._steps, self._state, self._fail = steps, state, fail
        self.tcp = None

    async def switch(self, sock: Any) -> str:
        self._steps.append(("switch the listener", self._state.config.port))
        if self._fail:
            raise OSError("the new listener did not start")
        return f"now listening on http://127.0.0.1:{NEW_PORT}"


def _reloader(
    path: Path, steps: Steps, monkeypatch: pytest.MonkeyPatch, *, fail: bool
) -> tuple[Reloader, DaemonState]:
    """A Reloader whose socket, listeners and config swap record what they do."""
    path.write_text(BASE + f"port: {OLD_PORT}\n")
    state = DaemonState(load_config(path, environ={}))
    monkeypatch.setattr(reloader, "bind_socket", lambda host, port: FakeSocket(steps, state))
    swap = state.apply_config

    def apply_config(config: Config, access: Any = None) -> list[str]:
        steps.append(("apply the config", config.port))
        return swap(config, access)

    monkeypatch.setattr(state, "apply_config", apply_config)
    listeners = FakeListeners(steps, state, fail)
    return Reloader(state, {}, listeners, RecordStorage(state), lambda coro: None), state  # type: ignore[arg-type]


async def _move_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, fail: bool, taken: bool = False
) -> tuple[ReloadReport, DaemonState, Config, Steps]:
    """Reload a config that moves the port and changes `retries`, with the new listener
    failing to start if `fail`, or the new port `taken`; what the reload did, in order."""
    done: Steps = []
    path = tmp_path / "config.yaml"
    reload, state = _reloader(path, done, monkeypatch, fail=fail)
    if taken:

        def in_use(host: str, port: int) -> socket.socket:
            raise OSError(98, "Address already in use")

        monkeypatch.setattr(reloader, "bind_socket", in_use)
    before = state.config
    path.write_text(BASE + f"port: {NEW_PORT}\nretries: 5\n")
    return await reload.reload("rpc"), state, before, done


async def test_a_step_failing_half_way_undoes_the_earlier_ones_newest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report, state, before, done = await _move_port(tmp_path, monkeypatch, fail=True)
    assert not report.ok
    assert "the config could not be applied (OSError: the new listener did not start)" in (
        report.message
    )
    assert done == [
        ("apply the config", NEW_PORT),
        ("switch the listener", NEW_PORT),  # fails: what came before is undone, in reverse
        ("apply the config", OLD_PORT),
        ("close the new socket", OLD_PORT),
    ]
    assert state.config is before and state.upstream.retries == before.retries


async def test_steps_that_all_succeed_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report, state, _, done = await _move_port(tmp_path, monkeypatch, fail=False)
    assert report.ok and report.message == "applied: port, retries"
    assert report.actions == (f"now listening on http://127.0.0.1:{NEW_PORT}",)
    assert done == [("apply the config", NEW_PORT), ("switch the listener", NEW_PORT)]
    assert state.config.port == NEW_PORT and state.upstream.retries == 5


async def test_a_step_that_fails_first_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report, state, before, done = await _move_port(tmp_path, monkeypatch, fail=False, taken=True)
    assert not report.ok
    assert report.message == (
        f"cannot listen on 127.0.0.1:{NEW_PORT}: Address already in use; still listening on None"
    )
    assert done == [] and state.config is before
