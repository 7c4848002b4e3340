"""The upstream client (daemon/upstream.py) against an in-process HTTP server on
loopback: what its observer is told (the call, each retry, ARGO's status and bytes),
retries of a 503, a stream's chunks, and a refused connection in our words."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from argo_proxy.daemon.errors import UpstreamError
from argo_proxy.daemon.upstream import Upstream

from .observed import Seen


class Server:
    """A loopback server whose answers are scripted per test; it counts the calls."""

    def __init__(self) -> None:
        self.statuses: list[int] = []  # the status of each call in turn; then 200
        self.calls = 0
        self.url = ""

    async def answer(self, request: web.Request) -> web.StreamResponse:
        self.calls += 1
        body = await request.json()
        status = self.statuses.pop(0) if self.statuses else 200
        if status != 200:
            return web.json_response({"error": "busy"}, status=status)
        if body.get("stream"):
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            for part in (b"data: one\n\n", b"data: two\n\n"):
                await response.write(part)
            await response.write_eof()
            return response
        return web.json_response({"echo": body, "agent": request.headers["User-Agent"]})


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    scripted = Server()
    app = web.Application()
    app.router.add_post("/v1/chat", scripted.answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    scripted.url = f"http://{host}:{port}/v1/chat"
    yield scripted
    await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[Upstream]:
    upstream = Upstream(connect_timeout=5, read_timeout=20, user_agent="argo-proxy/test", retries=2)
    yield upstream
    await upstream.aclose()


async def test_a_call_and_its_answer_are_told_to_the_observer(
    server: Server, client: Upstream
) -> None:
    seen = Seen()
    body = json.dumps({"q": 1}).encode()
    reply = await client.post(server.url, body, {"X-Test": "yes"}, observer=seen)
    assert reply.status == 200 and reply.json() == {"echo": {"q": 1}, "agent": "argo-proxy/test"}
    assert seen.names() == ["sending", "answered", "received"]
    ((url, headers, sent),) = seen.args("sending")
    assert (url, sent, headers["X-Test"], headers["User-Agent"]) == (
        server.url,
        body,
        "yes",
        "argo-proxy/test",
    )
    assert seen.args("answered") == [(200, "application/json; charset=utf-8")]
    assert seen.args("received") == [(reply.body,)]


async def test_a_503_is_retried_and_each_retry_is_told(server: Server, client: Upstream) -> None:
    server.statuses = [503]
    seen = Seen()
    reply = await client.post(server.url, b"{}", {}, timeout=30, observer=seen)
    assert reply.status == 200 and reply.retries == 1 and server.calls == 2
    assert seen.names() == ["sending", "retried", "answered", "received"]


async def test_retries_stop_at_the_configured_number(server: Server, client: Upstream) -> None:
    server.statuses = [503, 503, 503, 503]
    seen = Seen()
    reply = await client.post(server.url, b"{}", {}, timeout=30, observer=seen)
    assert reply.status == 503 and server.calls == 3  # the call and two retries
    assert seen.names().count("retried") == 2


async def test_a_stream_is_told_chunk_by_chunk(server: Server, client: Upstream) -> None:
    seen = Seen()
    body = json.dumps({"stream": True}).encode()
    async with client.stream(server.url, body, {}, observer=seen) as stream:
        assert stream.status == 200 and stream.content_type == "text/event-stream"
        chunks = [chunk async for chunk in stream.chunks()]
    assert b"".join(chunks) == b"data: one\n\ndata: two\n\n"
    assert seen.names()[:2] == ["sending", "answered"]
    assert b"".join(args[0] for args in seen.args("received")) == b"".join(chunks)


async def test_a_refused_connection_is_an_error_in_our_words() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    upstream = Upstream(connect_timeout=5, read_timeout=5, user_agent="t", retries=0)
    try:
        with pytest.raises(UpstreamError) as raised:
            await upstream.post(f"http://127.0.0.1:{port}/v1/chat", b"{}", {})
    finally:
        await upstream.aclose()
    assert raised.value.status == 502
    assert str(raised.value).startswith(f"Cannot reach ARGO at http://127.0.0.1:{port}/v1/chat")
