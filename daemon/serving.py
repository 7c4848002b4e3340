"""Run a Sanic app inside an asyncio loop we own, on a socket we bound ourselves.

Sanic normally forks worker processes and owns the loop; we need one process and
one loop shared with the control plane (docs/architecture.md#one-process-one-loop).
We bind the socket ourselves because Sanic reads `port=0` as "port 8000" and so
that the real port can be reported (docs/architecture.md#sanic-pitfalls).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sanic import Sanic
from sanic.http.constants import Stage
from sanic.server.async_server import AsyncioServer
from sanic.server.protocols.http_protocol import HttpProtocol

from .exchange import Stop
from .limits import RESERVED_FILES, ConnectionGuard, raise_open_file_limit

__all__ = [
    "GuardedHttpProtocol",
    "InFlight",
    "RunningServer",
    "bind_socket",
    "bind_unix_socket",
    "start_server",
]

_LAST_WORDS = 2.0  # seconds cut requests get to send their last event before the abort


class InFlight:
    """The API requests one listener is serving, so that a stop can end each in order.

    When a stop's grace period runs out, `cut()` cancels each request's task; the
    handler catches that and sends the client its format's error event (or a 503)
    instead of leaving a truncated body (docs/security.md, "Stopping").
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self.reason: str | None = None  # set once the requests were cut

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - handlers always run in a task
            yield
            return
        self._tasks.add(task)
        try:
            yield
        finally:
            self._tasks.discard(task)

    def cut(self, reason: str) -> int:
        """Cancel every request still running; returns how many there were."""
        self.reason = reason
        for task in self._tasks:
            task.cancel(Stop(reason))
        return len(self._tasks)


