"""The one dispatch path: every client format's chat request, and embeddings.

A request is parsed and checked, its model resolved and routed, its body prepared
for ARGO (identity, ARGO's body fixes), sent, and the answer (or stream) handed
back in the client's format. What differs between formats is data (`FORMATS`),
never a copy of this path. Framework-neutral: `app.py` turns results into Sanic
responses.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .argo_replies import (
    aggregate_anthropic_stream,
    check_reply,
    error_from_status,
    is_streaming_required,
)
from .config import Config
from .convert import Conversion
from .errors import (
    ArgoProxyError,
    ClientRequestError,
    ModelNotFoundError,
    UpstreamError,
    UpstreamStatusError,
)
from .field_rules import BodyKind
from .formats import FORMATS, ClientFormat, FormatSpec
from .images import inline_images, needs_inlining
from .model_rules import apply_model_rules
from .relay import ConvertingShaper, SameFormatShaper, Shaper, relay
from .routing import Route, embeddings_url, resolve_identity, route_chat, upstream_headers
from .sse import SSEParser
from .state import DaemonState
from .tokens import count_request_tokens
from .upstream import UpstreamReply
from .validation import check_body, check_nesting, too_deep

if TYPE_CHECKING:
    from .legacy import LegacyGateway  # legacy.py builds on this module

__all__ = [
    "ClientRequest",
    "Dispatcher",
    "JSONResult",
    "Result",
    "StreamResult",
    "check_fields",
    "model_name_of",
    "parse_body",
    "pop_timeout",
    "prepend_chunk",
    "refuse_unsupported",
]

log = logging.getLogger(__name__)


@dataclass
class ClientRequest:
    """What the dispatcher needs of an HTTP request (header names lower-case).

    The chat path empties `body` once it has parsed it (Dispatcher._chat).
    """

    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str] = field(default_factory=dict)
    path_model: str | None = None  # Google puts the model in the URL
    path_stream: bool | None = None  # ... and streaming too


@dataclass(frozen=True)
class JSONResult:
    status: int
    body: Any
    raw: bytes | None = None  # the same JSON already serialised (ARGO's own bytes): send as is
    headers: Mapping[str, str] | None = None  # e.g. ARGO's Retry-After on an error


@dataclass(frozen=True)
class StreamResult:
    chunks: AsyncGenerator[bytes, None]  # call aclose() when done, even on error
    content_type: str = "text/event-stream"
    # The bytes that end the stream early with an error (status, message), in the
    # client's format and consistent with what was sent; None: the format's error event.
    interrupt: Callable[[int, str], bytes] | None = None


Result = JSONResult | StreamResult


@dataclass(frozen=True)
class _Leg:
    """One request to ARGO: where, what, with which headers, how long to wait."""

    route: Route
    body: dict[str, Any]
    headers: dict[str, str]
    timeout: float | None


# Fields each format must carry, and what they must be (behaviour.md §2.2 errors).
_REQUIRED_LIST: dict[ClientFormat, str] = {
    "openai_chat": "messages",
    "anthropic": "messages",
    "openai_responses": "input",
    "google": "contents",
}


# How each API answers a token count.
_COUNT_SHAPES: dict[ClientFormat, Any] = {
    "anthropic": lambda n: {"input_tokens": n},
    "google": lambda n: {"totalTokens": n},
    "openai_responses": lambda n: {"object": "response.input_tokens", "input_tokens": n},
    "openai_chat": lambda n: {"input_tokens": n},
}


def _dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def parse_body(raw: bytes, kind: BodyKind) -> dict[str, Any]:
    """The request body as a JSON object whose fields have the types `kind` allows
    (field_rules.py); nulls that mean "not sent" are gone."""
    if not raw.strip():
        raise ClientRequestError("The request body is empty: send a JSON object.")
    check_nesting(raw)
    try:
        body = json.loads(raw)
    except RecursionError:  # deep *and* unbalanced: left to the parser, which gave up
        raise too_deep() from None
    except ValueError as exc:
        raise ClientRequestError(f"Invalid JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise ClientRequestError(
            f"The request body must be a JSON object, not a JSON {type(body).__name__}."
        )
    check_body(kind, body)
    return body


def check_fields(fmt: ClientFormat, body: dict[str, Any]) -> None:
    """What a chat request must carry (the types were checked by `parse_body`)."""
    name = _REQUIRED_LIST[fmt]
    value = body.get(name)
    if value is None:
        raise ClientRequestError(f"Missing '{name}' field.")
    if not value:
        raise ClientRequestError(f"'{name}' must not be empty.")
    if fmt == "anthropic" and "max_tokens" not in body:
        raise ClientRequestError("Missing 'max_tokens' field: the Messages API requires it.")


def pop_timeout(body: dict[str, Any]) -> float | None:
    """A `timeout` body field (seconds) overrides the upstream timeout for this request."""
    if "timeout" not in body:
        return None
    value = body.pop("timeout")
    if type(value) not in (int, float) or value <= 0:
        raise ClientRequestError(f"'timeout' must be a positive number of seconds; got {value!r}.")
    return float(value)


def refuse_unsupported(fmt: ClientFormat, body: dict[str, Any]) -> None:
    """Requests that would silently lose meaning are refused with a clear reason."""
    if fmt == "openai_responses" and body.get("previous_response_id"):
        raise ClientRequestError(
            "'previous_response_id' is not supported: argo-proxy keeps no conversation "
            "state. Send the whole conversation in 'input' (as Codex does with store=false)."
        )


def model_name_of(req: ClientRequest, body: dict[str, Any]) -> str:
    name = req.path_model if req.path_model is not None else body.get("model")
    if name is None or name == "":
        raise ClientRequestError("Missing 'model' field.")
    if not isinstance(name, str):
        raise ClientRequestError(f"'model' must be a string; got {name!r}.")
    return name


class Dispatcher:
    """Serves chat and embedding requests from the shared `DaemonState`."""

    def __init__(self, state: DaemonState) -> None:
        self.state = state
        self.legacy: LegacyGateway | None = None  # set by app.py (behaviour.md §6)

    # ---------------------------------------------------------------- entry points

    async def chat(self, fmt: ClientFormat, req: ClientRequest) -> Result:
        spec = FORMATS[fmt]
        config = self.state.config  # this request keeps this config, even across a reload
        self.state.counters.requests += 1
        # --- legacy mode (daemon/legacy.py): the flag is read per request, switched live
        if self.state.legacy and self.legacy is not None and fmt in self.legacy.formats:
            return await self.legacy.chat(fmt, req)
        # --- end legacy mode
        try:
            return await self._chat(spec, config, req)
        except ArgoProxyError as exc:
            return self.error(spec, exc)

    async def embeddings(self, req: ClientRequest) -> Result:
        spec = FORMATS["openai_chat"]
        config = self.state.config
        self.state.counters.requests += 1
        # --- legacy mode (daemon/legacy.py): the flag is read per request, switched live
        if self.state.legacy and self.legacy is not None:
            return await self.legacy.embeddings(req)
        # --- end legacy mode
        try:
            body = parse_body(req.body, "embeddings")
            model = self.resolve_model(model_name_of(req, body), "embed", config)
            if body.get("input") in (None, "", []):
                raise ClientRequestError(
                    "Missing 'input' field: send a string or a list of strings."
                )
            timeout = pop_timeout(body)
            user = resolve_identity(config, req.headers, req.query)
            body = {**body, "model": model, "user": user}
            headers = upstream_headers(
                "openai_chat", user, req.headers, stream=False, user_agent=self.state.user_agent
            )
            reply = await self._post(embeddings_url(config), body, headers, timeout)
            return JSONResult(200, check_reply(reply.json(), "openai_chat"), reply.body)
        except ArgoProxyError as exc:
            return self.error(spec, exc)

    def count_tokens(self, fmt: ClientFormat, req: ClientRequest) -> JSONResult:
        """A local estimate of a request's input tokens (tokens.py); ARGO is not asked."""
        spec = FORMATS[fmt]
        try:
            body = parse_body(req.body, fmt)
            # Google's countTokens may wrap the request it counts.
            inner = body.get("generateContentRequest")
            body = inner if isinstance(inner, dict) else body
            name = _REQUIRED_LIST[fmt]
            if not isinstance(body.get(name), (list, str)) or not body.get(name):
                raise ClientRequestError(f"Missing '{name}' field: send what you want counted.")
            return JSONResult(200, _COUNT_SHAPES[fmt](count_request_tokens(body)))
        except ArgoProxyError as exc:
            return self.error(spec, exc)

    def error(self, spec: FormatSpec, exc: ArgoProxyError) -> JSONResult:
        self.state.counters.errors += 1
        code = "model_not_found" if isinstance(exc, ModelNotFoundError) else None
        extra: dict[str, Any] = {}
        headers = None
        if isinstance(exc, UpstreamError):
            headers = exc.headers or None
        if isinstance(exc, UpstreamStatusError):
            extra["upstream_status"] = exc.upstream_status
        log.info("answering %d: %s", exc.status, exc.message)
        body = spec.error(exc.status, exc.message, code, **extra)
        return JSONResult(exc.status, body, headers=headers)

    # --------------------------------------------------------------------- models

    def resolve_model(self, name: str, kind: Literal["chat", "embed"], config: Config) -> str:
        catalog = self.state.registry.catalog
        model = catalog.resolve(name, kind=kind)
        if model is not None:
            return model
        fallback = config.default_model if kind == "chat" else config.default_embed_model
        if fallback:
            model = catalog.resolve(fallback, kind=kind)
            if model is not None:
                log.warning("model %r is unknown; using the configured default %s", name, model)
                return model
        closest = catalog.closest(name)
        hint = f" Closest matches: {', '.join(closest)}." if closest else ""
        raise ModelNotFoundError(
            f"Model '{name}' is not available on ARGO.{hint} GET /v1/models lists every model; "
            f"set `default_model` in the config to fall back instead."
        )

    async def inline_images(
        self, fmt: ClientFormat, req: ClientRequest, body: dict[str, Any], config: Config
    ) -> None:
        """Fetch and inline the request's image URLs (images.py), if it has any."""
        if needs_inlining(req.body):
            await inline_images(
                fmt,
                body,
                self.state.upstream.fetch,
                max_mb=config.max_payload_size,
                timeout=config.image_timeout,
                concurrency=config.concurrent_downloads,
            )

    # ----------------------------------------------------------------------- chat

    async def _chat(self, spec: FormatSpec, config: Config, req: ClientRequest) -> Result:
        body = parse_body(req.body, spec.name)
        name = model_name_of(req, body)
        check_fields(spec.name, body)
        timeout = pop_timeout(body)
        model = self.resolve_model(name, "chat", config)
        route = route_chat(model, config)
        stream = req.path_stream if req.path_stream is not None else body.get("stream") is True
        refuse_unsupported(spec.name, body)
        await self.inline_images(spec.name, req, body, config)
        # The raw bytes are not needed any more: let go of them, so that a big request is
        # held once (parsed), not twice, while it is converted and sent (bench/README.md).
        req.body = b""
        # Only Chat Completions has `stream_options` (field_rules.py); in other formats'
        # bodies the name is just an unknown field and may hold anything.
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        conversion = Conversion(spec.name, route.upstream, model, route.family)
        user = resolve_identity(config, req.headers, req.query)
        out = conversion.request(body)
        del body  # converted, a big part may be a new copy: keep only the one that is sent
        apply_model_rules(out, model, route.upstream)
        out["user"] = user
        if route.upstream == "anthropic":  # argo-upstream.md §2.1
            out["metadata"] = {**(out.get("metadata") or {}), "user_id": user}
        headers = upstream_headers(
            route.upstream, user, req.headers, stream=stream, user_agent=self.state.user_agent
        )
        log.debug("%s → %s %s stream=%s", spec.name, route.model, route.upstream, stream)
        if stream:
            out["stream"] = True
            if route.upstream == "openai_chat" and not conversion.same_format:
                # usage for the client, and the tail that ends a converted stream (B5)
                out["stream_options"] = {"include_usage": True}
            # Google streams are SSE only with ?alt=sse; otherwise one JSON array.
            json_array = spec.name == "google" and req.query.get("alt") != "sse"
            shaper: Shaper = (
                SameFormatShaper(spec)
                if conversion.same_format
                else ConvertingShaper(
                    spec, conversion.stream(include_usage=include_usage), json_array=json_array
                )
            )
            chunks = await self._open_stream(_Leg(route, out, headers, timeout), shaper)
            content_type = "application/json" if json_array else "text/event-stream"
            return StreamResult(chunks, content_type, shaper.fail)
        out.pop("stream_options", None)
        reply, raw = await self._complete(_Leg(route, out, headers, timeout), config)
        answer = conversion.response(check_reply(reply, route.upstream))
        # A same-format answer usually comes back untouched: skip serialising it again.
        return JSONResult(200, answer, raw if answer is reply else None)

    async def _complete(self, leg: _Leg, config: Config) -> tuple[Any, bytes | None]:
        """A non-streamed answer (and its raw bytes, if ARGO sent it as one JSON body).

        Claude may need a streamed upstream leg (argo-upstream.md §5.2).
        """
        upstream = leg.route.upstream
        mode = config.anthropic_stream_mode if upstream == "anthropic" else "passthrough"
        if mode == "force":
            return await self._aggregate(leg), None
        try:
            reply = await self._post(leg.route.url, leg.body, leg.headers, leg.timeout)
        except UpstreamError as exc:
            if mode == "retry" and is_streaming_required(exc):
                log.info("ARGO asked for streaming; retrying %s as a stream", leg.route.model)
                return await self._aggregate(leg), None
            raise
        return reply.json(), reply.body

    async def _post(
        self, url: str, body: dict[str, Any], headers: dict[str, str], timeout: float | None
    ) -> UpstreamReply:
        reply = await self.state.upstream.post(url, _dumps(body), headers, timeout=timeout)
        if reply.status >= 400:
            raise error_from_status(reply.status, reply.body, reply.headers)
        return reply

    async def _aggregate(self, leg: _Leg) -> Any:
        """Ask for a stream and fold it into one Anthropic message (anthropic_stream_mode)."""
        headers = {**leg.headers, "Accept": "text/event-stream", "Accept-Encoding": "identity"}
        body = _dumps({**leg.body, "stream": True})
        async with self.state.upstream.stream(
            leg.route.url, body, headers, timeout=leg.timeout
        ) as upstream:
            if upstream.status != 200:
                reply = await upstream.read()
                raise error_from_status(reply.status, reply.body, reply.headers)
            if "json" in upstream.content_type:  # ARGO may answer with one JSON body anyway
                return (await upstream.read()).json()
            parser = SSEParser()
            events = []
            async for chunk in upstream.chunks():
                events.extend(parser.feed(chunk))
            events.extend(parser.close())
        return aggregate_anthropic_stream(events)

    async def _open_stream(self, leg: _Leg, shaper: Shaper) -> AsyncGenerator[bytes, None]:
        chunks = self._stream_chunks(leg, shaper)
        try:
            first = await chunks.__anext__()  # errors before any byte become a JSON answer
        except BaseException:
            await chunks.aclose()
            raise
        return prepend_chunk(first, chunks)

    async def _stream_chunks(self, leg: _Leg, shaper: Shaper) -> AsyncGenerator[bytes, None]:
        route = leg.route
        async with self.state.upstream.stream(
            route.url, _dumps(leg.body), leg.headers, timeout=leg.timeout
        ) as upstream:
            if upstream.status != 200:
                reply = await upstream.read()
                raise error_from_status(reply.status, reply.body, reply.headers)
            if "json" in upstream.content_type:  # an error (or notice) sent as one JSON body
                reply = await upstream.read()
                check_reply(reply.json(), route.upstream)
                raise UpstreamError("ARGO answered a streaming request without a stream.")
            self.state.counters.active_streams += 1
            try:
                async for chunk in relay(upstream, shaper):
                    yield chunk
            finally:
                self.state.counters.active_streams -= 1


async def prepend_chunk(
    first: bytes, rest: AsyncGenerator[bytes, None]
) -> AsyncGenerator[bytes, None]:
    try:
        yield first
        async for chunk in rest:
            yield chunk
    finally:
        await rest.aclose()
