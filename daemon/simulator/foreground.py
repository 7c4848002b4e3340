"""Serve the simulator in the foreground until SIGINT or SIGTERM: both command lines.

`python -m argo_proxy.daemon.simulator` used to lean on asyncio.run's own Ctrl+C
support. asyncio only installs that when SIGINT still has Python's default handler.
A process started from a script's background job (`cmd &`), as CI runners and agent
harnesses often do, inherits SIGINT *ignored*: Ctrl+C then did nothing, and a test
waiting for the exit timed out. SIGTERM had no handler at all.

Here both signals get explicit handlers, which override whatever was inherited:
`signal.signal` from the first lines of `main()`, so a signal during start-up
(Sanic's import, the bind) is remembered rather than lost, then the loop's own
handlers, whose wakeup fd also wakes a loop blocked in select. The first signal stops
the server the ordinary way, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from .settings import SimulatorSettings

__all__ = ["STOP_SIGNALS", "StopSignals", "serve_until_stopped"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """SIGINT and SIGTERM as a request to stop, caught from `__enter__` to `__exit__`."""

    def __init__(self) -> None:
        self.received: int | None = None  # the first stop signal caught
        self._previous: dict[int, Any] = {}
        self._event: asyncio.Event | None = None

    def __enter__(self) -> StopSignals:
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._caught)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, previous in self._previous.items():
            # None: a handler installed outside Python, which cannot be put back.
            signal.signal(sig, signal.SIG_DFL if previous is None else previous)
        self._previous.clear()

    def _caught(self, signum: int, frame: FrameType | None = None) -> None:
        if self.received is None:
            self.received = signum
        if self._event is not None:
            self._event.set()

    def attach(self, loop: asyncio.AbstractEventLoop) -> asyncio.Event:
        """Route the signals through `loop`; the event is set once one has arrived."""
        self._event = asyncio.Event()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self._caught, sig)
        if self.received is not None:
            self._event.set()
        return self._event

    def detach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Back to the plain handlers, so a late signal is still absorbed, not fatal."""
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)  # resets SIGINT to default_int_handler ...
            signal.signal(sig, self._caught)  # ... so take it back until __exit__
        self._event = None


async def serve_until_stopped(
    host: str,
    port: int,
    settings: SimulatorSettings,
    stop: StopSignals,
    *,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve a simulated ARGO until `stop` catches a signal, then stop and return.

    Raises OSError when host:port cannot be bound.
    """
    loop = asyncio.get_running_loop()
    requested = stop.attach(loop)
    try:
        if requested.is_set():
            return  # stopped while starting: nothing to serve
        # Sanic loads here, after the handlers exist, so a signal during its import
        # is caught too (the package defers it; see __init__.py).
        from .app import run_simulator

        await run_simulator(host, port, settings, on_ready=on_ready, stop=requested)
    finally:
        stop.detach(loop)
