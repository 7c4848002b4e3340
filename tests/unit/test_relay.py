"""The relay (daemon/relay.py) without processes: a scripted upstream stream, the
shapers, and an in-memory observer; what the client receives and what the request
is told, for a good stream, ARGO's auth notice, a break, and an end cut short."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from argo_proxy.daemon.errors import UpstreamAuthError, UpstreamError
from argo_proxy.daemon.formats import FORMATS
from argo_proxy.daemon.records import STREAM_FAILED, RequestRecord
from argo_proxy.daemon.relay import SameFormatShaper, relay

from .observed import Seen
from .test_legacy import NOTICE


class Scripted:
    """An upstream stream (upstream.UpstreamStream's face): these chunks, then maybe a break."""

    url = "http://argo.test/v1/chat/completions"

    def __init__(self, *chunks: bytes, breaks: bool = False) -> None:
        self._chunks = chunks
        self._breaks = breaks

    async def chunks(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk
        if self._breaks:
            raise UpstreamError("The connection to ARGO failed: reset")


def chunk(content: str | None = None, **extra: Any) -> bytes:
    delta = {"content": content} if content is not None else {}
    event = {"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o",
             "choices": [{"index": 0, "delta": delta}], **extra}  # fmt: skip
    return f"data: {json.dumps(event)}\n\n".encode()


USAGE = (
    b'data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":[],'
    b'"usage":{"prompt_tokens":7,"completion_tokens":2}}\n\n'
)
DONE = b"data: [DONE]\n\n"


async def relayed(stream: Scripted, observer: Any, *, hide_usage: bool = False) -> bytes:
    shaper = SameFormatShaper(FORMATS["openai_chat"], "argo:gpt-4o", hide_usage=hide_usage)
    return b"".join([part async for part in relay(stream, shaper, observer)])  # type: ignore[arg-type]


async def test_a_stream_goes_to_the_client_and_each_event_to_the_observer() -> None:
    seen = Seen()
    out = await relayed(Scripted(chunk("Hel"), chunk("lo") + USAGE, DONE), seen)
    events = [json.loads(line[6:]) for line in out.split(b"\n\n") if line.startswith(b"data: {")]
    assert "".join(e["choices"][0]["delta"]["content"] for e in events if e["choices"]) == "Hello"
    assert all(e["model"] == "argo:gpt-4o" for e in events)  # named as the client asked
    assert out.endswith(DONE)
    assert seen.names() == ["event", "event", "event"]  # [DONE] is no event; no failure
    assert seen.args("event")[2][0]["usage"]["prompt_tokens"] == 7


async def test_the_usage_chunk_asked_for_the_record_is_kept_from_the_client() -> None:
    record = RequestRecord.open("/v1/chat/completions", "openai_chat", None)
    out = await relayed(Scripted(chunk("Hi"), USAGE, DONE), record, hide_usage=True)
    assert b'"usage"' not in out
    record.close()
    assert (record.input_tokens, record.output_tokens, record.status) == (7, 2, 200)
    assert record.answered_model == "gpt-4o" and not record.estimated


async def test_argos_auth_notice_is_refused_before_any_byte() -> None:
    seen = Seen()
    parts = [piece async for piece in _first(Scripted(chunk(NOTICE), DONE), seen)]
    assert parts == ["UpstreamAuthError"]


async def _first(stream: Scripted, seen: Seen) -> AsyncIterator[str]:
    shaper = SameFormatShaper(FORMATS["openai_chat"], "m")
    try:
        async for _ in relay(stream, shaper, seen):  # type: ignore[arg-type]
            yield "bytes"
    except UpstreamAuthError as exc:
        yield type(exc).__name__


async def test_a_break_before_any_byte_is_raised_for_a_proper_http_error() -> None:
    with pytest.raises(UpstreamError, match="reset"):
        await relayed(Scripted(breaks=True), Seen())


async def test_a_break_after_content_ends_with_an_error_event_and_is_told() -> None:
    seen = Seen()
    out = await relayed(Scripted(chunk("Hello there, " * 20), breaks=True), seen)
    assert b"Hello there" in out
    assert out.index(b"Hello there") < out.index(b"The stream from ARGO broke off")
    ((status, kind, message),) = seen.args("failed")
    assert kind == STREAM_FAILED and status == 502 and "broke off" in message


async def test_a_stream_that_ends_without_its_last_event_is_told_as_failed() -> None:
    seen = Seen()
    out = await relayed(Scripted(chunk("Hello there, " * 20)), seen)
    assert b"ARGO ended the stream before it was complete." in out
    assert seen.args("failed") == [
        (502, STREAM_FAILED, "ARGO ended the stream before it was complete.")
    ]
