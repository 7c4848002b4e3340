"""ARGO's chat APIs: the OpenAI-compatible `/v1/chat/completions` (GPT, o-series, Gemini)
and the Anthropic `/v1/messages` (Claude), both answering a request prepared in their
own format, whole or as a stream relayed to the client as it arrives."""

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
from ..config import StreamMode
from ..errors import UpstreamError
from ..records import RequestRecord
from ..relay import Shaper, relay
from ..routing import Route
from ..sse import SSEParser
from ..upstream import Upstream, UpstreamReply

__all__ = ["ArgoChat", "Leg", "dumps"]

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


async def post_json(
    upstream: Upstream,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    timeout: float | None,
) -> UpstreamReply:
    """POST `body`; an error status from ARGO is raised as one."""
    reply = await upstream.post(url, dumps(body), headers, timeout=timeout)
    if reply.status >= 400:
        raise error_from_status(reply.status, reply.body, reply.headers)
    return reply


class ArgoChat:
    """Sends a prepared chat request to the ARGO endpoint its route names."""

    def __init__(self, upstream: Upstream) -> None:
        self._upstream = upstream

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
                self._upstream, leg.route.url, leg.body, leg.headers, leg.timeout
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

    async def stream(
        self, leg: Leg, shaper: Shaper, record: RequestRecord
    ) -> AsyncGenerator[bytes, None]:
        """The client's bytes as ARGO streams, told to `record` as they pass; raises
        before the first one if ARGO refused."""
        route = leg.route
        async with self._upstream.stream(
            route.url, dumps(leg.body), leg.headers, timeout=leg.timeout
        ) as upstream:
            if upstream.status != 200:
                reply = await upstream.read()
                raise error_from_status(reply.status, reply.body, reply.headers)
            if "json" in upstream.content_type:  # an error (or notice) sent as one JSON body
                reply = await upstream.read()
                check_reply(reply.json(), route.upstream)
                raise UpstreamError("ARGO answered a streaming request without a stream.")
            async for chunk in relay(upstream, shaper, record):
                yield chunk
