"""The HTTP side of every request, under the endpoint table (`app.py`): Sanic's settings,
the access guard and CORS in front, a Sanic request turned into a `ClientRequest` and a
result back into a response or a stream written as it comes, a stop that cuts a request
answered in its format, and Sanic's own refusals turned into ours. Only this module and
`app.py` know Sanic (with `serving.py`, which runs it)."""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sanic import Request, Sanic
from sanic.compat import Header
from sanic.exceptions import SanicException
from sanic.response import BaseHTTPResponse, HTTPResponse, json, raw

from .access import Denial
from .errors import (
    ArgoProxyError,
    ClientRequestError,
    DaemonBusyError,
    HeadersTooLargeError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
)
from .exchange import ClientRequest, JSONResult, Result
from .formats import FormatSpec, format_for_path
from .pipeline import Pipeline
from .serving import InFlight
from .state import DaemonState

__all__ = ["DOCS", "HttpLayer", "json_response", "new_app"]

log = logging.getLogger(__name__)

DOCS = "https://argo-proxy.readthedocs.io/en/latest/"
_app_ids = itertools.count(1)  # Sanic wants a unique name per app in a process
_touchup_once = iter([True])
# All of a request's header lines together; Sanic's own ceiling (its default is 8 KiB).
_MAX_HEADER_BYTES = 16 * 1024
# After answering a request body at least this big, a full garbage collection runs.
_COLLECT_AFTER_BYTES = 16 * 1024 * 1024
# Of a body left unread by a refusal, what is read and dropped so that the client hears
# the answer on a connection kept alive; past this, the connection is closed instead.
_DRAIN_AT_MOST = 64 * 1024
_MIB = 1024 * 1024
# What a browser may send when an allowed origin calls the API (CORS preflight).
_CORS_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": (
        "authorization, content-type, x-api-key, x-goog-api-key, anthropic-version, "
        "anthropic-beta, openai-organization, openai-project, x-stainless-arch, "
        "x-stainless-lang, x-stainless-os, x-stainless-package-version, "
        "x-stainless-runtime, x-stainless-runtime-version, x-stainless-retry-count"
    ),
    "Access-Control-Max-Age": "600",
    "Vary": "Origin",
}


def new_app(state: DaemonState) -> Sanic[Any, Any]:
    """A Sanic app with the daemon's settings."""
    app = Sanic(f"argo_proxy_{next(_app_ids)}", configure_logging=False)
    app.config.update(
        {
            "REQUEST_MAX_SIZE": state.config.max_body_mb * 1024 * 1024,
            "REQUEST_MAX_HEADER_SIZE": _MAX_HEADER_BYTES,
            # LLM calls and streams can legitimately run for many minutes
            # (docs/architecture.md#sanic-pitfalls).
            "RESPONSE_TIMEOUT": max(state.config.request_timeout * 3, 3600),
            "REQUEST_TIMEOUT": 120,
            "KEEP_ALIVE_TIMEOUT": 75,
            "ACCESS_LOG": False,
            "NOISY_EXCEPTIONS": False,
            "MOTD": False,
            # TouchUp compiles away Sanic's per-request signal dispatch (~60 µs a request,
            # bench/README.md) by rewriting Sanic's classes, which can be done once per
            # process: a second app with it on fails to start (tests run several).
            "TOUCHUP": next(_touchup_once, False),
        }
    )
    app.ctx.state = state
    return app


def _as_text(value: str) -> str:
    if value.isascii():
        return value
    try:  # Sanic's surrogates are the bytes again, decoded with U+FFFD for each bad one
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate Sanic did not make: invalid all the same
        raw = value.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def _text_headers(request: Request) -> None:
    """The request's headers with every byte that is not UTF-8 made U+FFFD.

    Sanic decodes a request's header block as UTF-8 with `surrogateescape`: a byte that
    is not UTF-8 (`ü` sent as Latin-1, a corrupt key) becomes a lone surrogate, which
    nothing after it can encode: the token comparison, the records on disk, a dump,
    the client's own error message. Headers are nearly always ASCII: one test of the
    raw block, and nothing more (docs/security.md#odd-bytes-in-headers).
    """
    if request.head and request.head.isascii():
        return
    pairs = list(request.headers.items())
    fixed = [(_as_text(name), _as_text(value)) for name, value in pairs]
    if fixed != pairs:
        request.headers = Header(fixed)


