"""A JSON-RPC client for the daemon's control socket (`argo-proxy ctl`, tests, probes).

It needs no pygls: a client only writes requests and matches answers to ids, and
importing little keeps `argo-proxy ctl` quick to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from pathlib import Path
from typing import Any

from argo_proxy.daemon.config import SOCKET_FOLDER_HINT
from argo_proxy.daemon.folders import own_folder, trusted_file

from .framing import FrameError, encode_frame, read_frame

__all__ = ["ControlClient", "DaemonNotRunning", "RpcError", "call_daemon"]


class DaemonNotRunning(Exception):
    """Nothing answers on the control socket."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"no argo-proxy daemon is running on {path} ({reason}); start one with "
            "`argo-proxy serve`, or point at another with --control-socket PATH"
        )
        self.path = path
        self.message = str(self)


class RpcError(Exception):
    """The daemon answered a request with a JSON-RPC error (or went away mid-call)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{message} (JSON-RPC error {code})")
        self.code = code
        self.message = message


class ControlClient:
    """One connection to a daemon; `call()` requests, `notification()` waits for news."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._notifications: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._task = asyncio.ensure_future(self._read())

    @classmethod
    async def connect(cls, path: Path, timeout: float = 2.0) -> ControlClient:
        """Connect to the daemon at `path`. DaemonNotRunning if none answers there;
        FolderError if the socket or its folder is not the user's own (whoever answers
        there could be someone else's program posing as the daemon)."""
        folder = own_folder(
            path.parent, "the control socket's folder", SOCKET_FOLDER_HINT, create=False
        )
        if folder is None:
            raise DaemonNotRunning(path, "no control socket there")
        trusted_file(path, "the control socket", SOCKET_FOLDER_HINT)
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(str(path)), timeout
            )
        except FileNotFoundError:
            raise DaemonNotRunning(path, "no control socket there") from None
        except ConnectionRefusedError:
            raise DaemonNotRunning(path, "the socket is stale: its daemon died") from None
        except asyncio.TimeoutError:
            raise DaemonNotRunning(path, f"no answer within {timeout:g}s") from None
        except PermissionError:
            raise DaemonNotRunning(path, "permission denied: another user's daemon?") from None
        return cls(reader, writer)

    async def _read(self) -> None:
        try:
            while True:
                try:
                    body = await read_frame(self._reader)
                except FrameError:
                    break
                if body is None:
                    break
                message = json.loads(body)
                if "id" in message and ("result" in message or "error" in message):
                    future = self._pending.pop(message["id"], None)
                    if future is not None and not future.done():
                        future.set_result(message)
                elif "method" in message:
                    self._notifications.put_nowait((message["method"], message.get("params")))
        except (ConnectionError, ValueError):
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(RpcError(-32099, "the daemon closed the connection"))
            self._pending.clear()

    async def call(self, method: str, params: Any = None, timeout: float = 30.0) -> Any:
        """Send a request and return its result; raise RpcError for an error answer."""
        msg_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        request: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            request["params"] = params
        if self._task.done():
            raise RpcError(-32099, "the daemon closed the connection")
        self._writer.write(encode_frame(request))
        await self._writer.drain()
        answer = await asyncio.wait_for(future, timeout)
        if "error" in answer:
            error = answer["error"]
            raise RpcError(int(error.get("code", 0)), str(error.get("message", "")))
        return answer["result"]

    async def notification(self, timeout: float | None = 10.0) -> tuple[str, Any]:
        """The next notification (method, params), oldest first (None: no time limit)."""
        return await asyncio.wait_for(self._notifications.get(), timeout)

    @property
    def disconnected(self) -> asyncio.Future[None]:
        """Done once the daemon has closed the connection."""
        return self._task

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def call_daemon(path: Path, method: str, params: Any = None, timeout: float = 30.0) -> Any:
    """Connect, make one call, disconnect."""
    client = await ControlClient.connect(path)
    try:
        return await client.call(method, params, timeout)
    finally:
        await client.close()
