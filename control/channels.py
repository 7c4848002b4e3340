"""The control channels: the Unix socket (always on) and stdio (`--control stdio`).

Each channel has `start()`, `stop_accepting()` and `close()`; the runtime picks them
from `CHANNELS` by the `--control` mode (a table, not scattered ifs) and hands every
connection to the ControlServer.

The socket is also the instance lock. A second daemon for the same socket must fail at
once, and a socket left behind by a daemon that was killed must not block a new one:
an `flock` on `control.sock.lock`, which the kernel drops when its process dies,
decides which case it is without racing another daemon starting at the same moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from argo_proxy.daemon.config import SOCKET_FOLDER_HINT
from argo_proxy.daemon.errors import StartupError
from argo_proxy.daemon.folders import own_folder

from .client import ControlClient, DaemonNotRunning, RpcError

if TYPE_CHECKING:
    from .server import ControlServer

__all__ = [
    "CHANNELS",
    "Channel",
    "ControlMode",
    "SocketChannel",
    "StdioChannel",
]

log = logging.getLogger(__name__)

ControlMode = Literal["socket", "stdio"]


class Channel(Protocol):
    async def start(self) -> None: ...

    def stop_accepting(self) -> None: ...

    async def close(self) -> None: ...


# ---------------------------------------------------------------------------- socket


def _probe(path: Path) -> bool:
    """Whether something accepts connections on the Unix socket at `path`."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


