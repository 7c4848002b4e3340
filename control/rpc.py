"""One JSON-RPC 2.0 connection, served by its own pygls protocol instance.

Each control connection (stdio, or one accepted on the control socket) gets a fresh
`pygls` `JsonRPCServer`/`JsonRPCProtocol` pair, so several clients talk at once and a
response always goes back on the connection its request came from. pygls dispatches
requests to our handlers, runs them as tasks, matches responses to ids and writes
them; we read frames (framing.py) and check each message's shape first, so that a
malformed message gets a JSON-RPC error instead of a log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcServerError,
)
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCProtocol,
    JsonRPCRequestMessage,
    default_converter,
)
from pygls.server import JsonRPCServer

from argo_proxy.daemon.errors import ControlActionError, ControlRequestError, ControlStateError

from .framing import FrameError, FrameReader, encode_frame, read_frame

__all__ = [
    "INVALID_REQUEST",
    "PARSE_ERROR",
    "FrameWriter",
    "Handler",
    "RpcConnection",
    "parse_message",
]

log = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
NOT_NOW = -32001  # JSON-RPC's server-error range: the daemon is not in a state to do it
FAILED = -32002  # it tried, and could not (the message says why)


def _rpc_error(exc: ControlRequestError) -> JsonRpcException:
    """The JSON-RPC error a control-plane error is answered with (docs/control.md)."""
    if isinstance(exc, ControlStateError):
        return JsonRpcServerError(exc.message, NOT_NOW)  # type: ignore[no-untyped-call]
    if isinstance(exc, ControlActionError):
        return JsonRpcServerError(exc.message, FAILED)  # type: ignore[no-untyped-call]
    return JsonRpcInvalidParams(message=exc.message)


Handler = Callable[[Any], Awaitable[Any]]
"""A method: receives the request's `params` (object, array or None), returns the result."""


class FrameWriter(Protocol):
    """Where frames go: asyncio.StreamWriter fits, and so does the stdout pipe writer."""

    def write(self, data: bytes) -> None: ...

    def is_closing(self) -> bool: ...

    def close(self) -> None: ...

    async def wait_closed(self) -> None: ...


@dataclass(frozen=True)
class _Refusal:
    """A message we answer with an error instead of dispatching it."""

    id: str | int | None
    code: int
    message: str


Message = JsonRPCRequestMessage | JsonRPCNotification


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def parse_message(payload: Any) -> Message | _Refusal | None:
    """Check a decoded JSON-RPC message; None for one we ignore (a response)."""
    if isinstance(payload, list):
        return _Refusal(None, INVALID_REQUEST, "batch requests are not supported")
    if not isinstance(payload, dict):
        return _Refusal(None, INVALID_REQUEST, "a JSON-RPC message must be a JSON object")
    msg_id = payload.get("id")
    reply_id: str | int | None = msg_id if _valid_id(msg_id) else None
    if payload.get("jsonrpc") != "2.0":
        return _Refusal(reply_id, INVALID_REQUEST, 'the message must have "jsonrpc": "2.0"')
    if "method" not in payload:
        if "id" in payload and ("result" in payload or "error" in payload):
            return None  # a response: the daemon never sends requests, so nothing waits for it
        return _Refusal(reply_id, INVALID_REQUEST, 'the message has no "method"')
    method = payload["method"]
    if not isinstance(method, str) or not method:
        return _Refusal(reply_id, INVALID_REQUEST, '"method" must be a non-empty string')
    params = payload.get("params")
    if params is not None and not isinstance(params, (dict, list)):
        return _Refusal(reply_id, INVALID_REQUEST, '"params" must be an object or an array')
    if "id" not in payload:
        return JsonRPCNotification(method=method, jsonrpc="2.0", params=params)
    if reply_id is None:
        return _Refusal(None, INVALID_REQUEST, '"id" must be a string or an integer')
    return JsonRPCRequestMessage(id=reply_id, method=method, jsonrpc="2.0", params=params)