def json_response(result: JSONResult) -> HTTPResponse:
    if result.raw is not None:  # ARGO's own bytes: sent as they came
        return raw(result.raw, status=result.status, content_type="application/json")
    headers = dict(result.headers) if result.headers else None
    return json(result.body, status=result.status, headers=headers)


def _refusal(path: str, denial: Denial) -> HTTPResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="argo-proxy"'} if denial.status == 401 else None
    body = format_for_path(path).error(denial.status, denial.message)
    return json(body, status=denial.status, headers=headers)


def _as_ours(exc: SanicException, request: Request, max_body_mb: int) -> ArgoProxyError:
    """A refusal of Sanic's, as the error of ours with the same meaning and status."""
    status = exc.status_code
    if status == 404:
        return NotFoundError(
            f"No endpoint {request.method} {request.path}. See {DOCS} for the API."
        )
    if status == 405:
        return MethodNotAllowedError(f"{request.method} is not allowed on {request.path}.")
    if status == 413 and "header" in str(exc).lower():  # the headers' limit, not the body's
        return HeadersTooLargeError(
            f"The request headers are larger than {_MAX_HEADER_BYTES // 1024} KiB in all, "
            "the most argo-proxy accepts."
        )
    if status == 413:
        return PayloadTooLargeError(
            f"The request body is larger than {max_body_mb} MiB (`max_body_mb` in the config)."
        )
    return ClientRequestError(str(exc)) if status < 500 else ArgoProxyError(str(exc))


def _leave_unread(request: Request) -> None:
    """A refused request's body is not read: Sanic drops a little of it, so that a small
    request's client hears the answer on a live connection, then closes the connection."""
    if request.stream is not None:
        request.stream.request_max_size = _DRAIN_AT_MOST