class SocketChannel:
    """The Unix control socket, mode 0600, many clients at once."""

    def __init__(self, server: ControlServer, path: Path, *, hint: str = "") -> None:
        self._control = server
        self.path = path
        self._hint = hint  # how a `ctl` command reaches this socket, if not the default
        self._lock_fd: int | None = None
        self._server: asyncio.AbstractServer | None = None
        self._bound = False
        self._clients: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self._claim()
        try:
            self._server = await asyncio.start_unix_server(self._on_client, sock=self._bind())
        except BaseException:
            await self.close()
            raise
        log.info("control socket: %s", self.path)

    async def _claim(self) -> None:
        """Take the instance lock, or explain which daemon holds it."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        # The user's own folder, made 0700 if missing: in one another user controls,
        # they could put a socket of their own where `ctl` and `env` look for us.
        own_folder(self.path.parent, "the control socket's folder", SOCKET_FOLDER_HINT)
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise StartupError(
                f"cannot create {lock_path}: {exc.strerror}; put the control socket "
                "elsewhere with --control-socket PATH or ARGO_PROXY_CONTROL_SOCKET"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StartupError(await self._already_running()) from None
        self._lock_fd = fd

    async def _already_running(self) -> str:
        """'a daemon is already running (pid N, listening on URL); ...'."""
        try:
            status = await self._ask_status()
        except (RpcError, OSError, asyncio.TimeoutError):
            status = None
        reach = f"`argo-proxy ctl status{self._hint}` reaches it"
        if not isinstance(status, dict):
            return f"a daemon is already running or starting on {self.path}; {reach}"
        return (
            f"a daemon is already running (pid {status.get('pid')}, listening on "
            f"{status.get('listen_url')}); {reach}"
        )

    async def _ask_status(self) -> Any:
        # The other daemon may hold the lock a moment before its socket listens.
        for _ in range(10):
            try:
                client = await ControlClient.connect(self.path)
            except DaemonNotRunning:
                await asyncio.sleep(0.1)
                continue
            try:
                return await client.call("status", timeout=2)
            finally:
                await client.close()
        return None

    def _bind(self) -> socket.socket:
        path = self.path
        with contextlib.suppress(FileNotFoundError):
            mode = path.lstat().st_mode
            if not stat.S_ISSOCK(mode):
                raise StartupError(
                    f"{path} exists and is not a socket; remove it or choose another "
                    "path with --control-socket"
                )
            if _probe(path):  # we hold the lock, yet something answers: not ours to take
                raise StartupError(
                    f"another program listens on {path}; choose another path with --control-socket"
                )
            path.unlink()
            log.info("replaced the stale control socket %s (its daemon died)", path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        umask = os.umask(0o177)  # the socket is born 0600: no moment open to others
        try:
            sock.bind(str(path))
        except OSError as exc:
            sock.close()
            reason = exc.strerror or str(exc)
            if exc.errno is None or len(str(path)) > 100:
                reason = f"{reason} (a socket path must be shorter than ~100 bytes)"
            raise StartupError(f"cannot create the control socket {path}: {reason}") from exc
        finally:
            os.umask(umask)
        self._bound = True
        os.chmod(path, 0o600)
        sock.listen(16)
        sock.setblocking(False)
        return sock

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            await self._control.serve_connection("socket", reader, writer)
        finally:
            if task is not None:
                self._clients.discard(task)

    def stop_accepting(self) -> None:
        if self._server is not None:
            self._server.close()  # not wait_closed(): from 3.12 it waits for the clients

    async def close(self) -> None:
        self.stop_accepting()
        for task in list(self._clients):
            task.cancel()
        await asyncio.gather(*self._clients, return_exceptions=True)
        if self._bound:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self._bound = False
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock; the lock file itself stays
            self._lock_fd = None


# ----------------------------------------------------------------------------- stdio


class _PipeProtocol(asyncio.BaseProtocol):
    def __init__(self) -> None:
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class _PipeWriter:
    """A FrameWriter on the write end of a pipe (stdout)."""

    def __init__(self, transport: asyncio.WriteTransport, protocol: _PipeProtocol) -> None:
        self._transport = transport
        self._protocol = protocol

    def write(self, data: bytes) -> None:
        self._transport.write(data)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self._transport.close()  # writes out what is buffered first

    async def wait_closed(self) -> None:
        await self._protocol.closed


def _is_stream(fd: int) -> bool:
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


class StdioChannel:
    """JSON-RPC on stdin/stdout for the editor that started the daemon.

    stdout then carries frames and nothing else: the real stdout is kept for the
    frames, and file descriptor 1 is pointed at stderr, so that a stray `print` or a
    library writing to stdout lands in the log instead of corrupting the protocol.
    When stdin closes (the editor went away) the daemon stops.
    """

    def __init__(self, server: ControlServer, on_eof: Callable[[], None]) -> None:
        self._control = server
        self._on_eof = on_eof
        self._task: asyncio.Task[None] | None = None
        self._read_transport: asyncio.BaseTransport | None = None

    async def start(self) -> None:
        if not (_is_stream(0) and _is_stream(1)):
            raise StartupError(
                "--control stdio needs stdin and stdout to be pipes (an editor starts the "
                "daemon this way); from a terminal, use the control socket"
            )
        loop = asyncio.get_running_loop()
        sys.stdout.flush()
        frames_out = os.dup(1)
        os.dup2(2, 1)
        # uvloop aborts the process on a regular file here; _is_stream ruled that out.
        write_transport, protocol = await loop.connect_write_pipe(
            _PipeProtocol, os.fdopen(frames_out, "wb", buffering=0)
        )
        writer = _PipeWriter(write_transport, protocol)
        reader = asyncio.StreamReader()
        self._read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(os.dup(0), "rb", buffering=0)
        )
        self._task = asyncio.ensure_future(self._serve(reader, writer))
        log.info("control channel on stdio")

    async def _serve(self, reader: asyncio.StreamReader, writer: _PipeWriter) -> None:
        await self._control.serve_connection("stdio", reader, writer, linger=True)
        log.info("stdin closed: stopping")
        self._on_eof()

    def stop_accepting(self) -> None:
        pass  # one client, already connected

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._read_transport is not None:
            self._read_transport.close()


ChannelFactory = Callable[["ControlServer", Path, str, Callable[[], None]], Channel]


def _socket(server: ControlServer, path: Path, hint: str, on_eof: Callable[[], None]) -> Channel:
    return SocketChannel(server, path, hint=hint)


def _stdio(server: ControlServer, path: Path, hint: str, on_eof: Callable[[], None]) -> Channel:
    return StdioChannel(server, on_eof)


# The socket is always on; `--control stdio` adds stdio. Started in this order.
CHANNELS: dict[ControlMode, tuple[ChannelFactory, ...]] = {
    "socket": (_socket,),
    "stdio": (_socket, _stdio),
}
