"""control/runtime.py in-process: reload edge cases, the instance lock, notifications."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from argo_proxy.control import file_edits
from argo_proxy.control.client import ControlClient, RpcError
from argo_proxy.control.reload import diff_configs
from argo_proxy.control.runtime import Runtime, RuntimeOptions
from argo_proxy.daemon.config import Config, load_config
from argo_proxy.daemon.errors import StartupError

BASE_URL = "http://127.0.0.1:9"
BASE = f"user: jdoe\nhost: 127.0.0.1\nargo_base_url: {BASE_URL}\nmodel_refresh_interval_hours: 0\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture()
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    path = tmp_path / "config.yaml"
    path.write_text(BASE + f"port: {_free_port()}\n")
    options = RuntimeOptions(control_socket=tmp_path / "c.sock", watch=False, shutdown_grace=1)
    runtime = Runtime(load_config(path, environ={}), options)
    await runtime.startup()
    yield runtime
    if runtime.phase != "stopped":
        await runtime.shutdown()


def edit(runtime: Runtime, text: str) -> None:
    source = runtime.config.source
    assert source is not None
    source.write_text(text)


async def test_a_port_in_use_refuses_the_whole_reload(runtime: Runtime) -> None:
    url = runtime.listen_url
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        edit(runtime, BASE + f"port: {port}\nverbose: true\n")
        report = await runtime.reload("rpc")
    assert not report.ok and f"cannot listen on 127.0.0.1:{port}" in report.message
    assert f"still listening on {url}" in report.message
    assert runtime.listen_url == url and runtime.config.verbose is False  # all or nothing
    async with httpx.AsyncClient() as client:  # the server runs in this test's loop
        assert (await client.get(f"{url}/health")).status_code == 200


async def test_host_alone_and_body_limit_wait_for_a_restart(runtime: Runtime) -> None:
    assert runtime.server is not None
    port = runtime.server.port
    edit(runtime, BASE.replace("127.0.0.1\n", "0.0.0.0\n", 1) + f"port: {port}\nmax_body_mb: 5\n")
    report = await runtime.reload("rpc")
    assert report.ok and set(report.restart_needed) == {"host", "max_body_mb"}
    assert runtime.config.host == "0.0.0.0" and runtime.server.port == port


async def test_an_empty_file_is_a_save_in_progress_not_the_defaults(runtime: Runtime) -> None:
    edit(runtime, "")
    report = await runtime.reload("watch")
    assert not report.ok and "the file is empty" in report.message
    assert runtime.last_reload is report


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"request_timeout: .nan\n", "`request_timeout` must be a number of seconds more than 0"),
        (b"\xff\xfeu\x00s\x00", "the config file is not UTF-8 text: byte 0xff at offset 0"),
    ],
    ids=["nan", "utf-16"],
)
async def test_a_bad_file_is_refused_and_the_last_good_config_stays(
    runtime: Runtime, data: bytes, message: str
) -> None:
    source, before = runtime.config.source, runtime.config
    assert source is not None
    source.write_bytes(data)
    report = await runtime.reload("watch")
    assert not report.ok and message in report.message
    assert runtime.config is before and runtime.last_reload is report


async def test_a_reload_that_fails_unexpectedly_is_refused_and_reported(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> Config:
        raise RuntimeError("a bug")

    monkeypatch.setattr("argo_proxy.control.reloader.load_config", broken)
    before = runtime.config
    report = await runtime.reload("rpc")
    assert not report.ok and "could not be read (RuntimeError: a bug)" in report.message
    assert runtime.config is before and runtime.last_reload is report


async def _next(client: ControlClient, name: str, timeout: float) -> dict[str, Any]:
    """The next notification called `name`; others (e.g. the start-up model refresh,
    which may land after we connected) are passed over."""
    while True:
        method, params = await client.notification(timeout)
        if method == name:
            return params


async def test_notifications_reach_socket_clients(runtime: Runtime) -> None:
    client = await ControlClient.connect(runtime.control_socket)
    try:
        await client.call("status")  # the daemon has accepted us: notifications come now
        assert runtime.state.set_legacy(True, "legacy.set")
        assert (await _next(client, "state.changed", 2))["legacy"] is True
        edit(runtime, BASE.replace("jdoe", "jane") + f"port: {runtime.server.port}\n")  # type: ignore[union-attr]
        report = await runtime.reload("rpc")
        assert report.actions == ("refreshing the model list",)
        changed = await _next(client, "config.changed", 2)
        assert changed["changes"][0]["key"] == "user"
        refreshed = await _next(client, "models.refreshed", 5)
        assert refreshed["status"] == "error"  # nothing listens at :9
    finally:
        await client.close()


async def test_one_runtime_per_socket_and_the_lock_is_released(
    runtime: Runtime, tmp_path: Path
) -> None:
    config = load_config(runtime.config.source, overrides={"port": 0}, environ={})
    second = Runtime(config, RuntimeOptions(control_socket=runtime.control_socket, watch=False))
    with pytest.raises(StartupError, match="a daemon is already running \\(pid \\d+, listening"):
        await second.startup()
    await runtime.shutdown()
    assert not runtime.control_socket.exists()
    third = Runtime(config, RuntimeOptions(control_socket=runtime.control_socket, watch=False))
    await third.startup()
    await third.shutdown(grace=0)


def test_diff_names_changed_keys_without_the_username() -> None:
    old = Config(user="jdoe", port=1)
    changes = diff_configs(old, Config(user="jane", port=2))
    assert [(c.key, c.old, c.new) for c in changes] == [("user", "j***", "j***"), ("port", 1, 2)]
    assert diff_configs(old, Config(user="jdoe", port=1)) == ()


async def test_set_environment_refuses_what_it_cannot_apply(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = runtime.config.source
    assert source is not None and runtime.server is not None
    before = source.read_text()
    client = await ControlClient.connect(runtime.control_socket)
    try:
        with monkeypatch.context() as patch:

            def refuse(src: object, dst: object) -> None:  # a read-only folder, even for root
                raise PermissionError(13, "Permission denied")

            patch.setattr(file_edits.os, "replace", refuse)
            with pytest.raises(RpcError) as refused:
                await client.call("config.setEnvironment", {"env": "prod"})
        assert refused.value.code == -32002
        assert "cannot write the config file: Permission denied" in str(refused.value)
        assert source.read_text() == before and runtime.config.argo_base_url == BASE_URL

        # A file that does not load (a bad value) is not edited: its error is the answer.
        edit(runtime, before + "max_body_mb: -1\n")
        with pytest.raises(RpcError) as refused:
            await client.call("config.setEnvironment", {"env": "prod"})
        assert refused.value.code == -32002
        assert (
            "config.yaml:6: `max_body_mb` must be a whole number of MiB from 1 to 102400; got -1"
            in str(refused.value)
        )
        assert runtime.config.argo_base_url == BASE_URL
        assert source.read_text() == before + "max_body_mb: -1\n"
        assert (await client.call("status"))["phase"] == "running"
    finally:
        await client.close()


def _record_stops(runtime: Runtime, order: list[str]) -> None:
    """Have each part's stop say when it runs (before startup() takes the stops)."""

    def wrap(name: str, stop: Any) -> Any:
        async def recorded(*args: Any) -> Any:
            order.append(name)
            return await stop(*args)

        return recorded

    runtime.listeners.stop = wrap("HTTP listeners", runtime.listeners.stop)  # type: ignore[method-assign]
    runtime.records.stop = wrap("record store", runtime.records.stop)  # type: ignore[method-assign]
    for channel in runtime.channels:
        channel.close = wrap("control socket", channel.close)  # type: ignore[method-assign]
    runtime.state.aclose = wrap("HTTP client", runtime.state.aclose)  # type: ignore[method-assign]
    runtime.add_stop_hook(wrap("stop hook", lambda: _nothing()))


