"""control/framing.py and control/rpc.py: frames, message checks, one connection."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from argo_proxy.control.framing import (
    MAX_FRAME_BYTES,
    FrameError,
    encode_frame,
    read_frame,
)
from argo_proxy.control.rpc import RpcConnection, parse_message


def reader_of(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def test_a_frame_round_trips_and_counts_bytes_not_characters() -> None:
    frame = encode_frame({"text": "héllo ✓"})
    body = json.dumps({"text": "héllo ✓"}, separators=(",", ":"), ensure_ascii=False).encode()
    assert frame == b"Content-Length: %d\r\n\r\n" % len(body) + body
    reader = reader_of(b"\r\n" + frame + frame)  # a stray blank line between frames is fine
    assert json.loads(await read_frame(reader) or b"") == {"text": "héllo ✓"}
    assert await read_frame(reader) == body
    assert await read_frame(reader) is None  # a clean end


async def test_other_headers_and_any_case_are_accepted() -> None:
    data = b"content-length: 2\r\nContent-Type: application/vscode-jsonrpc\r\n\r\n{}"
    assert await read_frame(reader_of(data)) == b"{}"


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (b"Content-Type: x\r\n\r\n", "no Content-Length"),
        (b"Content-Length: ten\r\n\r\n", "must be a number"),
        (b"Garbage\r\n\r\n", "is not `Name: value`"),
    ],
)
async def test_a_bad_header_is_an_error_and_the_next_frame_still_reads(
    header: bytes, problem: str
) -> None:
    reader = reader_of(header + encode_frame({"ok": 1}))
    with pytest.raises(FrameError, match=problem) as caught:
        await read_frame(reader)
    assert not caught.value.fatal
    assert await read_frame(reader) == b'{"ok":1}'


async def test_an_oversized_frame_is_fatal_and_a_short_body_is_the_end() -> None:
    with pytest.raises(FrameError) as caught:
        await read_frame(reader_of(b"Content-Length: %d\r\n\r\n" % (MAX_FRAME_BYTES + 1)))
    assert caught.value.fatal
    assert await read_frame(reader_of(b"Content-Length: 10\r\n\r\n{}")) is None


@pytest.mark.parametrize(
    ("payload", "code", "reply_id"),
    [
        ([], -32600, None),
        ("status", -32600, None),
        ({"jsonrpc": "1.0", "id": 3, "method": "status"}, -32600, 3),
        ({"jsonrpc": "2.0", "id": 4}, -32600, 4),
        ({"jsonrpc": "2.0", "id": 5, "method": 7}, -32600, 5),
        ({"jsonrpc": "2.0", "id": 6, "method": "status", "params": 1}, -32600, 6),
        ({"jsonrpc": "2.0", "id": 1.5, "method": "status"}, -32600, None),
        ({"jsonrpc": "2.0", "id": True, "method": "status"}, -32600, None),
    ],
)
def test_malformed_messages_are_refused(payload: Any, code: int, reply_id: Any) -> None:
    refusal = parse_message(payload)
    assert refusal is not None and not hasattr(refusal, "method")
    assert (refusal.code, refusal.id) == (code, reply_id)  # type: ignore[union-attr]


def test_well_formed_messages_parse_and_responses_are_ignored() -> None:
    request = parse_message({"jsonrpc": "2.0", "id": "a", "method": "status"})
    assert (request.id, request.method, request.params) == ("a", "status", None)  # type: ignore[union-attr]
    note = parse_message({"jsonrpc": "2.0", "method": "x", "params": {"k": 1}})
    assert not hasattr(note, "id") and note.params == {"k": 1}  # type: ignore[union-attr]
    assert parse_message({"jsonrpc": "2.0", "id": 1, "result": {}}) is None


class Peer:
    """The client end of a socketpair whose other end an RpcConnection serves."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, message: Any) -> None:
        self.writer.write(encode_frame(message))
        await self.writer.drain()

    async def receive(self) -> dict[str, Any]:
        body = await asyncio.wait_for(read_frame(self.reader), 5)
        assert body is not None
        message: dict[str, Any] = json.loads(body)
        return message


@pytest.fixture()
async def served() -> AsyncIterator[tuple[Peer, RpcConnection]]:
    release = asyncio.Event()

    async def echo(params: Any) -> Any:
        return {"params": params}

    async def slow(params: Any) -> Any:
        await release.wait()
        return "slow done"

    async def crash(params: Any) -> Any:
        raise KeyError("oops")

    ours, theirs = socket.socketpair()
    server_reader, server_writer = await asyncio.open_connection(sock=ours)
    client_reader, client_writer = await asyncio.open_connection(sock=theirs)
    connection = RpcConnection(
        "test", server_reader, server_writer, {"echo": echo, "slow": slow, "crash": crash}
    )
    task = asyncio.ensure_future(connection.serve())
    peer = Peer(client_reader, client_writer)
    peer.release = release  # type: ignore[attr-defined]
    yield peer, connection
    client_writer.close()
    await client_writer.wait_closed()
    await task
    await connection.close()


async def test_requests_are_answered_concurrently_and_errors_are_clear(
    served: tuple[Peer, RpcConnection],
) -> None:
    peer, connection = served
    await peer.send({"jsonrpc": "2.0", "id": 1, "method": "slow"})
    await peer.send({"jsonrpc": "2.0", "id": 2, "method": "echo", "params": [1, {"a": None}]})
    assert await peer.receive() == {
        "id": 2,
        "jsonrpc": "2.0",
        "result": {"params": [1, {"a": None}]},
    }
    peer.release.set()  # type: ignore[attr-defined]
    assert (await peer.receive())["result"] == "slow done"

    await peer.send({"jsonrpc": "2.0", "id": 3, "method": "crash"})
    error = (await peer.receive())["error"]
    assert error["code"] == -32603 and error["message"] == "internal error in crash: 'oops'"
    assert "data" not in error  # no traceback for the client

    await peer.send({"jsonrpc": "2.0", "id": 4, "method": "nope"})
    assert (await peer.receive())["error"]["code"] == -32601
    peer.writer.write(b"Content-Length: 3\r\n\r\n{x}")
    assert (await peer.receive())["error"] == {
        "code": -32700,
        "message": "the frame body is not valid JSON: Expecting property name enclosed in "
        "double quotes: line 1 column 2 (char 1)",
    }

    connection.notify("state.changed", {"legacy": True})
    assert await peer.receive() == {
        "jsonrpc": "2.0",
        "method": "state.changed",
        "params": {"legacy": True},
    }


async def test_notify_after_the_client_left_is_dropped(served: tuple[Peer, RpcConnection]) -> None:
    peer, connection = served
    await connection.close()
    assert connection.closed
    connection.notify("state.changed", {})  # no error, nothing written