class HttpLayer:
    """What every API request goes through on its way in and out of one app."""

    def __init__(
        self, app: Sanic[Any, Any], state: DaemonState, pipeline: Pipeline, local_socket: bool
    ) -> None:
        self._state = state
        self._pipeline = pipeline
        self._local_socket = local_socket
        self._inflight = app.ctx.inflight = InFlight()  # what a stop must end in order
        self._budget = state.body_budget  # shared by the daemon's listeners
        app.register_middleware(self._guard, "request")
        app.register_middleware(self._allow_origin, "response")
        app.error_handler.add(SanicException, self._sanic_error)
        app.error_handler.add(Exception, self._unexpected_error)

    async def client_request(self, request: Request, **path: Any) -> ClientRequest:
        """The request, with its body read now: the routes leave it unread (`stream=True`)
        so that the access checks ran on the head alone (docs/security.md#limits)."""
        body = await self._read_body(request)
        query = {key: values[0] for key, values in request.args.items() if values}
        request.ctx.big_body = len(body) >= _COLLECT_AFTER_BYTES
        return ClientRequest(
            body=body, headers=request.headers, query=query, path=request.path, **path
        )

    async def _read_body(self, request: Request) -> bytes:
        """The body, within `max_body_mb` and the daemon's `body_in_flight_mb`."""
        config = self._state.config
        limit, capacity = config.max_body_mb * _MIB, config.body_in_flight_mb * _MIB
        stream = request.stream
        if stream is None:
            return b""
        declared = int(request.headers.get("content-length", "0") or 0)  # Sanic checked it
        if declared > limit:
            _leave_unread(request)
            raise self._too_large()
        taken = 0
        try:
            if not self._budget.take(declared, capacity):
                _leave_unread(request)
                raise self._busy()
            taken = declared
            body = bytearray()
            while (chunk := await stream.read()) is not None:  # type: ignore[attr-defined]
                body += chunk
                if len(body) > limit:
                    _leave_unread(request)
                    raise self._too_large()
                if len(body) > taken:  # a chunked body: taken as it grows
                    if not self._budget.take(len(body) - taken, capacity):
                        _leave_unread(request)
                        raise self._busy()
                    taken = len(body)
            return bytes(body)
        finally:
            self._budget.give(taken)

    def _too_large(self) -> PayloadTooLargeError:
        return PayloadTooLargeError(
            f"The request body is larger than {self._state.config.max_body_mb} MiB "
            "(`max_body_mb` in the config)."
        )

    def _busy(self) -> DaemonBusyError:
        log.warning(
            "refused a request body: %d MiB of bodies are being read already (`body_in_flight_mb`)",
            self._budget.in_use // _MIB,
        )
        return DaemonBusyError(
            "argo-proxy is reading too many request bodies at once "
            "(`body_in_flight_mb` in the config); retry in a moment."
        )

    async def serve(
        self,
        request: Request,
        spec: FormatSpec,
        work: Callable[[ClientRequest], Awaitable[Result]],
        **path: Any,
    ) -> HTTPResponse | None:
        """Read one API request and run it to its end; one cut short by a stop still
        gets an answer."""
        with self._inflight.track():
            try:
                try:
                    result = await work(await self.client_request(request, **path))
                except ArgoProxyError as exc:  # its body could not be read
                    return self.error(spec, exc)
            except asyncio.CancelledError:
                if self._inflight.reason is None:
                    raise
                return json(spec.error(503, self._inflight.reason), status=503)
            try:
                return await self._send(request, spec, result)
            finally:
                # httpx's Response and its stream refer to each other, so a finished
                # upstream call, with the copy of the body it sent, is freed only by the
                # cyclic GC, whose full passes can be minutes apart: after a big body,
                # collect now (~55 ms; bench/README.md, memory).
                if getattr(request.ctx, "big_body", False):
                    gc.collect()

    def error(self, spec: FormatSpec, exc: ArgoProxyError) -> HTTPResponse:
        return json_response(self._pipeline.error(spec, exc))

    async def _send(
        self, request: Request, spec: FormatSpec, result: Result
    ) -> HTTPResponse | None:
        if isinstance(result, JSONResult):
            return json_response(result)
        response = await request.respond(
            content_type=result.content_type,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        try:
            try:
                async for chunk in result.chunks:
                    await response.send(chunk)
            except asyncio.CancelledError:
                if self._inflight.reason is None:
                    raise  # the client hung up
                # A stop ran out of time: the client hears so in its own format.
                interrupt = result.interrupt or spec.stream_error
                await response.send(interrupt(503, self._inflight.reason))
            await response.eof()
        finally:
            await result.chunks.aclose()
        return None

    async def _guard(self, request: Request) -> HTTPResponse | None:
        """The first stage of every request: who is asking (daemon/access.py)."""
        if request.method == "NONE":
            # Sanic's stand-in for a request it could not read (headers too large): no
            # headers to check, and only its error answer follows.
            return None
        _text_headers(request)
        access = self._state.access
        if request.method == "OPTIONS" and "origin" in request.headers:
            # A CORS preflight carries no key: only allowed origins hear what works.
            origin = access.cors_origin(request.headers)
            if origin is not None:
                cors = {**_CORS_HEADERS, "Access-Control-Allow-Origin": origin}
                return HTTPResponse(status=204, headers=cors)
        args: Any = request.args  # first value per name, as a mapping
        denial = access.check(request.path, request.headers, args, local_socket=self._local_socket)
        if denial is None:
            return None
        log.info("refused %s %s: %s", request.method, request.path, denial.reason)
        _leave_unread(request)
        return _refusal(request.path, denial)

    async def _allow_origin(
        self, request: Request, response: BaseHTTPResponse
    ) -> HTTPResponse | None:
        if "origin" not in request.headers:
            return None
        origin = self._state.access.cors_origin(request.headers)
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return None

    def _sanic_error(self, request: Request, exc: Exception) -> HTTPResponse:
        """Sanic's own refusals (no route, wrong method, too big), in the client's format."""
        assert isinstance(exc, SanicException)
        error = _as_ours(exc, request, self._state.config.max_body_mb)
        return self.error(format_for_path(request.path), error)

    def _unexpected_error(self, request: Request, exc: Exception) -> HTTPResponse:
        # The top-level guard: log with the traceback, answer 500, keep serving.
        log.exception("internal error on %s %s", request.method, request.path)
        error = ArgoProxyError(f"Internal error in argo-proxy: {exc}")
        return self.error(format_for_path(request.path), error)
