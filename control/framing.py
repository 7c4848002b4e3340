"""LSP-style `Content-Length` framing of JSON-RPC messages over a byte stream.

Shared by the daemon's control channels and the `argo-proxy ctl` client. pygls's own
reader (`pygls.io_.run_async`) skips a frame with a broken header without a word and
lets a short body at end of stream escape as an exception; the control plane must
answer every malformed frame with a JSON-RPC error instead, so it reads frames here
and hands the parsed messages to pygls.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Protocol

__all__ = ["MAX_FRAME_BYTES", "FrameError", "FrameReader", "encode_frame", "read_frame"]

# Control messages are small; a bigger frame is a confused peer, not a request.
MAX_FRAME_BYTES = 4 * 1024 * 1024


class FrameError(Exception):
    """A frame could not be read; `fatal` when the stream cannot be resynchronised."""

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.fatal = fatal


class FrameReader(Protocol):
    """What `read_frame` needs: asyncio.StreamReader fits."""

    async def readline(self) -> bytes: ...

    async def readexactly(self, n: int) -> bytes: ...


def encode_frame(message: Any) -> bytes:
    """One JSON-RPC message as a `Content-Length` frame (the length counts bytes)."""
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


async def read_frame(reader: FrameReader) -> bytes | None:
    """The body of the next frame, or None when the peer closed the stream.

    Raises FrameError for a header block without a usable `Content-Length` (after
    reading up to its blank line, so the next frame can still be read) and a fatal
    FrameError when the stream cannot be followed any more.
    """
    length: int | None = None
    problem = ""
    started = False
    while True:
        try:
            line = await reader.readline()
        except ValueError as exc:  # asyncio's line limit: not a header
            raise FrameError(f"header line too long: {exc}", fatal=True) from exc
        if not line:
            return None  # EOF between frames or inside a header: the peer went away
        if not line.strip():
            if not started:
                continue  # stray blank lines between frames are harmless
            break
        started = True
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            problem = problem or f"header line {line.strip()!r} is not `Name: value`"
        elif name.strip().lower() == "content-length":
            text = value.strip()
            if not text.isdigit():
                problem = problem or f"Content-Length must be a number of bytes; got {text!r}"
            else:
                length = int(text)
    if problem:
        raise FrameError(problem)
    if length is None:
        raise FrameError("frame has no Content-Length header")
    if length > MAX_FRAME_BYTES:
        raise FrameError(
            f"frame of {length} bytes is larger than the {MAX_FRAME_BYTES} allowed", fatal=True
        )
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        return None  # the peer closed in the middle of a body
