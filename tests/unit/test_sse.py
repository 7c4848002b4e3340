"""The SSE parser over arbitrarily split bytes, and our framing."""

from __future__ import annotations

import json
import random

from argo_proxy.daemon.sse import SSEEvent, SSEParser, frame_data, frame_event

STREAM = (
    'event: message_start\r\ndata: {"a": "héllo ⚠️"}\r\n\r\n'
    ": a comment\n"
    'data:{"no":"space"}\n\n'
    "data: line one\ndata: line two\n\n"
    "event: ping\rdata: {}\r\r"
    "data: [DONE]\n\n"
).encode()

EXPECTED = [
    SSEEvent("message_start", '{"a": "héllo ⚠️"}'),
    SSEEvent("", '{"no":"space"}'),
    SSEEvent("", "line one\nline two"),
    SSEEvent("ping", "{}"),
    SSEEvent("", "[DONE]"),
]


def parse_in_pieces(data: bytes, cuts: list[int]) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    start = 0
    for cut in [*cuts, len(data)]:
        events.extend(parser.feed(data[start:cut]))
        start = cut
    return events + parser.close()


def test_whole_stream() -> None:
    assert parse_in_pieces(STREAM, []) == EXPECTED


def test_every_single_byte_split_including_inside_utf8_and_crlf() -> None:
    for cut in range(1, len(STREAM)):
        assert parse_in_pieces(STREAM, [cut]) == EXPECTED, cut


def test_random_fragmentation() -> None:
    rng = random.Random(7)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(STREAM)), rng.randint(1, 20)))
        assert parse_in_pieces(STREAM, cuts) == EXPECTED


def test_unterminated_last_event_is_delivered_on_close() -> None:
    parser = SSEParser()
    assert parser.feed(b'data: {"x": 1}') == []
    assert parser.close() == [SSEEvent("", '{"x": 1}')]


def test_framing_is_raw_utf8_json() -> None:
    assert frame_data({"t": "é"}) == 'data: {"t":"é"}\n\n'.encode()
    framed = frame_event("message_stop", {"type": "message_stop"})
    assert framed == b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    parsed = SSEParser().feed(framed)
    assert json.loads(parsed[0].data) == {"type": "message_stop"}