log = logging.getLogger(__name__)


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen on host:port (0 = any free port); raise OSError if taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def bind_unix_socket(path: Path) -> socket.socket:
    """Listen on a Unix socket only its owner can use (mode 0600, as argo-proxy 3.1.2 did).

    A stale socket file (no one accepts on it) is replaced; a live one is an OSError
    (EADDRINUSE), as a taken port is.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise FileExistsError(17, f"{path} exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # nobody is listening: a leftover of a daemon that died
        else:
            raise OSError(98, f"another process serves on {path}")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)  # the file is born 0600: no moment when others can connect
    try:
        sock.bind(str(path))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(old_umask)
    path.chmod(0o600)
    sock.setblocking(False)
    return sock


class GuardedHttpProtocol(HttpProtocol):
    """Sanic's HTTP/1.1 protocol with a fixed head deadline and the connection cap.

    The app's `ctx` holds the daemon state (its live config) and the listener's
    `ConnectionGuard`."""

    __slots__ = ("_head_started",)

    def connection_made(self, transport: Any) -> None:
        self._head_started = time.monotonic()
        super().connection_made(transport)  # type: ignore[no-untyped-call]
        ctx = self.app.ctx
        config = ctx.state.config
        self.request_timeout = config.head_timeout  # read live: a reload applies to new ones
        limit = min(config.max_connections, ctx.open_file_room)
        if not ctx.connections.admit(self, limit, config.max_connections_per_peer):
            self.abort()  # type: ignore[no-untyped-call]

    def connection_lost(self, exc: Exception | None) -> None:
        self.app.ctx.connections.release(self)
        super().connection_lost(exc)  # type: ignore[no-untyped-call]

    def handling(self) -> bool:
        """Whether a request is being handled (beyond its head) on this connection."""
        http = getattr(self, "_http", None)  # set once the connection's task runs
        return http is not None and http.stage not in (Stage.IDLE, Stage.REQUEST)

    def data_received(self, data: bytes) -> None:
        http = getattr(self, "_http", None)
        if http is not None and http.stage is Stage.IDLE:
            self._head_started = time.monotonic()  # the first byte of a new request
        super().data_received(data)

    def check_timeouts(self) -> None:
        http = getattr(self, "_http", None)
        if (
            self._task
            and http is not None
            and http.stage is Stage.REQUEST
            and time.monotonic() - self._head_started > self.request_timeout
        ):
            self._time = 0.0  # Sanic's own check then ends it: 408, connection closed
        super().check_timeouts()  # type: ignore[no-untyped-call]


def guard_connections(ctx: Any) -> type[GuardedHttpProtocol]:
    """Set up an app's context for `GuardedHttpProtocol` (raising the open file limit, once
    per listener start); the protocol class to serve it with."""
    ctx.connections = ConnectionGuard()
    ctx.open_file_room = max(16, raise_open_file_limit() - RESERVED_FILES)
    return GuardedHttpProtocol


@dataclass
class RunningServer:
    """A started Sanic server; `url` carries the port actually bound."""

    app: Sanic[Any, Any]
    server: AsyncioServer
    host: str
    port: int
    # When stop() aborts the connections still busy; hurry() can bring it forward.
    _deadline: float | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        if self.port < 0:  # a Unix socket: `host` is its path
            return f"unix:{self.host}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def hurry(self, grace: float) -> None:
        """Give busy connections at most `grace` more seconds, also in a stop() under way.

        An old listener left draining after a re-bind waits long for its streams; at
        shutdown the daemon's own, shorter grace period applies to it too.
        """
        limit = asyncio.get_running_loop().time() + grace
        if self._deadline is None or limit < self._deadline:
            self._deadline = limit

    @staticmethod
    async def _close_idle(connections: set[Any], deadline: Callable[[], float]) -> None:
        """Close connections as they fall idle, until none is left or `deadline()`."""
        loop = asyncio.get_running_loop()
        while connections and loop.time() < deadline():
            for conn in list(connections):
                conn.close_if_idle()  # idle keep-alive connections go at once
            if connections:
                await asyncio.sleep(0.05)

    async def stop(self, grace: float = 5.0) -> int:
        """Stop accepting, let busy connections finish for up to `grace` s, then close.

        Returns how many connections were still busy and had to be aborted.
        """
        srv = self.server
        loop = asyncio.get_running_loop()
        await srv.before_stop()  # type: ignore[no-untyped-call]
        if srv.server is not None:
            srv.server.close()  # stop accepting; not wait_closed(): on 3.12 it waits for clients
        connections = srv.connections
        self.hurry(grace)
        await self._close_idle(connections, lambda: self._deadline or 0.0)
        inflight = getattr(self.app.ctx, "inflight", None)
        if connections and isinstance(inflight, InFlight):
            cut = inflight.cut(
                f"argo-proxy stopped serving {self.url} and this request was still running "
                f"after the {grace:g}s it was given to finish; send it again."
            )
            if cut:
                log.warning("ending %d request(s) still running after %.1fs", cut, grace)
                until = loop.time() + _LAST_WORDS
                await self._close_idle(connections, lambda: until)
        busy = len(connections)
        for conn in list(connections):
            conn.abort()
        if busy:
            log.warning("aborted %d connection(s) still busy after %.1fs", busy, grace)
        await srv.after_stop()  # type: ignore[no-untyped-call]
        return busy


async def start_server(app: Sanic[Any, Any], sock: socket.socket) -> RunningServer:
    """Start `app` on the already-bound `sock` in the running loop. A TCP listener of the
    daemon gets the connection limits (connections.py), which read its live config; the
    Unix socket reaches only its owner, and the simulated ARGO (no daemon state) gets
    Sanic's own protocol."""
    extra: dict[str, Any] = {}
    if sock.family != socket.AF_UNIX and hasattr(app.ctx, "state"):
        extra["protocol"] = guard_connections(app.ctx)
    server = await app.create_server(
        sock=sock, return_asyncio_server=True, access_log=False, **extra
    )
    if server is None:  # pragma: no cover - Sanic returns None only without run_async
        raise RuntimeError("Sanic did not return a server")
    await server.startup()  # type: ignore[no-untyped-call]
    await server.before_start()  # type: ignore[no-untyped-call]
    await server.after_start()  # type: ignore[no-untyped-call]
    if sock.family == socket.AF_UNIX:
        return RunningServer(app=app, server=server, host=sock.getsockname(), port=-1)
    host, port = sock.getsockname()[:2]
    return RunningServer(app=app, server=server, host=host, port=port)
