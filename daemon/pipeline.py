"""The request path: every API request, modern or legacy, through the same stages.

    intake    the client's body parsed and checked, the model it asked for, the ARGO
              model chosen and its route, images inlined, the ARGO identity, the
              deadline and the stream flag: a `Call` (calls.py), built the same way
              for every endpoint
    attempt   the call sent to one ARGO model: the backend for the model's API
              (`Backend.send`, backends/) converts the client's body for it, writes
              ARGO's rules and the identity, sends it, and returns the answer (JSON) or
              a stream that has started; a refusal before the first byte is raised
    record    what happened, told to the request's observer (observer.py) by every
              stage as it happens: its record (records.py), and its dump (dumps.py)
              when `dump_requests` is on; the record is closed here, once, when the
              answer's last byte is out; an error is answered here in the client's
              format

Routes and fallbacks (docs/configuration.md#routes, #fallbacks): `Intake.choose_model`
is the one call that picks the ARGO model (the name resolved, or a `routes:` rule,
named in `Call.rule`); `Pipeline.attempt(call, model, observer)` is everything from
"the ARGO model is known" to "the answer has started", and `Pipeline.fail_over` runs
it along the model's `fallbacks:` chain (failover.py), from the client's body as sent,
until one answer has started: never after the client has had a byte.

A stop (the daemon shutting down with requests in flight) cancels each request's task
with a `Stop` (serving.InFlight.cut): `cut_short` below tells the request's observer,
and web.py's `HttpLayer` answers the client (a 503, or its format's error event).

What differs between client formats is data (`formats/`); what differs between ARGO's
APIs is a backend (`backends/`). Framework-neutral: `app.py` and `web.py` turn the
results into HTTP responses. docs/architecture.md draws the path.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import replace
from functools import partial
from typing import Any, Literal

from .backends.argo import ArgoAnthropic, ArgoChat
from .backends.embeddings import Embeddings
from .backends.gateway import LegacyGateway
from .calls import ArgoApi, Backend, Call, Intake
from .config import Config
from .dumps import RequestDump
from .errors import (
    ArgoProxyError,
    ClientRequestError,
    DaemonBusyError,
    ModelNotFoundError,
    UpstreamError,
    UpstreamStatusError,
)
from .exchange import ClientRequest, JSONResult, Result, StreamResult, stop_of
from .failover import failover
from .formats import FORMATS, ClientFormat, FormatSpec
from .intake import parse_body
from .legacy_requests import GATEWAY_ENDPOINTS, legacy_off
from .model_choice import fallback_chain
from .observer import Observer, Observers
from .records import CANCELLED, INTERRUPTED, RequestRecord
from .state import DaemonState
from .tokens import INLINE_LIMIT, count_request_tokens, in_worker

__all__ = ["DirectEndpoint", "Pipeline"]

log = logging.getLogger(__name__)

# The endpoints of ARGO's legacy gateway API (docs/legacy.md): served in legacy mode only.
DirectEndpoint = Literal["chat", "embed", "completions"]
OPENAI = FORMATS["openai_chat"]  # the envelope of embeddings and the legacy endpoints
# What intake does for one endpoint: (request, the config it started with, observer) → Call.
Front = Callable[[ClientRequest, Config, Observer], Awaitable[Call]]


class Pipeline:
    """Serves every API request from the shared `DaemonState`."""

    def __init__(self, state: DaemonState) -> None:
        self.state = state
        self.intake = Intake(state)
        upstream, agent = state.upstream, state.user_agent
        # The backend of each ARGO API, by the name a Call (and a record) gives it.
        self.backends: dict[ArgoApi, Backend] = {
            "openai_chat": ArgoChat(upstream, state.thinking, agent),
            "anthropic": ArgoAnthropic(upstream, state.thinking, agent),
            "embeddings": Embeddings(upstream, agent),
            "gateway": LegacyGateway(upstream),
        }

    # ------------------------------------------------------------------ entry points

    async def chat(self, fmt: ClientFormat, req: ClientRequest) -> Result:
        spec = FORMATS[fmt]
        gateway = GATEWAY_ENDPOINTS.get(fmt)
        if gateway is not None and self.state.legacy:  # read per request: switched live
            front: Front = partial(self.intake.gateway_chat, gateway)
        else:
            front = partial(self.intake.chat, spec)
        return await self._serve(spec, fmt, req, front)

    async def embeddings(self, req: ClientRequest) -> Result:
        # legacy mode: the gateway's `embed/` answers
        front = partial(self.intake.embeddings, "embeddings", gateway=self.state.legacy)
        return await self._serve(OPENAI, "openai_embeddings", req, front)

    async def direct(self, endpoint: DirectEndpoint, req: ClientRequest) -> Result:
        """`/v1/chat`, `/v1/embed`, `/v1/completions`: ARGO's legacy gateway API."""
        kind = "openai_completions" if endpoint == "completions" else "argo_gateway"
        if endpoint == "embed":
            front: Front = partial(self.intake.embeddings, "embed", gateway=True)
        else:
            front = partial(self.intake.gateway_chat, endpoint)
        return await self._serve(OPENAI, kind, req, front, legacy_only=endpoint)

    async def count_tokens(self, fmt: ClientFormat, req: ClientRequest) -> Result:
        """A local estimate of a request's input tokens (tokens.py); ARGO is not asked,
        and no record is kept (docs/observability.md#records)."""
        spec = FORMATS[fmt]
        try:
            return await self._count(spec, req)
        except ArgoProxyError as exc:
            return self.error(spec, exc)

    # ----------------------------------------------------------------------- stages

    async def attempt(self, call: Call, model: str, observer: Observer) -> Result:
        """`call` sent to ARGO `model`: its backend, for the model's API, converts the
        client's body, sends it and answers; a stream is returned once it has started.
        A fallback calls this again with another model (failover.py)."""
        if model != call.model:
            call = call.for_model(model)
            observer.chose(call.model, call.upstream, call.rule)
        return await self.backends[call.upstream].send(call, observer)

    async def fail_over(self, call: Call, observer: Observer) -> Result:
        """The call's answer from its model, or, when that fails before the client has
        a byte, from the next model of its `fallbacks:` chain whose breaker admits it
        (failover.py; docs/configuration.md#fallbacks). Chat on ARGO's own APIs only:
        the legacy gateway and embeddings have one model each."""
        config = call.config
        if call.route is None:
            return await self.attempt(call, call.model, observer)
        chain = fallback_chain(self.state.registry.catalog, config, call.model)

        async def attempt(model: str, timeout: float | None, last: bool) -> Result:
            # Each try but the last converts its own deep copy: a conversion may change
            # the client's messages in place, and the next model starts from them. The
            # usual request, one model and its own timeout, is sent as it is.
            tried = call
            if not last or timeout != call.timeout:
                body = call.body if last else copy.deepcopy(call.body)
                tried = replace(call, body=body, timeout=timeout, final=last)
            return await self.attempt(tried, model, observer)

        return await failover(chain, attempt, self.state.breakers, config, observer, call.timeout)

    async def _serve(
        self,
        spec: FormatSpec,
        kind: str,
        req: ClientRequest,
        front: Front,
        *,
        legacy_only: DirectEndpoint | None = None,
    ) -> Result:
        """One request: intake, then an attempt at the chosen model, observed and
        recorded; an error is answered in `spec`'s format.

        Each request keeps the config it started with, even across a reload.
        """
        self.state.counters.requests += 1
        config = self.state.config
        record = RequestRecord.open(req.path, kind, req.headers.get("user-agent"))
        dump = None
        observer: Observer = record
        if config.dump_requests:  # docs/observability.md#debug-dumps
            dump = self.state.dumps.open(config, req, self.state.access.token)
            observer = Observers(record, dump)
        try:
            if legacy_only is not None and not self.state.legacy:
                raise legacy_off(legacy_only)
            call = await front(req, config, observer)
            result = await self.fail_over(call, observer)
        except ArgoProxyError as exc:
            observer.failed(exc.status, type(exc).__name__, exc.message)
            answer = self.error(spec, exc)
            self._finish(record, dump, observer, answer)
            return answer
        except BaseException as exc:  # cancelled by a stop, or a bug: recorded, then raised
            cut_short(
                exc, observer, 500, type(exc).__name__, str(exc) or "the request was cut short"
            )
            self._finish(record, dump, observer)
            raise
        if isinstance(result, StreamResult):
            observer.streaming(result.content_type)
            chunks = self._open(result.chunks, record, dump, observer)
            return StreamResult(chunks, result.content_type, result.interrupt)
        self._finish(record, dump, observer, result)
        return result

    async def _open(
        self,
        chunks: AsyncGenerator[bytes, None],
        record: RequestRecord,
        dump: RequestDump | None,
        observer: Observer,
    ) -> AsyncGenerator[bytes, None]:
        self.state.counters.active_streams += 1
        try:
            async for chunk in chunks:
                observer.streamed(chunk)
                yield chunk
        except (GeneratorExit, asyncio.CancelledError) as exc:
            # 499, as nginx logs it: the client hung up
            cut_short(
                exc, observer, 499, CANCELLED, "the stream ended before its last byte was sent"
            )
            raise
        finally:
            self.state.counters.active_streams -= 1
            await chunks.aclose()
            self._finish(record, dump, observer)

    def _finish(
        self,
        record: RequestRecord,
        dump: RequestDump | None,
        observer: Observer,
        answer: JSONResult | None = None,
    ) -> None:
        """End the request (its observers are told) and hand its record (and dump) on.
        When ARGO reported no usage for a big request, its estimate (tokens.py) is made
        in the worker thread, and the record is handed on when that is done; its
        latency ends now all the same."""
        observer.ended(answer)
        if not record.estimates_more_than(INLINE_LIMIT):
            record.close()
            self._publish(record, dump)
            return
        closing = in_worker(record.close)
        closing.add_done_callback(lambda done: self._publish(record, dump, done))

    def _publish(
        self,
        record: RequestRecord,
        dump: RequestDump | None,
        closing: asyncio.Future[None] | None = None,
    ) -> None:
        failed = closing.exception() if closing is not None else None  # never cancelled
        if failed is not None:  # a bug: the record is kept as far as it got
            log.error("could not close the record of %s: %r", record.id, failed)
        self.state.requests.add(record)
        if dump is not None:
            self.state.dumps.submit(record, dump)

    def error(self, spec: FormatSpec, exc: ArgoProxyError) -> JSONResult:
        """`exc` as the client's format has errors, with the status its class decides
        (also for refusals before the request path: no route, body too big)."""
        self.state.counters.errors += 1
        code = "model_not_found" if isinstance(exc, ModelNotFoundError) else None
        extra: dict[str, Any] = {}
        headers = exc.headers or None if isinstance(exc, UpstreamError | DaemonBusyError) else None
        if isinstance(exc, UpstreamStatusError):
            extra["upstream_status"] = exc.upstream_status
        log.info("answering %d: %s", exc.status, exc.message)
        body = spec.error(exc.status, exc.message, code, **extra)
        return JSONResult(exc.status, body, headers=headers)

    async def _count(self, spec: FormatSpec, req: ClientRequest) -> Result:
        """A body over tokens.INLINE_LIMIT bytes is parsed and counted in the worker
        thread (tokens.py): on the event loop a 20 MB one held every request for 2 s."""
        raw = req.body
        if len(raw) <= INLINE_LIMIT:
            return _counted(spec, raw)
        log.debug("counting the tokens of a %d-byte body in the worker thread", len(raw))
        return await in_worker(partial(_counted, spec, raw))


def cut_short(exc: BaseException, observer: Observer, status: int, kind: str, message: str) -> None:
    """Tell `observer` why a request ended without its answer: a stop (the daemon
    shutting down, serving.InFlight.cut) if `exc` is its cancellation, else `status`,
    `kind`, `message`. The client hears of a stop from web.py: a 503, or its format's
    error event in a stream."""
    stop = stop_of(exc)
    if stop is not None:
        observer.failed(503, INTERRUPTED, stop.reason)
    else:
        observer.failed(status, kind, message)


def _counted(spec: FormatSpec, raw: bytes) -> JSONResult:
    """A token count's answer: thread-safe, it touches nothing but `raw`."""
    body = spec.counted(parse_body(raw, spec.body))
    turns = body.get(spec.turns)
    if not isinstance(turns, (list, str)) or not turns:
        raise ClientRequestError(f"Missing '{spec.turns}' field: send what you want counted.")
    return JSONResult(200, spec.count_answer(count_request_tokens(body)))
