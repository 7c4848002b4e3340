"""Relaying an upstream stream to a client, as it arrives.

One loop for every format pair: upstream bytes are parsed into SSE events once,
watched once (auth notice, terminal event, in-band errors), each parsed event told to
the request's observer (observer.py: the record takes ARGO's usage from it), and handed
to a *shaper*
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
from .observer import Observer
from .records import STREAM_FAILED
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
    """Watches each event passing through, once, for the relay: the auth notice, the
    terminal event and in-band errors; and tells the observer each parsed event."""

    def __init__(self, observer: Observer) -> None:
        self.notice = NoticeWatch()
        self.ended = False
        self._observer = observer

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
        self._observer.event(event)
        kind = event.get("type")
        message = event_error(event)
        if message is not None:  # relayed as is, or converted by the shaper: both fail
            self._observer.failed(502, STREAM_FAILED, f"ARGO reported an error: {message}")
        if kind == "message_stop" or message is not None:
            self.ended = True  # an error event is an end too: the shaper reports it
            self.notice.decided = True
            return True
        if kind == "message_start":
            if str((event.get("message") or {}).get("id", "")).startswith("msg_blocked_"):
                self.notice.decided = self.notice.is_notice = True
            return True
        if self.notice.decided:
            return True
        text = event_text(event)
        if text:
            self.notice.feed(text)
        elif _carries_other_content(event):
            self.notice.decided = True
        return True


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
    stream: UpstreamStream, shaper: Shaper, observer: Observer
) -> AsyncGenerator[bytes, None]:
    """Yield the client's bytes, and tell `observer` what passed. Raises before the first
    yield if the stream is refused (auth notice, or a failure before any content), so the
    caller can answer in JSON."""
    parser = SSEParser()
    monitor = _Monitor(observer)
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
        observer.failed(exc.status, STREAM_FAILED, message)
        yield shaper.fail(exc.status, message)
        return
    if monitor.ended:
        tail += shaper.finish()
    else:
        log.warning("upstream stream from %s ended without its final event", stream.url)
        message = "ARGO ended the stream before it was complete."
        observer.failed(502, STREAM_FAILED, message)
        tail += shaper.fail(502, message)
    yield bytes(held) + tail
