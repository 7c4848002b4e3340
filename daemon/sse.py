"""Server-sent events: an incremental parser for upstream bytes and the framing we send.

The parser follows the WHATWG event-stream rules that matter here: lines end in
`\\n`, `\\r\\n` or `\\r`; `data:` with or without the space; several `data:` lines
join with `\\n`; `:` lines are comments; a blank line dispatches. argo-proxy only read
`data: ` with the space and split on `\\n` (docs/compatibility.md#streams); we do not
copy that. We never import llm-rosetta's vendored SSE module
(docs/workarounds.md#b1-vendored-imports).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["SSEEvent", "SSEParser", "frame_data", "frame_event"]


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event: its `event:` name ("" if none) and joined data."""

    event: str
    data: str

    def json(self) -> Any:
        """The data parsed as JSON; raises ValueError if it is not JSON."""
        return json.loads(self.data)


class SSEParser:
    """Feed bytes as they arrive; get back the events completed so far."""

    __slots__ = ("_buffer", "_data", "_event", "_decoder_tail")

    def __init__(self) -> None:
        self._buffer = ""
        self._decoder_tail = b""  # bytes of a UTF-8 character split across reads
        self._data: list[str] = []
        self._event = ""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        text = self._decode(chunk)
        if not text:
            return []
        buffer = self._buffer + text
        # A trailing "\r" may be the first half of "\r\n": keep it for the next read.
        cut = len(buffer) - 1 if buffer.endswith("\r") else len(buffer)
        lines = buffer[:cut].replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._buffer = lines.pop() + buffer[cut:]
        events: list[SSEEvent] = []
        for line in lines:
            self._line(line, events)
        return events

    def close(self) -> list[SSEEvent]:
        """End of stream: an unterminated last event is still delivered."""
        events: list[SSEEvent] = []
        if self._buffer:
            self._line(self._buffer.rstrip("\r"), events)
            self._buffer = ""
        self._line("", events)
        return events

    def _decode(self, chunk: bytes) -> str:
        data = self._decoder_tail + chunk
        try:
            self._decoder_tail = b""
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
                self._decoder_tail = data[exc.start :]
                return data[: exc.start].decode("utf-8")
            return data.decode("utf-8", errors="replace")

    def _line(self, line: str, events: list[SSEEvent]) -> None:
        if not line:
            if self._data:
                events.append(SSEEvent(self._event, "\n".join(self._data)))
            self._data = []
            self._event = ""
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value


def _dumps(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def frame_data(payload: Any) -> bytes:
    """`data: <json>` — OpenAI Chat and Google framing."""
    return f"data: {_dumps(payload)}\n\n".encode()


def frame_event(name: str, payload: Any) -> bytes:
    """`event: <name>` + `data: <json>` — Anthropic and Responses framing."""
    return f"event: {name}\ndata: {_dumps(payload)}\n\n".encode()
