"""Where the HTTP API listens: the TCP port (probed when taken: another argo-proxy, or
another program; `port: auto` moves to a free one), the Unix socket, and the move to a
new port on reload, where the old listener finishes its streams before it closes
(docs/architecture.md#one-process-one-loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from pathlib import Path

from argo_proxy.daemon.app import create_app
from argo_proxy.daemon.config import Config, is_loopback
from argo_proxy.daemon.errors import ArgoProxyError, StartupError
from argo_proxy.daemon.folders import own_folder
from argo_proxy.daemon.metrics import DaemonMetrics
from argo_proxy.daemon.serving import RunningServer, bind_socket, bind_unix_socket, start_server
from argo_proxy.daemon.state import DaemonState

__all__ = ["REBIND_DRAIN", "HttpListeners", "warn_if_reachable"]

log = logging.getLogger(__name__)

# After a re-bind the old listener keeps serving the streams it has, up to this long
# (the floor of Sanic's response timeout in daemon/app.py): a stream is not cut for a
# port change.
REBIND_DRAIN = 3600.0


def warn_if_reachable(config: Config) -> None:
    """Say so when the TCP listener can be reached from other machines."""
    if config.tcp and not is_loopback(config.host):
        guard = (
            "every API request needs the access token"
            if config.auth == "token"
            else "WITHOUT authentication (allow_insecure_network)"
        )
        log.warning(
            "the daemon listens on %s, which other machines can reach: %s (docs/security.md)",
            config.listen_url,
            guard,
        )


class HttpListeners:
    """The HTTP API's listeners for one run: `tcp` (None with `tcp: false`), `unix` (the
    API on `socket`, if set), and old TCP listeners still draining after a re-bind."""

    def __init__(self, state: DaemonState, metrics: DaemonMetrics) -> None:
        self._state = state
        self._metrics = metrics
        self.tcp: RunningServer | None = None
        self.unix: RunningServer | None = None
        # Old listeners finishing their streams after a re-bind, each with its drain task.
        self._draining: dict[int, tuple[RunningServer, asyncio.Task[None]]] = {}

    @property
    def started(self) -> bool:
        return bool(self.tcp or self.unix or self._draining)

    async def start_tcp(self) -> None:
        self.tcp = await start_server(
            create_app(self._state, self._metrics), await self.bind_port(self._state.config)
        )

    async def start_unix(self) -> None:
        app = create_app(self._state, self._metrics, local_socket=True)
        self.unix = await start_server(app, self.bind_unix(self._state.config))

    async def bind_port(self, config: Config) -> socket.socket:
        """Bind `host:port`; a port in use is probed: another argo-proxy daemon (its
        `/health`) or another program, each with its own error, or with `port: auto`
        a free port instead."""
        try:
            return bind_socket(config.host, config.port)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise StartupError(f"Cannot listen on {config.host}:{config.port}: {exc}") from exc
            url = config.listen_url.replace("://0.0.0.0:", "://127.0.0.1:")
            try:
                health = await self._state.upstream.get_json(
                    f"{url}/health", timeout=2, service="the program on that port"
                )
            except ArgoProxyError:
                health = None
            is_daemon = isinstance(health, dict) and health.get("status") == "healthy"
            if config.port_auto:
                sock = bind_socket(config.host, 0)
                holder = (
                    "another argo-proxy daemon (another user's?)"
                    if is_daemon
                    else "another program"
                )
                log.warning(
                    "port %d on %s is taken by %s; listening on free port %d instead "
                    "(`argo-proxy env`, `argo-proxy run` and the editor extension use it)",
                    config.port,
                    config.host,
                    holder,
                    sock.getsockname()[1],
                )
                return sock
            if is_daemon:
                # We hold our control socket, so that daemon uses another one.
                raise StartupError(
                    f"an argo-proxy daemon already listens on {config.listen_url} (with "
                    "another control socket: reach it with `argo-proxy ctl status "
                    "--control-socket ITS_SOCKET` or `curl "
                    f"{url}/health`); stop it, choose another port with --port, or let "
                    "the daemon pick a free one with --port auto"
                ) from exc
            raise StartupError(
                f"Port {config.port} on {config.host} is in use by another program; "
                "choose another port with --port, or --port auto for any free one."
            ) from exc

    @staticmethod
    def bind_unix(config: Config) -> socket.socket:
        path = Path(config.socket).expanduser().absolute()
        # As the control socket's: in another user's folder, their socket could take its place.
        own_folder(
            path.parent,
            "the HTTP API socket's folder",
            "another user could put a socket of their own in its place; choose `socket: "
            "PATH` in a folder of your own (docs/security.md#private-folders)",
        )
        try:
            return bind_unix_socket(path)
        except OSError as exc:
            raise StartupError(
                f"Cannot serve the HTTP API on {path}: {exc.strerror or exc}"
            ) from exc

    async def switch(self, sock: socket.socket) -> str:
        """Serve on `sock` from now on; the old listener finishes what it has, then closes."""
        old = self.tcp
        self.tcp = await start_server(create_app(self._state, self._metrics), sock)
        log.info("listening on %s", self.tcp.url)
        if old is not None:
            self._draining[id(old)] = (old, asyncio.ensure_future(self._drain(old)))
        was = f" (was {old.url}; requests in flight there finish first)" if old else ""
        return f"now listening on {self.tcp.url}{was}"

    async def _drain(self, server: RunningServer) -> None:
        try:
            busy = await server.stop(REBIND_DRAIN)
            log.info("stopped listening on %s%s", server.url, f" ({busy} cut)" if busy else "")
        finally:
            self._draining.pop(id(server), None)

    def hurry(self, grace: float) -> None:
        """Give every listener's busy connections at most `grace` more seconds."""
        for server, _ in self._draining.values():
            server.hurry(grace)
        for listener in (self.tcp, self.unix):
            if listener is not None:
                listener.hurry(grace)

    async def stop(self, grace: float) -> None:
        """Stop them all: requests in flight get `grace` seconds, then are cut."""
        if not self.started:
            return  # a start that failed before any listener: nothing to say
        for server, _ in self._draining.values():
            server.hurry(grace)
        servers = [s for s in (self.tcp, self.unix) if s is not None]
        cut = await asyncio.gather(*(server.stop(grace) for server in servers))
        busy = sum(cut)
        log.info("HTTP server stopped%s", f" ({busy} request(s) cut)" if busy else "")
        if self.unix is not None:
            with contextlib.suppress(OSError):
                Path(self.unix.host).unlink()
        if self._draining:
            drains = [task for _, task in self._draining.values()]
            await asyncio.gather(*drains, return_exceptions=True)
