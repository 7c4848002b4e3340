"""What passes between the HTTP layer (app.py) and the request path: the client's
request as received, and the answer to send, JSON or a stream. Framework-neutral."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ClientRequest",
    "JSONResult",
    "Result",
    "Stop",
    "StreamResult",
    "prepend_chunk",
    "started",
    "stop_of",
]


@dataclass
class ClientRequest:
    """What the request path needs of an HTTP request (header names lower-case).

    The chat path empties `body` once it has parsed it, so that a big body is held
    once, not twice, while it is converted and sent (bench/README.md, memory).
    """

    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str] = field(default_factory=dict)
    path: str = ""  # the endpoint called, for its record (docs/observability.md)
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
class Stop:
    """What the cancellation of a request cut by a stop carries (serving.InFlight.cut):
    the reason its client is told. A client that hung up cancels its request too; this
    tells the request's record which of the two it was (docs/observability.md)."""

    reason: str


def stop_of(exc: BaseException) -> Stop | None:
    """The stop that cancelled a request, if `exc` is that cancellation."""
    if isinstance(exc, asyncio.CancelledError) and exc.args and isinstance(exc.args[0], Stop):
        return exc.args[0]
    return None


async def prepend_chunk(
    first: bytes, rest: AsyncGenerator[bytes, None]
) -> AsyncGenerator[bytes, None]:
    """`first`, then the rest: a stream whose first chunk was read to see it start well."""
    try:
        yield first
        async for chunk in rest:
            yield chunk
    finally:
        await rest.aclose()


async def started(chunks: AsyncGenerator[bytes, None]) -> AsyncGenerator[bytes, None]:
    """`chunks` once its first chunk is in: a failure before any byte went out raises
    here, so the client gets a proper HTTP error instead of a broken stream."""
    try:
        first = await chunks.__anext__()
    except BaseException:
        await chunks.aclose()
        raise
    return prepend_chunk(first, chunks)
