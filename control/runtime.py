"""One process, one event loop: the HTTP server and the background tasks, started
and stopped together (design.md "One process, one event loop"; style.md §1).

`Runtime.startup()` binds and starts serving before the model list is fetched
(the built-in list answers until the fetch lands); `serve()` waits for a stop
request; `shutdown()` undoes startup in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
from collections.abc import Awaitable, Callable

from argo_proxy.daemon.app import create_app
from argo_proxy.daemon.config import Config
from argo_proxy.daemon.errors import ArgoProxyError
from argo_proxy.daemon.serving import RunningServer, bind_socket, start_server
from argo_proxy.daemon.state import DaemonState

__all__ = ["Runtime", "StartupError"]

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 10.0  # seconds in-flight requests and streams get to finish


class StartupError(ArgoProxyError):
    """The daemon could not start (port taken, bad config); exit code 3."""


class Runtime:
    """Owns the daemon's parts for one run."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.state = DaemonState(config)
        self.server: RunningServer | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._on_stop: list[Callable[[], Awaitable[None]]] = []

    @property
    def url(self) -> str:
        return self.server.url if self.server else self.config.listen_url

    async def startup(self) -> None:
        config = self.config
        try:
            sock = bind_socket(config.host, config.port)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartupError(
                    f"Port {config.port} on {config.host} is already in use: is another "
                    f"argo-proxy running? Try `curl {config.listen_url}/health`, or choose "
                    "another port with --port."
                ) from exc
            raise StartupError(f"Cannot listen on {config.host}:{config.port}: {exc}") from exc
        self.server = await start_server(create_app(self.state), sock)
        log.info("listening on %s (ARGO at %s)", self.server.url, config.argo_base_url)
        self._spawn(self._first_refresh())
        self._spawn(
            self.state.registry.run_periodic(
                self.state.fetch_models, lambda: self.state.config.model_refresh_interval_hours
            )
        )

    def add_stop_hook(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run `hook` at shutdown, after the HTTP server stopped (reverse order)."""
        self._on_stop.append(hook)

    def _spawn(self, coro: Awaitable[None]) -> None:
        self._tasks.append(asyncio.ensure_future(coro))

    async def _first_refresh(self) -> None:
        await self.state.refresh_models()

    def request_stop(self) -> None:
        """The one way to stop: signals, RPC `shutdown` and stdin EOF all call this."""
        self._stop.set()

    async def serve(self) -> None:
        await self._stop.wait()

    async def shutdown(self, grace: float = SHUTDOWN_GRACE) -> None:
        if self.server is not None:
            busy = await self.server.stop(grace)
            log.info("HTTP server stopped%s", f" ({busy} request(s) cut)" if busy else "")
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for hook in reversed(self._on_stop):
            await hook()
        await self.state.aclose()

    async def run(self) -> None:
        """startup → serve until SIGINT/SIGTERM or request_stop() → shutdown."""
        loop = asyncio.get_running_loop()
        await self.startup()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_stop)
        try:
            await self.serve()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await self.shutdown()
