"""Relaying an upstream stream to a client, as it arrives.

One loop for every format pair: upstream bytes are parsed into SSE events once,
watched once (auth notice, terminal event, in-band errors, and for the request's record
ARGO's usage), and handed to a *shaper*
that turns them into the client's bytes — the raw bytes themselves when client and
ARGO speak the same format, converted and re-framed events otherwise.

Bytes go out as they arrive (no buffering of the whole stream), but only once the first content
has shown the stream is not ARGO's auth notice (docs/argo.md#the-authentication-notice). A stream
that ends without its terminal event, or breaks, ends with an error event in the client's format
instead of a silent truncation (docs/compatibility.md#streams).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator
from typing import Any, Protocol

from .argo_replies import NoticeWatch, auth_error, event_error, event_text
from .convert import StreamConverter
from .errors import UpstreamError
from .formats import FormatSpec
from .model_names import answered_model, rename_data
from .records import STREAM_FAILED, RequestRecord
from .sse import SSEEvent, SSEParser
from .upstream import UpstreamStream

__all__ = ["ConvertingShaper", "SameFormatShaper", "Shaper", "relay"]

log = logging.getLogger(__name__)

_HOLD_LIMIT = 64 * 1024  # never hold more than this back while waiting for content
Event = dict[str, Any]
Parsed = Event | None  # one SSE event's JSON; None for OpenAI's closing `[DONE]`


class Shaper(Protocol):
    """Turns what ARGO sent into what the client receives: the well-formed SSE events of
    each read, and each of them parsed (`events[i]` is `frames[i]`'s JSON)."""

    def feed(self, frames: list[SSEEvent], events: list[Parsed]) -> bytes: ...
    def finish(self) -> bytes: ...  # ARGO ended the stream properly
    def fail(self, status: int, message: str) -> bytes: ...  # it did not


def _reframe(sse: SSEEvent) -> bytes:
    """One event as ARGO framed it (its data string is reused, not re-serialised)."""
    data = sse.data.replace("\n", "\ndata: ")
    head = f"event: {sse.event}\n" if sse.event else ""
    return f"{head}data: {data}\n\n".encode()


class SameFormatShaper:
    """Client and ARGO speak the same format: ARGO's events go through as they came,
    with the model named as the client asked for it (docs/translation.md#model-names).

    Each event is written again from its parsed text rather than copied byte for byte,
    so a malformed one (a broken `data:` line) is left out instead of reaching a client
    SDK that would raise on it; the rest of the stream goes on.
    """

    def __init__(self, spec: FormatSpec, model: str, *, hide_usage: bool = False) -> None:
        self._spec = spec
        self._model = model
        # The usage chunk asked of ARGO for the record, that the client did not ask for.
        self._hide_usage = hide_usage

    def feed(self, frames: list[SSEEvent], events: list[Parsed]) -> bytes:
        # an in-band error event is already in the client's format
        out = bytearray()
        for sse, event in zip(frames, events, strict=True):
            if self._hide_usage and _usage_only(event):
                continue
            old = answered_model(self._spec.name, event, event=True)
            if old is not None and old != self._model:
                sse = SSEEvent(sse.event, rename_data(sse.data, old, self._model))
            out += _reframe(sse)
        return bytes(out)

    def finish(self) -> bytes:
        return b""

    def fail(self, status: int, message: str) -> bytes:
        return self._spec.stream_error(status, message)


def _usage_only(event: Parsed) -> bool:
    """A Chat Completions chunk that carries only usage (`choices: []`)."""
    return event is not None and event.get("choices") == [] and bool(event.get("usage"))


class _JsonArrayFramer:
    """Google's streaming without `?alt=sse`: one JSON array, written element by element."""

    def __init__(self) -> None:
        self._started = False

    def frame(self, event: Event) -> bytes:
        prefix = b"," if self._started else b"["
        self._started = True
        return prefix + json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()

    def close(self) -> bytes:
        return b"]" if self._started else b"[]"


class ConvertingShaper:
    """Different formats: each ARGO event is converted and framed for the client."""

    def __init__(self, spec: FormatSpec, converter: StreamConverter, *, json_array: bool) -> None:
        self._spec = spec
        self._converter = converter
        self._array = _JsonArrayFramer() if json_array else None
        self._failed = False

    def _frame(self, events: list[Event]) -> bytes:
        if self._array is not None:
            return b"".join(self._array.frame(e) for e in events)
        return b"".join(self._spec.frame(e) for e in events)

    def feed(self, frames: list[SSEEvent], events: list[Parsed]) -> bytes:
        out = bytearray()
        for event in events:
            if self._failed:
                break
            if event is None:
                continue
            message = event_error(event)
            if message is not None:  # B3: the library would drop it silently
                out += self.fail(502, f"ARGO reported an error: {message}")
                break
            out += self._frame(self._converter.feed(event))
        return bytes(out)

    def finish(self) -> bytes:
        if self._failed:
            return b""
        out = self._frame(self._converter.finish())
        if self._array is not None:
            return out + self._array.close()
        return out + self._spec.stream_end

    def fail(self, status: int, message: str) -> bytes:
        self._failed = True
        events = self._converter.error(status, message)
        if self._array is not None:
            body = self._array.frame(self._spec.error(status, message)) + self._array.close()
            return body
        if events:
            return self._frame(events)
        return self._spec.stream_error(status, message)


class _Monitor:
    """Watches each event passing through, once: for the relay, the auth notice, the
    terminal event and in-band errors; for the request's record (docs/observability.md),
    ARGO's usage, an in-band error, Claude's thinking text (which Claude does not count
    apart: the record estimates it), and the answer's text, kept for the estimate only
    until ARGO's usage makes it needless (Claude's comes first, in message_start)."""

    def __init__(self, record: RequestRecord) -> None:
        self.notice = NoticeWatch()
        self.ended = False
        self._record = record
        self._usage = record.usage
        self._thinking_block = False  # inside a Claude thinking block

    def see(self, sse: SSEEvent, parsed: list[Parsed]) -> bool:
        """Watch one event and add its parse to `parsed`; False if it is malformed (not
        JSON, not `[DONE]`): it is then left out, of `parsed` too."""
        if sse.data.strip() == "[DONE]":
            self.ended = True
            parsed.append(None)
            return True
        try:
            event: Any = sse.json()
        except ValueError:
            log.warning("left out a malformed event from ARGO: %.200r", sse.data)
            return False
        if not isinstance(event, dict):
            log.warning("left out an event from ARGO that is not an object: %.200r", sse.data)
            return False
        parsed.append(event)
        kind = event.get("type")
        if self._record.answered_model is None:
            self._record.answered_model = _model_of(event, kind)
        if kind == "message_start" or "usage" in event:
            self._usage.see(event)
        message = event_error(event)
        if message is not None:  # relayed as is, or converted by the shaper: both fail
            self._record.fail(502, STREAM_FAILED, f"ARGO reported an error: {message}")
        if kind == "message_stop" or message is not None:
            self.ended = True  # an error event is an end too: the shaper reports it
            self.notice.decided = True
            return True
        if kind == "message_start":
            if str((event.get("message") or {}).get("id", "")).startswith("msg_blocked_"):
                self.notice.decided = self.notice.is_notice = True
            return True
        if self._thinking_block:  # a thinking block's deltas: its text, for the record
            self._thinking_block = self._thinking(event, kind)
        elif kind == "content_block_start":
            block = event.get("content_block")
            self._thinking_block = isinstance(block, dict) and block.get("type") == "thinking"
        if self.notice.decided and self._usage.reported:
            return True
        text = event_text(event)
        if text:
            if not self._usage.reported:
                self._record.output_text.append(text)
            if not self.notice.decided:
                self.notice.feed(text)
        elif not self.notice.decided and _carries_other_content(event):
            self.notice.decided = True
        return True

    def _thinking(self, event: Event, kind: object) -> bool:
        """Keep a thinking delta's text; whether the thinking block goes on."""
        if kind != "content_block_delta":
            return kind != "content_block_stop"
        delta = event.get("delta")
        if isinstance(delta, dict) and delta.get("type") == "thinking_delta":
            text = delta.get("thinking")
            if isinstance(text, str):
                self._usage.thinking.append(text)
        return True


def _model_of(event: Event, kind: Any) -> str | None:
    """The model ARGO's event names: Claude's in message_start, OpenAI's in each chunk
    (empty in Azure's preflight chunk)."""
    holder = event.get("message") if kind == "message_start" else event
    model = holder.get("model") if isinstance(holder, dict) else None
    return model if isinstance(model, str) and model else None


def _carries_other_content(event: Event) -> bool:
    """A tool call, thinking or finish: something that is not the notice's text."""
    if event.get("type") in ("content_block_delta", "message_delta"):
        return (event.get("delta") or {}).get("type") != "text_delta"
    choices = event.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        first = choices[0]
        return bool(first.get("finish_reason") or (first.get("delta") or {}).get("tool_calls"))
    return False


async def relay(
    stream: UpstreamStream, shaper: Shaper, record: RequestRecord
) -> AsyncGenerator[bytes, None]:
    """Yield the client's bytes, and tell `record` what passed. Raises before the first
    yield if the stream is refused (auth notice, or a failure before any content), so the
    caller can answer in JSON."""
    parser = SSEParser()
    monitor = _Monitor(record)
    held = bytearray()
    released = False
    try:
        async for chunk in stream.chunks():
            events: list[Parsed] = []
            frames = [sse for sse in parser.feed(chunk) if monitor.see(sse, events)]
            if monitor.notice.is_notice:
                raise auth_error()
            out = shaper.feed(frames, events)
            if released:
                if out:
                    yield out
                continue
            held += out
            if monitor.notice.decided or len(held) > _HOLD_LIMIT:
                released = True
                yield bytes(held)
                held.clear()
        events = []
        frames = [sse for sse in parser.close() if monitor.see(sse, events)]
        if monitor.notice.is_notice:
            raise auth_error()
        tail = shaper.feed(frames, events)
    except UpstreamError as exc:
        if not released:
            raise  # nothing sent yet: the client gets a proper HTTP error instead
        log.warning("upstream stream failed: %s", exc.message)
        message = f"The stream from ARGO broke off: {exc.message}"
        record.fail(exc.status, STREAM_FAILED, message)
        yield shaper.fail(exc.status, message)
        return
    if monitor.ended:
        tail += shaper.finish()
    else:
        log.warning("upstream stream from %s ended without its final event", stream.url)
        message = "ARGO ended the stream before it was complete."
        record.fail(502, STREAM_FAILED, message)
        tail += shaper.fail(502, message)
    yield bytes(held) + tail
