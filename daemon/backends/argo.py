"""ARGO's chat APIs: the OpenAI-compatible `/v1/chat/completions` (GPT, o-series, Gemini)
and the Anthropic `/v1/messages` (Claude), two backends (calls.Backend).

`send` takes a call from the client's format to ARGO's and back: the body converted
for the model's API (convert.py), the client's reasoning ask written as the model takes
it (reasoning.py), ARGO's rules for the model (workarounds/argo_rules.py), the identity
in the body and the headers (docs/argo.md#identity); then the answer, whole or as a
stream relayed to the client as it arrives (relay.py), in the client's format. What
differs for Claude is in `ArgoAnthropic`: thinking that cannot be restored turned off,
the identity in `metadata.user_id` too, and `anthropic_stream_mode`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from ..argo_replies import (
    aggregate_anthropic_stream,
    check_reply,
    error_from_status,
    is_streaming_required,
)
from ..calls import Call
from ..config import StreamMode
from ..convert import Conversion
from ..errors import UpstreamError
from ..exchange import JSONResult, Result, StreamResult, started
from ..model_names import rename_answer
from ..observer import NO_OBSERVER, Observer
from ..reasoning import read_reasoning, write_reasoning
from ..relay import ConvertingShaper, SameFormatShaper, Shaper, relay
from ..routing import Route, upstream_headers
from ..sse import SSEParser
from ..thinking import ThinkingStore, UserThinking, thinking_off_if_lost
from ..upstream import Upstream, UpstreamReply
from ..workarounds.argo_rules import apply_model_rules

__all__ = ["ArgoAnthropic", "ArgoChat", "Leg", "dumps"]

log = logging.getLogger(__name__)


def dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Leg:
    """One request to ARGO: where, what, with which headers, how long to wait."""

    route: Route
    body: dict[str, Any]
    headers: dict[str, str]
    timeout: float | None
    observer: Observer = NO_OBSERVER


async def post_json(
    upstream: Upstream,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    timeout: float | None,
    observer: Observer = NO_OBSERVER,
) -> UpstreamReply:
    """POST `body`; an error status from ARGO is raised as one."""
    reply = await upstream.post(url, dumps(body), headers, timeout=timeout, observer=observer)
    if reply.status >= 400:
        raise error_from_status(reply.status, reply.body, reply.headers)
    return reply


class ArgoChat:
    """ARGO's OpenAI-compatible chat API (calls.Backend)."""

    def __init__(self, upstream: Upstream, thinking: ThinkingStore, user_agent: str) -> None:
        self._upstream = upstream
        self._thinking = thinking
        self._user_agent = user_agent

    async def send(self, call: Call, observer: Observer) -> Result:
        spec, route = call.spec, call.route
        assert route is not None  # a chat call on ARGO's chat APIs has one
        body = call.body
        # Only Chat Completions has `stream_options` (field_rules.py); in other formats'
        # bodies the name is just an unknown field and may hold anything.
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        reasoning = read_reasoning(spec.name, body)  # in the client's terms, before conversion
        conversion = Conversion(
            spec.name,
            route.upstream,
            route.model,
            route.family,
            answer_model=call.requested_model,
            thinking=UserThinking(self._thinking, call.user),
        )
        # A shallow copy: the conversion changes the top level (the model), and the
        # call's body must stay the client's for another attempt (calls.Call.body).
        out = conversion.request(dict(body))
        if call.final:  # converted, a big part may be a new copy: keep only what is sent
            body.clear()
        write_reasoning(
            reasoning, out, route.model, route.upstream
        )  # docs/translation.md#reasoning
        apply_model_rules(out, route.model, route.upstream)
        thinking_off = self.prepare(out, call.user)
        observer.prepared(out, converted=not conversion.same_format, thinking_off=thinking_off)
        headers = upstream_headers(
            route.upstream,
            call.user,
            call.request.headers,
            stream=call.stream,
            user_agent=self._user_agent,
        )
        log.debug("%s → %s %s stream=%s", spec.name, route.model, route.upstream, call.stream)
        if call.stream:
            out["stream"] = True
            if route.upstream == "openai_chat":
                # usage for the record, and the tail that ends a converted stream (B5); a
                # client that did not ask for the usage chunk does not get it
                out["stream_options"] = {"include_usage": True}
            json_array = spec.json_array_stream(call.request.query)
            name = call.requested_model
            shaper: Shaper = (
                SameFormatShaper(spec, name, hide_usage=not include_usage)
                if conversion.same_format
                else ConvertingShaper(
                    spec, conversion.stream(include_usage=include_usage), json_array=json_array
                )
            )
            leg = Leg(route, out, headers, call.timeout, observer)
            chunks = await started(self.stream(leg, shaper))
            content_type = "application/json" if json_array else "text/event-stream"
            # a stop's end: the one ARGO's failure would have
            return StreamResult(chunks, content_type, shaper.fail)
        out.pop("stream_options", None)
        leg = Leg(route, out, headers, call.timeout, observer)
        reply, raw = await self.complete(leg, call.config.anthropic_stream_mode)
        observer.completed(route.upstream, reply)
        answer = conversion.response(check_reply(reply, route.upstream))
        renamed = rename_answer(spec.name, answer, call.requested_model) is not None
        # A same-format answer may come back untouched: then skip serialising it again.
        return JSONResult(200, answer, raw if answer is reply and not renamed else None)

    def prepare(self, out: dict[str, Any], user: str) -> bool:
        """The identity in the body (docs/argo.md#identity); whether thinking was
        turned off (never, here)."""
        out["user"] = user
        return False

    async def complete(self, leg: Leg, stream_mode: StreamMode) -> tuple[Any, bytes | None]:
        """A non-streamed answer (and its raw bytes, if ARGO sent it as one JSON body).

        Claude may need a streamed upstream leg: ARGO's Anthropic endpoint refuses long
        non-streamed calls (docs/argo.md#streaming-is-required); `anthropic_stream_mode`
        says whether to stream always (`force`) or only after that refusal (`retry`).
        """
        mode = stream_mode if leg.route.upstream == "anthropic" else "passthrough"
        if mode == "force":
            return await self._aggregate(leg), None
        try:
            reply = await post_json(
                self._upstream, leg.route.url, leg.body, leg.headers, leg.timeout, leg.observer
            )
        except UpstreamError as exc:
            if mode == "retry" and is_streaming_required(exc):
                log.info("ARGO asked for streaming; retrying %s as a stream", leg.route.model)
                return await self._aggregate(leg), None
            raise
        return reply.json(), reply.body

    async def _aggregate(self, leg: Leg) -> Any:
        """Ask for a stream and fold it into one Anthropic message."""
        headers = {**leg.headers, "Accept": "text/event-stream", "Accept-Encoding": "identity"}
        body = dumps({**leg.body, "stream": True})
        async with self._upstream.stream(
            leg.route.url, body, headers, timeout=leg.timeout, observer=leg.observer
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

    async def stream(self, leg: Leg, shaper: Shaper) -> AsyncGenerator[bytes, None]:
        """The client's bytes as ARGO streams, told to the leg's observer as they pass;
        raises before the first one if ARGO refused."""
        route = leg.route
        async with self._upstream.stream(
            route.url, dumps(leg.body), leg.headers, timeout=leg.timeout, observer=leg.observer
        ) as upstream:
            if upstream.status != 200:
                reply = await upstream.read()
                raise error_from_status(reply.status, reply.body, reply.headers)
            if "json" in upstream.content_type:  # an error (or notice) sent as one JSON body
                reply = await upstream.read()
                check_reply(reply.json(), route.upstream)
                raise UpstreamError("ARGO answered a streaming request without a stream.")
            async for chunk in relay(upstream, shaper, leg.observer):
                yield chunk


class ArgoAnthropic(ArgoChat):
    """ARGO's Anthropic messages API, for Claude (calls.Backend)."""

    def prepare(self, out: dict[str, Any], user: str) -> bool:
        """Thinking off if a tool turn's thinking could not be restored
        (docs/translation.md#thinking); the identity in the body and its metadata
        (docs/argo.md, identity)."""
        thinking_off = thinking_off_if_lost(out)
        out["user"] = user
        out["metadata"] = {**(out.get("metadata") or {}), "user_id": user}
        return thinking_off
