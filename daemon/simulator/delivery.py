"""Putting a reply on the wire, with the transport-level faults applied.

Endpoint modules build a `BodyReply` (one body) or a `StreamReply` (a list of encoded
events). This module writes it and is the one place that knows how to misbehave on the
wire: `hang`, `latency`, `cut` (close without the rest), `malformed` (a broken event or a
truncated body), `split` (arbitrary small writes, one of them inside a multi-byte UTF-8
character), in-stream errors, per-event pacing and gzip (docs/simulator.md#faults).
"""

from __future__ import annotations

import asyncio
import json
import random
import zlib
from dataclasses import dataclass
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse

from .faults import FaultSet
from .settings import SimulatorSettings

__all__ = ["JSON", "SSE", "TEXT", "BodyReply", "StreamReply", "deliver", "dumps"]

JSON = "application/json"
SSE = "text/event-stream; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

_HANG_DEFAULT_MS = 3_600_000.0
_NGINX_504 = (
    b"<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
    b"<center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, the encoding of every body and event the simulator sends."""
    return _encode(value).encode()


@dataclass
class BodyReply:
    """A complete (non-streamed) answer."""

    status: int
    body: bytes
    content_type: str = JSON
    headers: dict[str, str] | None = None


@dataclass
class StreamReply:
    """A streamed answer: each item of `events` is one event (or raw-text chunk).

    first_write        how many leading events go out in the first write (an auth notice
                       is coalesced into the first network chunk, as ARGO sends it).
    pause_after_first  seconds between the first write and the rest (`auth_notice later=1`).
    error_event        set by a `stream_error` fault: sent after `after` events, then end.
    sse                False for legacy raw text, where a "malformed line" means nothing.
    """

    events: list[bytes]
    content_type: str = SSE
    headers: dict[str, str] | None = None
    first_write: int = 1
    pause_after_first: float = 0.0
    error_event: bytes | None = None
    gzip: bool = False
    sse: bool = True
    status: int = 200


def _malform(event: bytes) -> bytes:
    # Half an event, then the blank line: a `data:` line whose JSON does not parse.
    line = event.rstrip(b"\n")
    return line[: max(len(line) // 2, 7)] + b"\n\n"


def _pieces(data: bytes, seed: int) -> list[bytes]:
    """Cut `data` into 1-9 byte pieces; the first multi-byte UTF-8 character is cut inside."""
    rng = random.Random(seed)
    lead = next((i for i, b in enumerate(data) if b >= 0xC0), -1)
    pieces: list[bytes] = []
    start = 0
    while start < len(data):
        size = rng.randint(1, 9)
        if start <= lead < start + size:
            size = lead - start + 1  # end the piece right after the lead byte
        pieces.append(data[start : start + size])
        start += size
    return pieces


class _Gzip:
    """Incremental gzip: every write is flushed so the client can decode it at once."""

    def __init__(self) -> None:
        self._z = zlib.compressobj(wbits=31)

    def chunk(self, data: bytes) -> bytes:
        return self._z.compress(data) + self._z.flush(zlib.Z_SYNC_FLUSH)

    def end(self) -> bytes:
        return self._z.flush()


async def _wait_faults(faults: FaultSet) -> BodyReply | None:
    hang = faults.get("hang")
    if hang is not None:
        # Ends early when the client gives up: Sanic cancels the handler on disconnect.
        await asyncio.sleep(hang.number("ms", _HANG_DEFAULT_MS) / 1000)
        return BodyReply(504, _NGINX_504, "text/html")
    latency = faults.get("latency")
    if latency is not None and latency.number("ms", 0) > 0:
        await asyncio.sleep(latency.number("ms", 0) / 1000)
    return None


def _chunk_delay(faults: FaultSet, settings: SimulatorSettings) -> float:
    latency = faults.get("latency")
    if latency is not None:
        return latency.number("chunk_ms", settings.chunk_delay_ms) / 1000
    return settings.chunk_delay_ms / 1000


async def deliver(
    request: Request,
    reply: BodyReply | StreamReply,
    faults: FaultSet,
    settings: SimulatorSettings,
    seed: int = 0,
) -> HTTPResponse | None:
    """Write `reply`; return the response for Sanic, or None when written here."""
    if faults:
        timed_out = await _wait_faults(faults)
        if timed_out is not None:
            reply = timed_out
    if isinstance(reply, StreamReply):
        await _send_stream(request, reply, faults, _chunk_delay(faults, settings), seed)
        return None
    if not faults or not ({"cut", "malformed", "split"} & faults.by_name.keys()):
        return HTTPResponse(
            reply.body, status=reply.status, headers=reply.headers, content_type=reply.content_type
        )
    return await _send_faulty_body(request, reply, faults, seed)


async def _send_faulty_body(
    request: Request, reply: BodyReply, faults: FaultSet, seed: int
) -> HTTPResponse | None:
    body = reply.body
    cut = faults.get("cut")
    if cut is not None:
        response = await request.respond(
            status=reply.status, headers=reply.headers, content_type=reply.content_type
        )
        # after=0: close before the status line; after>=1: half the body, then close.
        if cut.integer("after", 0) > 0:
            await response.send(body[: len(body) // 2])
        request.transport.close()
        return None
    if "malformed" in faults:
        body = body[: len(body) // 2]
    if "split" in faults:
        response = await request.respond(
            status=reply.status, headers=reply.headers, content_type=reply.content_type
        )
        for piece in _pieces(body, seed):
            await response.send(piece)
            await asyncio.sleep(0)
        await response.eof()
        return None
    return HTTPResponse(
        body, status=reply.status, headers=reply.headers, content_type=reply.content_type
    )


def _arrange(reply: StreamReply, faults: FaultSet) -> tuple[list[bytes], bool]:
    """The events to write after the event-level faults, and whether to cut at the end."""
    events = reply.events
    if not faults:
        return events, False
    malformed = faults.get("malformed")
    if malformed is not None and reply.sse:
        at = max(0, malformed.integer("after", 1))
        broken = _malform(events[at]) if at < len(events) else b"data: {\n\n"
        events = events[:at] + [broken] + events[at:]
    if reply.error_event is not None:
        failing = faults.get("stream_error")
        at = max(0, failing.integer("after", 1) if failing else 1)
        events = events[:at] + [reply.error_event]
    cut = faults.get("cut")
    if cut is None:
        return events, False
    at = max(0, cut.integer("after", 1))
    kept = events[:at]
    if cut.integer("partial", 0) and at < len(events):
        kept.append(events[at][: len(events[at]) // 2])  # a truncated last line
    return kept, True


async def _send_stream(
    request: Request, reply: StreamReply, faults: FaultSet, delay: float, seed: int
) -> None:
    events, cut = _arrange(reply, faults)
    headers = dict(reply.headers or {})
    gzip = _Gzip() if reply.gzip else None
    if gzip is not None:
        headers["content-encoding"] = "gzip"
    if "split" in faults:
        writes = _pieces(b"".join(events), seed)
        first, pause = 1, 0.0
    else:
        writes = events
        first, pause = max(1, reply.first_write), reply.pause_after_first
    response = await request.respond(
        status=reply.status, headers=headers, content_type=reply.content_type
    )
    if writes:
        head = b"".join(writes[:first])
        await response.send(gzip.chunk(head) if gzip else head)
        if pause:
            await asyncio.sleep(pause)
    for index in range(first, len(writes)):
        if delay:
            await asyncio.sleep(delay)
        elif "split" in faults:
            await asyncio.sleep(0)  # let each piece leave as its own write
        await response.send(gzip.chunk(writes[index]) if gzip else writes[index])
    if cut:
        request.transport.close()
        return
    if gzip is not None:
        await response.send(gzip.end())
    await response.eof()
