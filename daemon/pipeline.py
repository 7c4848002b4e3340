"""The request path: every API request, modern or legacy, through the same stages.

    intake    parse the body, check its fields, take out model, stream flag and timeout
    resolve   the model name → an ARGO model, and the route to the API that serves it
    prepare   images inlined, the ARGO identity set, the body converted for the backend
    backend   ARGO's OpenAI chat or Anthropic messages API, its legacy gateway, embeddings
    shape     the answer or the stream, in the client's own format
    record    the request's record (records.py) and the counters; once, here; and
              its dump (dumps.py), when `dump_requests` is on

What differs between client formats is data (`formats/`); what differs between
ARGO's APIs is a backend (`backends/`). Framework-neutral: `app.py` turns the results
into HTTP responses. docs/architecture.md draws the path.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from functools import partial
from typing import Any, Literal

from .argo_replies import check_reply
from .backends.argo import ArgoChat, Leg
from .backends.embeddings import Embeddings
from .backends.gateway import CHAT_ENDPOINTS, GATEWAY_ENDPOINTS, LegacyGateway, legacy_off
from .config import Config
from .convert import Conversion
from .dumps import RequestDump
from .errors import (
    ArgoProxyError,
    ClientRequestError,
    DaemonBusyError,
    ModelNotFoundError,
    UpstreamError,
    UpstreamStatusError,
)
from .exchange import ClientRequest, JSONResult, Result, StreamResult, started, stop_of
from .failover import failover
from .formats import FORMATS, ClientFormat, FormatSpec
from .images import inline_images, needs_inlining
from .intake import check_turns, model_name_of, parse_body, pop_timeout, wants_stream
from .legacy_requests import ChatEndpointName
from .model_choice import choose_model, fallback_chain, resolve_model
from .model_names import answered_model, rename_answer
from .reasoning import read_reasoning, write_reasoning
from .records import CANCELLED, INTERRUPTED, RequestRecord
from .relay import ConvertingShaper, SameFormatShaper, Shaper
from .routing import resolve_identity, route_chat, upstream_headers
from .state import DaemonState
from .thinking import UserThinking, thinking_off_if_lost
from .tokens import INLINE_LIMIT, count_request_tokens, in_worker
from .upstream import ON_RETRY, UPSTREAM_TAP
from .workarounds.argo_rules import apply_model_rules

__all__ = ["DirectEndpoint", "Pipeline"]

log = logging.getLogger(__name__)

# The endpoints of ARGO's legacy gateway API (docs/legacy.md): served in legacy mode only.
DirectEndpoint = Literal["chat", "embed", "completions"]
OPENAI = FORMATS["openai_chat"]  # the envelope of embeddings and the legacy endpoints


class Pipeline:
    """Serves every API request from the shared `DaemonState`."""

    def __init__(self, state: DaemonState) -> None:
        self.state = state
        self.argo = ArgoChat(state.upstream)
        self.gateway = LegacyGateway(state.upstream)
        self.embedder = Embeddings(state.upstream, state.user_agent)

    # ------------------------------------------------------------------ entry points

    async def chat(self, fmt: ClientFormat, req: ClientRequest) -> Result:
        spec = FORMATS[fmt]
        record = RequestRecord.open(req.path, fmt, req.headers.get("user-agent"))
        return await self._record(spec, record, req, lambda c: self._chat(spec, req, c, record))

    async def embeddings(self, req: ClientRequest) -> Result:
        record = RequestRecord.open(req.path, "openai_embeddings", req.headers.get("user-agent"))
        return await self._record(OPENAI, record, req, lambda c: self._embeddings(req, c, record))

    async def direct(self, endpoint: DirectEndpoint, req: ClientRequest) -> Result:
        """`/v1/chat`, `/v1/embed`, `/v1/completions`: ARGO's legacy gateway API."""
        kind = "openai_completions" if endpoint == "completions" else "argo_gateway"
        record = RequestRecord.open(req.path, kind, req.headers.get("user-agent"))
        return await self._record(
            OPENAI, record, req, lambda c: self._direct(endpoint, req, c, record)
        )

    async def count_tokens(self, fmt: ClientFormat, req: ClientRequest) -> Result:
        """A local estimate of a request's input tokens (tokens.py); ARGO is not asked,
        and no record is kept (docs/observability.md#records)."""
        spec = FORMATS[fmt]
        try:
            return await self._count(spec, req)
        except ArgoProxyError as exc:
            return self.error(spec, exc)

    # ------------------------------------------------------------------------ record

    async def _record(
        self,
        spec: FormatSpec,
        record: RequestRecord,
        req: ClientRequest,
        work: Callable[[Config], Awaitable[Result]],
    ) -> Result:
        """Run one request's stages, count it, and keep its record; an error is
        answered in `spec`'s format.

        Each request keeps the config it started with, even across a reload. The record
        is finished here, once: when a JSON answer is ready, or a stream's last byte is
        out; and so is its dump, with the bodies the upstream client saw on the way.
        """
        self.state.counters.requests += 1
        config = self.state.config
        dump = None
        if config.dump_requests:  # docs/observability.md#debug-dumps
            dump = self.state.dumps.open(config, req, self.state.access.token)
        ON_RETRY.set(record.count_retry)  # this request's task: its upstream retries
        UPSTREAM_TAP.set(dump)  # ... and what passes to and from ARGO
        try:
            result = await work(config)
        except ArgoProxyError as exc:
            record.fail(exc.status, type(exc).__name__, exc.message)
            answer = self.error(spec, exc)
            self._finish(record, dump, answer)
            return answer
        except BaseException as exc:  # cancelled by a stop, or a bug: recorded, then raised
            stop = stop_of(exc)
            if stop is not None:  # the client gets a 503 (web.py)
                record.fail(503, INTERRUPTED, stop.reason)
            else:
                record.fail(500, type(exc).__name__, str(exc) or "the request was cut short")
            self._finish(record, dump)
            raise
        if isinstance(result, StreamResult):
            if dump is not None:
                dump.streaming(result.content_type)
            chunks = self._open(result.chunks, record, dump)
            return StreamResult(chunks, result.content_type, result.interrupt)
        record.status = result.status
        self._finish(record, dump, result)
        return result

    async def _open(
        self,
        chunks: AsyncGenerator[bytes, None],
        record: RequestRecord,
        dump: RequestDump | None,
    ) -> AsyncGenerator[bytes, None]:
        self.state.counters.active_streams += 1
        try:
            async for chunk in chunks:
                record.first_byte()
                if dump is not None:
                    dump.streamed(chunk)
                yield chunk
        except (GeneratorExit, asyncio.CancelledError) as exc:
            stop = stop_of(exc)
            if stop is not None:  # the client gets its format's error event (web.py)
                record.fail(503, INTERRUPTED, stop.reason)
            else:  # 499, as nginx logs it: the client hung up
                record.fail(499, CANCELLED, "the stream ended before its last byte was sent")
            raise
        finally:
            self.state.counters.active_streams -= 1
            await chunks.aclose()
            self._finish(record, dump)

    def _finish(
        self, record: RequestRecord, dump: RequestDump | None, answer: JSONResult | None = None
    ) -> None:
        """Close the record and hand it (and the dump) on. When ARGO reported no usage
        for a big request, its estimate (tokens.py) is made in the worker thread, and
        the record is handed on when that is done; its latency ends now all the same."""
        record.end()
        if dump is not None and answer is not None:
            dump.replied(answer)
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

    # --------------------------------------------------------------- shared stages

    def resolve_model(self, name: str, kind: Literal["chat", "embed"], config: Config) -> str:
        return resolve_model(self.state.registry.catalog, name, kind, config)

    async def inline_images(
        self, spec: FormatSpec, req: ClientRequest, body: dict[str, Any], config: Config
    ) -> None:
        """Fetch and inline the request's image URLs (images.py), if it has any; then let
        go of the raw bytes, so that a big request is held once (parsed), not twice,
        while it is converted and sent (bench/README.md, memory)."""
        if needs_inlining(req.body):
            await inline_images(
                spec,
                body,
                self.state.upstream.fetch,
                max_mb=config.max_payload_size,
                timeout=config.image_timeout,
                concurrency=config.concurrent_downloads,
            )
        req.body = b""

    # ----------------------------------------------------------------------- chat

    async def _chat(
        self, spec: FormatSpec, req: ClientRequest, config: Config, record: RequestRecord
    ) -> Result:
        gateway = GATEWAY_ENDPOINTS.get(spec.name)
        if gateway is not None and self.state.legacy:  # read per request: switched live
            return await self._gateway_chat(gateway, req, config, record)
        body = parse_body(req.body, spec.body)
        name = record.model = model_name_of(req, body)
        record.stream = wants_stream(req, body)
        check_turns(spec, body)
        timeout = pop_timeout(body)
        catalog = self.state.registry.catalog
        choice = choose_model(catalog, config, spec, body, name, record.client, len(req.body))
        record.argo_model, record.route = choice.model, choice.label
        await self.inline_images(spec, req, body, config)
        chain = fallback_chain(catalog, config, choice.model)  # docs/configuration.md#fallbacks
        attempt = partial(self._attempt, spec, req, body, config, record)
        return await failover(chain, attempt, self.state.breakers, config, record, timeout)

    async def _attempt(
        self,
        spec: FormatSpec,
        req: ClientRequest,
        body: dict[str, Any],
        config: Config,
        record: RequestRecord,
        model: str,
        timeout: float | None,
        last: bool,
    ) -> Result:
        """The request sent to `model`, converted for its family; returns once the answer
        has started. `body`, the client's, is used up by the last try only: an earlier
        one converts a copy, so that a fallback can convert it again (failover.py)."""
        name, stream = record.model or "", record.stream
        if not last:
            body = copy.deepcopy(body)
        route = route_chat(model, config)
        record.upstream = route.upstream
        # Only Chat Completions has `stream_options` (field_rules.py); in other formats'
        # bodies the name is just an unknown field and may hold anything.
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        user = resolve_identity(config, req.headers, req.query)
        reasoning = read_reasoning(spec.name, body)  # in the client's terms, before conversion
        conversion = Conversion(
            spec.name,
            route.upstream,
            model,
            route.family,
            answer_model=name,
            thinking=UserThinking(self.state.thinking, user),
        )
        record.converted = not conversion.same_format
        out = conversion.request(body)
        del body  # converted, a big part may be a new copy: keep only the one that is sent
        record.sent = out  # its input is estimated if ARGO reports no usage
        write_reasoning(reasoning, out, model, route.upstream)  # docs/translation.md#reasoning
        apply_model_rules(out, model, route.upstream)
        # docs/translation.md#thinking (a fallback's model may be of another family)
        record.thinking_off = route.upstream == "anthropic" and thinking_off_if_lost(out)
        out["user"] = user
        if route.upstream == "anthropic":  # docs/argo.md, identity
            out["metadata"] = {**(out.get("metadata") or {}), "user_id": user}
        headers = upstream_headers(
            route.upstream, user, req.headers, stream=stream, user_agent=self.state.user_agent
        )
        log.debug("%s → %s %s stream=%s", spec.name, route.model, route.upstream, stream)
        if stream:
            out["stream"] = True
            if route.upstream == "openai_chat":
                # usage for the record, and the tail that ends a converted stream (B5); a
                # client that did not ask for the usage chunk does not get it
                out["stream_options"] = {"include_usage": True}
            json_array = spec.json_array_stream(req.query)
            shaper: Shaper = (
                SameFormatShaper(spec, name, hide_usage=not include_usage)
                if conversion.same_format
                else ConvertingShaper(
                    spec, conversion.stream(include_usage=include_usage), json_array=json_array
                )
            )
            leg = Leg(route, out, headers, timeout)
            chunks = await started(self.argo.stream(leg, shaper, record))
            content_type = "application/json" if json_array else "text/event-stream"
            # a stop's end: the one ARGO's failure would have (recorded by _open)
            return StreamResult(chunks, content_type, shaper.fail)
        out.pop("stream_options", None)
        leg = Leg(route, out, headers, timeout)
        reply, raw = await self.argo.complete(leg, config.anthropic_stream_mode)
        record.usage.take(route.upstream, reply)
        record.answered_model = answered_model(route.upstream, reply, event=False)
        answer = conversion.response(check_reply(reply, route.upstream))
        renamed = rename_answer(spec.name, answer, name) is not None
        # A same-format answer may come back untouched: then skip serialising it again.
        return JSONResult(200, answer, raw if answer is reply and not renamed else None)

    async def _count(self, spec: FormatSpec, req: ClientRequest) -> Result:
        """A body over tokens.INLINE_LIMIT bytes is parsed and counted in the worker
        thread (tokens.py): on the event loop a 20 MB one held every request for 2 s."""
        raw = req.body
        if len(raw) <= INLINE_LIMIT:
            return _counted(spec, raw)
        log.debug("counting the tokens of a %d-byte body in the worker thread", len(raw))
        return await in_worker(partial(_counted, spec, raw))

    # ------------------------------------------------------------------- embeddings

    async def _embeddings(
        self, req: ClientRequest, config: Config, record: RequestRecord
    ) -> Result:
        gateway = self.state.legacy  # legacy mode: the gateway's `embed/` answers
        body = parse_body(req.body, "embeddings")
        record.model = model_name_of(req, body)
        model = record.argo_model = self.resolve_model(record.model, "embed", config)
        if body.get("input") in (None, "", []):
            raise ClientRequestError("Missing 'input' field: send a string or a list of strings.")
        timeout = pop_timeout(body)
        user = resolve_identity(config, req.headers, req.query)
        if gateway:
            record.upstream, record.converted = "gateway", True
            result = await self.gateway.embeddings(body, model, user, timeout, config)
            record.usage.estimate(result.body["usage"]["prompt_tokens"], 0)
            return result
        record.upstream = "embeddings"
        result = await self.embedder.embed(body, model, user, req.headers, timeout, config)
        record.usage.take("openai_chat", result.body)
        return result

    # --------------------------------------------------------------- legacy gateway

    async def _direct(
        self, endpoint: DirectEndpoint, req: ClientRequest, config: Config, record: RequestRecord
    ) -> Result:
        if not self.state.legacy:
            raise legacy_off(endpoint)
        if endpoint == "embed":
            body = parse_body(req.body, "gateway_embed")
            record.model = model_name_of(req, body)
            model = record.argo_model = self.resolve_model(record.model, "embed", config)
            record.upstream = "gateway"
            timeout = pop_timeout(body)
            user = resolve_identity(config, req.headers, req.query)
            return await self.gateway.embed(body, model, user, timeout, config, record.usage)
        return await self._gateway_chat(endpoint, req, config, record)

    async def _gateway_chat(
        self, name: ChatEndpointName, req: ClientRequest, config: Config, record: RequestRecord
    ) -> Result:
        """A chat-like request, in any form the legacy gateway serves, through the same
        stages: intake, resolve, images, identity; then the gateway backend."""
        endpoint = CHAT_ENDPOINTS[name]
        body = parse_body(req.body, endpoint.body)
        model_name = record.model = model_name_of(req, body)
        record.stream = wants_stream(req, body)
        record.upstream, record.converted = "gateway", name != "chat"
        timeout = pop_timeout(body)
        endpoint.check(body)
        model = record.argo_model = self.resolve_model(model_name, "chat", config)
        if endpoint.images is not None:
            # the gateway gets images inline, as ARGO's other APIs do (docs/legacy.md)
            await self.inline_images(FORMATS[endpoint.images], req, body, config)
        user = resolve_identity(config, req.headers, req.query)
        return await self.gateway.chat(endpoint, body, model, user, timeout, config, record.usage)


def _counted(spec: FormatSpec, raw: bytes) -> JSONResult:
    """A token count's answer: thread-safe, it touches nothing but `raw`."""
    body = spec.counted(parse_body(raw, spec.body))
    turns = body.get(spec.turns)
    if not isinstance(turns, (list, str)) or not turns:
        raise ClientRequestError(f"Missing '{spec.turns}' field: send what you want counted.")
    return JSONResult(200, spec.count_answer(count_request_tokens(body)))
