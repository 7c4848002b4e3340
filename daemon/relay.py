"""Relaying an upstream stream to a client of the same format.

Bytes go out as they arrive (no buffering of the whole stream), but only once the
first content has shown the stream is not ARGO's auth notice (argo-upstream.md
§5.1). A stream that ends without its terminal event, or breaks, ends with an
error event in the client's format instead of a silent truncation (behaviour.md §11 #79, #90).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import Any

from .argo_replies import NoticeWatch, auth_error, event_error, event_text
from .errors import UpstreamError
from .formats import FormatSpec
from .sse import SSEEvent, SSEParser
from .upstream import UpstreamStream

__all__ = ["relay_same_format"]

log = logging.getLogger(__name__)

_HOLD_LIMIT = 64 * 1024  # never hold more than this back while waiting for content


class _StreamMonitor:
    """Watches the events passing through: auth notice, terminal event, in-band errors."""

    def __init__(self) -> None:
        self.notice = NoticeWatch()
        self.ended = False

    def see(self, sse: SSEEvent) -> None:
        if sse.data.strip() == "[DONE]":
            self.ended = True
            return
        try:
            event: Any = sse.json()
        except ValueError:
            log.debug("skipping a stream event that is not JSON: %.200r", sse.data)
            return
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        if kind == "message_stop" or event_error(event) is not None:
            self.ended = True  # an error event is a proper end; the client sees it as sent
            self.notice.decided = True
            return
        if kind == "message_start":
            if str((event.get("message") or {}).get("id", "")).startswith("msg_blocked_"):
                self.notice.decided = self.notice.is_notice = True
            return
        if self.notice.decided:
            return
        text = event_text(event)
        if text:
            self.notice.feed(text)
        elif _carries_other_content(event):
            self.notice.decided = True


def _carries_other_content(event: dict[str, Any]) -> bool:
    """A tool call, thinking or finish: something that is not the notice's text."""
    if event.get("type") in ("content_block_delta", "message_delta"):
        return (event.get("delta") or {}).get("type") != "text_delta"
    choices = event.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        first = choices[0]
        return bool(first.get("finish_reason") or (first.get("delta") or {}).get("tool_calls"))
    return False


async def relay_same_format(
    stream: UpstreamStream, spec: FormatSpec
) -> AsyncGenerator[bytes, None]:
    """Yield the client's bytes. Raises before the first yield if the stream is refused
    (auth notice, or a failure before any content), so the caller can answer in JSON."""
    parser = SSEParser()
    monitor = _StreamMonitor()
    held: list[bytes] = []
    held_size = 0
    released = False
    try:
        async for chunk in stream.chunks():
            for sse in parser.feed(chunk):
                monitor.see(sse)
            if monitor.notice.is_notice:
                raise auth_error()
            if released:
                yield chunk
                continue
            held.append(chunk)
            held_size += len(chunk)
            if monitor.notice.decided or held_size > _HOLD_LIMIT:
                released = True
                yield b"".join(held)
                held = []
        for sse in parser.close():
            monitor.see(sse)
        if monitor.notice.is_notice:
            raise auth_error()
    except UpstreamError as exc:
        if not released:
            raise  # nothing sent yet: the client gets a proper HTTP error instead
        log.warning("upstream stream failed: %s", exc.message)
        yield spec.stream_error(exc.status, f"The stream from ARGO broke off: {exc.message}")
        return
    if held:
        yield b"".join(held)
    if not monitor.ended:
        log.warning("upstream stream from %s ended without its final event", stream.url)
        yield spec.stream_error(502, "ARGO ended the stream before it was complete.")