async def _nothing() -> None:
    return None


async def test_a_start_failing_half_way_unwinds_what_started_newest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.yaml"
    port = _free_port()
    path.write_text(BASE + f"port: {port}\nsocket: {tmp_path / 'api.sock'}\n")
    options = RuntimeOptions(control_socket=tmp_path / "c.sock", watch=False)
    runtime = Runtime(load_config(path, environ={}), options)
    order: list[str] = []
    _record_stops(runtime, order)

    async def refused() -> None:  # the last listener to start
        raise StartupError("Cannot serve the HTTP API on api.sock: refused")

    monkeypatch.setattr(runtime.listeners, "start_unix", refused)
    with pytest.raises(StartupError, match="Cannot serve the HTTP API"):
        await runtime.startup()
    assert order == ["HTTP listeners", "record store", "stop hook", "control socket", "HTTP client"]
    assert runtime.phase == "stopped" and runtime.record_store is None
    assert not runtime.control_socket.exists()  # and its lock is free for the next daemon
    with socket.socket() as again:  # the TCP listener that had started is closed
        again.bind(("127.0.0.1", port))


async def test_a_stop_unwinds_the_start_newest_first(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE + f"port: {_free_port()}\n")
    options = RuntimeOptions(control_socket=tmp_path / "c.sock", watch=False, shutdown_grace=1)
    runtime = Runtime(load_config(path, environ={}), options)
    order: list[str] = []
    _record_stops(runtime, order)
    await runtime.startup()
    assert runtime.phase == "running" and order == []
    await runtime.shutdown()
    assert order == ["HTTP listeners", "record store", "stop hook", "control socket", "HTTP client"]
    assert runtime.phase == "stopped"
    await runtime.shutdown()  # a second stop has nothing left to undo
    assert len(order) == 5 and runtime.phase == "stopped"
