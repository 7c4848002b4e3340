"""control/http_listeners.py without processes: a taken port told apart, `port: auto`
moving to a free one, and the warning for a listener other machines can reach."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from argo_proxy.control import http_listeners
from argo_proxy.control.http_listeners import HttpListeners, warn_if_reachable
from argo_proxy.daemon.config import Config
from argo_proxy.daemon.errors import StartupError
from argo_proxy.daemon.metrics import DaemonMetrics
from argo_proxy.daemon.state import DaemonState


@pytest.fixture()
def taken() -> Iterator[int]:
    """A port another program listens on (and never answers HTTP on)."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


@pytest.fixture()
async def state() -> AsyncIterator[DaemonState]:
    state = DaemonState(Config(user="jdoe"))
    yield state
    await state.aclose()


def _listeners(state: DaemonState) -> HttpListeners:
    return HttpListeners(state, DaemonMetrics(state))


async def test_a_port_another_program_holds_is_refused_with_what_to_do(
    state: DaemonState, taken: int
) -> None:
    config = Config(user="jdoe", host="127.0.0.1", port=taken)
    with pytest.raises(StartupError) as refused:
        await _listeners(state).bind_port(config)
    assert str(refused.value) == (
        f"Port {taken} on 127.0.0.1 is in use by another program; choose another port "
        "with --port, or --port auto for any free one."
    )


async def test_port_auto_moves_to_a_free_port_and_says_so(
    state: DaemonState, taken: int, caplog: pytest.LogCaptureFixture
) -> None:
    config = Config(user="jdoe", host="127.0.0.1", port=taken, port_auto=True)
    with caplog.at_level(logging.WARNING, logger=http_listeners.__name__):
        sock = await _listeners(state).bind_port(config)
    with sock:
        free = sock.getsockname()[1]
    assert free != taken
    assert (
        f"port {taken} on 127.0.0.1 is taken by another program; listening on free port {free} "
        "instead" in caplog.text
    )


async def test_a_start_that_bound_nothing_stops_without_a_word(
    state: DaemonState, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=http_listeners.__name__):
        await _listeners(state).stop(0)
    assert caplog.text == ""


def test_a_listener_other_machines_reach_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=http_listeners.__name__):
        warn_if_reachable(Config(user="jdoe", host="127.0.0.1"))
        assert caplog.text == ""
        warn_if_reachable(Config(user="jdoe", host="0.0.0.0", port=8080))
    assert (
        "the daemon listens on http://0.0.0.0:8080, which other machines can reach: every API "
        "request needs the access token" in caplog.text
    )