class _Writer:
    """pygls's writer interface over a FrameWriter; drops frames once the peer is gone."""

    def __init__(self, writer: FrameWriter) -> None:
        self._writer = writer

    def write(self, data: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(data)

    def close(self) -> None:
        self._writer.close()


class _ClientErrorFilter(logging.Filter):
    """pygls logs a traceback for every error answer, a client's bad params included;
    the answer says it all and `_guard` logs one line, so drop those records."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, JsonRpcException)


logging.getLogger("pygls.protocol.json_rpc").addFilter(_ClientErrorFilter())


class _Server(JsonRPCServer):
    def report_server_error(self, error: Exception, source: Any) -> None:
        pass  # pygls would log each error answer again; `_guard` has logged what matters


class RpcConnection:
    """A client connected over one stream pair; `serve()` until the peer closes."""

    def __init__(
        self,
        name: str,
        reader: FrameReader,
        writer: FrameWriter,
        methods: Mapping[str, Handler],
    ) -> None:
        self.name = name
        self._reader = reader
        self._writer = writer
        self._calls: set[asyncio.Task[Any]] = set()
        self._server = _Server(JsonRPCProtocol, default_converter)
        for method, handler in methods.items():
            self._server.feature(method)(self._guard(method, handler))
        self._protocol = self._server.protocol
        self._protocol.set_writer(_Writer(writer))

    def _guard(self, method: str, handler: Handler) -> Handler:
        """The RPC top-level guard: a bug in a method is logged and answered, never fatal."""

        async def run(params: Any) -> Any:
            task = asyncio.current_task()
            if task is not None:
                self._calls.add(task)
                task.add_done_callback(self._calls.discard)
            try:
                return await handler(params)
            except ControlRequestError as exc:
                log.info("%s: %s: %s", self.name, method, exc.message)
                raise _rpc_error(exc) from exc
            except JsonRpcException as exc:
                log.info("%s: %s: %s", self.name, method, exc.message)
                raise
            except Exception as exc:
                log.exception("internal error in control method %s", method)
                raise JsonRpcInternalError(message=f"internal error in {method}: {exc}") from exc

        return run

    @property
    def closed(self) -> bool:
        return self._writer.is_closing()

    async def serve(self) -> None:
        """Read and dispatch frames until the peer closes its side (or the stream breaks)."""
        while True:
            try:
                body = await read_frame(self._reader)
            except FrameError as exc:
                self._refuse(_Refusal(None, PARSE_ERROR, f"malformed frame: {exc.message}"))
                if exc.fatal:
                    return
                continue
            except ConnectionError:
                return
            if body is None:
                return
            self._dispatch(body)

    def _dispatch(self, body: bytes) -> None:
        try:
            payload = json.loads(body)
        except ValueError as exc:  # not JSON, or not UTF-8
            self._refuse(_Refusal(None, PARSE_ERROR, f"the frame body is not valid JSON: {exc}"))
            return
        message = parse_message(payload)
        if isinstance(message, _Refusal):
            self._refuse(message)
        elif message is not None:
            # pygls answers unknown methods (-32601) and runs handlers as tasks.
            self._protocol.handle_message(message)

    def _refuse(self, refusal: _Refusal) -> None:
        log.info("%s: refused a message: %s", self.name, refusal.message)
        error = {"code": refusal.code, "message": refusal.message}
        # Written here, not through pygls: its error message type drops a null id,
        # which JSON-RPC requires when the request's id is unknown.
        if not self._writer.is_closing():
            self._writer.write(encode_frame({"jsonrpc": "2.0", "id": refusal.id, "error": error}))

    def notify(self, method: str, params: Any) -> None:
        """Send a notification, unless the client is gone."""
        if not self.closed:
            self._protocol.notify(method, params)

    async def finish_calls(self, timeout: float = 5.0) -> None:
        """Wait for the requests being handled, so their answers are written."""
        if self._calls:
            await asyncio.wait(set(self._calls), timeout=timeout)
        await asyncio.sleep(0)  # pygls writes an answer in a done-callback of its task

    async def close(self, timeout: float = 2.0) -> None:
        """Answer the requests in hand, flush what is queued, and close the stream."""
        await self.finish_calls()
        if not self._writer.is_closing():
            self._writer.close()
        try:
            await asyncio.wait_for(self._writer.wait_closed(), timeout)
        except (asyncio.TimeoutError, ConnectionError):
            pass
        self._server.shutdown()  # type: ignore[no-untyped-call]
