"""What clients get back from the legacy gateway: answer bodies and stream framing.

The legacy gateway answers with bare text (docs/legacy.md#streams), so every client answer
is built here, from one neutral form (`LegacyAnswer`): the text, OpenAI tool calls,
and an estimated usage. Streams are a list of OpenAI `chat.completion.chunk` events,
framed per client API: Chat Completions as `data:` lines ending in a finish chunk and
`data: [DONE]` (argo-proxy sent neither), Responses as named events through
llm-rosetta's stream converter, text completions as `text_completion` chunks, and
`/v1/chat` as raw text.
"""

from __future__ import annotations

import base64
import struct
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .convert import StreamConverter
from .formats import FORMATS
from .sse import frame_data, frame_event
from .tokens import estimate_text_tokens

__all__ = [
    "ChatFramer",
    "CompletionsFramer",
    "Framer",
    "LegacyAnswer",
    "Meta",
    "RawTextFramer",
    "ResponsesFramer",
    "answer_chunks",
    "chat_completion",
    "chunk",
    "embedding_list",
    "new_meta",
    "text_completion",
    "usage",
]

Event = dict[str, Any]
_DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True)
class LegacyAnswer:
    """A non-streamed gateway answer: its text and tool calls (OpenAI shape), and the
    body as ARGO sent it (`raw` None when it was gathered from a stream)."""

    text: str
    calls: list[dict[str, Any]]
    body: Any
    raw: bytes | None

    @property
    def completion_tokens(self) -> int:
        called = [c["function"]["name"] + c["function"]["arguments"] for c in self.calls]
        return sum(estimate_text_tokens(text) for text in (self.text, *called))


@dataclass(frozen=True)
class Meta:
    """What every piece of one answer shares."""

    id: str
    created: int
    model: str
    prompt_tokens: int


def new_meta(prefix: str, model: str, prompt_tokens: int) -> Meta:
    return Meta(f"{prefix}{uuid.uuid4().hex}", int(time.time()), model, prompt_tokens)


def usage(meta: Meta, completion_tokens: int) -> dict[str, int]:
    """Usage from the offline estimate (tokens.py): the legacy gateway reports none
    (docs/legacy.md#usage-is-an-estimate)."""
    return {
        "prompt_tokens": meta.prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": meta.prompt_tokens + completion_tokens,
    }


def chat_completion(
    meta: Meta, text: str, calls: Sequence[Event], completion_tokens: int
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = list(calls)
    else:
        message["content"] = text
    return {
        "id": meta.id,
        "object": "chat.completion",
        "created": meta.created,
        "model": meta.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if calls else "stop",
            }
        ],
        "usage": usage(meta, completion_tokens),
    }


def text_completion(meta: Meta, text: str, completion_tokens: int) -> dict[str, Any]:
    return {
        "id": meta.id,
        "object": "text_completion",
        "created": meta.created,
        "model": meta.model,
        "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": "stop"}],
        "usage": usage(meta, completion_tokens),
    }


def _base64_floats(vector: Sequence[float]) -> str:
    # The openai SDK asks for base64 by default: little-endian float32, as OpenAI sends.
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def embedding_list(
    vectors: Sequence[Sequence[float]], model: str, tokens: int, *, base64_floats: bool
) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {
                "object": "embedding",
                "index": index,
                "embedding": _base64_floats(vector) if base64_floats else list(vector),
            }
            for index, vector in enumerate(vectors)
        ],
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


# -------------------------------------------------------------------------- streams


def chunk(meta: Meta, delta: Event | None, finish: str | None = None) -> Event:
    """One `chat.completion.chunk`; `delta=None` makes the usage-only chunk's shape."""
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": meta.id,
        "object": "chat.completion.chunk",
        "created": meta.created,
        "model": meta.model,
        "choices": choices,
    }


def answer_chunks(
    meta: Meta, text: str, calls: Sequence[Event], completion_tokens: int
) -> list[Event]:
    """A whole answer as a stream: the legacy `streamchat` cannot call tools
    (docs/argo.md#legacy-streams), so a request with tools is answered by `chat/` and replayed as
    chunks."""
    events = [chunk(meta, {"role": "assistant", "content": text})]
    for index, call in enumerate(calls):
        events.append(chunk(meta, {"tool_calls": [{"index": index, **call}]}))
    events.append(chunk(meta, {}, "tool_calls" if calls else "stop"))
    events.append({**chunk(meta, None), "usage": usage(meta, completion_tokens)})
    return events


class Framer(Protocol):
    """Turns chat chunks into a client's stream bytes."""

    def frame(self, events: list[Event]) -> bytes: ...
    def end(self) -> bytes: ...  # after the last chunk (finish and usage included)
    def fail(self, status: int, message: str) -> bytes: ...  # an error after the first byte


def _is_usage(event: Event) -> bool:
    return event.get("choices") == [] and "usage" in event


class ChatFramer:
    """Chat Completions: `data:` lines, the usage chunk only if asked, then `[DONE]`."""

    def __init__(self, include_usage: bool) -> None:
        self._include_usage = include_usage

    def frame(self, events: list[Event]) -> bytes:
        return b"".join(frame_data(e) for e in events if self._include_usage or not _is_usage(e))

    def end(self) -> bytes:
        return _DONE

    def fail(self, status: int, message: str) -> bytes:
        return FORMATS["openai_chat"].stream_error(status, message)


class CompletionsFramer(ChatFramer):
    """Text completions: each chunk re-shaped as a `text_completion` chunk."""

    def frame(self, events: list[Event]) -> bytes:
        out = []
        for event in events:
            shaped = dict(event, object="text_completion")
            if _is_usage(event):
                if not self._include_usage:
                    continue
            else:
                choice = event["choices"][0]
                text = choice["delta"].get("content") or ""
                if not text and choice["finish_reason"] is None:
                    continue
                shaped["choices"] = [
                    {
                        "text": text,
                        "index": 0,
                        "logprobs": None,
                        "finish_reason": choice["finish_reason"],
                    }
                ]
            out.append(frame_data(shaped))
        return b"".join(out)


class ResponsesFramer:
    """Responses: llm-rosetta turns the chunks into named events (`event:` lines),
    `response.created` … `response.completed`, which strict clients require."""

    def __init__(self, converter: StreamConverter) -> None:
        self._converter = converter

    def _named(self, events: list[Event]) -> bytes:
        return b"".join(frame_event(str(e.get("type", "message")), e) for e in events)

    def frame(self, events: list[Event]) -> bytes:
        return self._named([out for e in events for out in self._converter.feed(e)])

    def end(self) -> bytes:
        return self._named(self._converter.finish())

    def fail(self, status: int, message: str) -> bytes:
        events = self._converter.error(status, message)
        return (
            self._named(events)
            if events
            else FORMATS["openai_responses"].stream_error(status, message)
        )


class RawTextFramer:
    """`/v1/chat`: the legacy stream as it is, plain UTF-8 text
    (docs/legacy.md#v1chat-and-v1embed-the-gateways-own-api)."""

    def frame(self, events: list[Event]) -> bytes:
        return "".join(
            e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"]
        ).encode()

    def end(self) -> bytes:
        return b""

    def fail(self, status: int, message: str) -> bytes:
        # Plain text has no error event, and a stream that just stops would pass for a
        # whole answer (docs/compatibility.md#streams): the text itself says it is cut short.
        return f"\n\n[argo-proxy: error {status}: {message}]\n".encode()
