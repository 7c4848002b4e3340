"""The web layer (daemon/web.py, with app.py's endpoint table) in process: the daemon's
app on a loopback socket, its upstream client a scripted one; a JSON answer, an error
in the client's format, a stream written as it comes, and a stop that cuts a stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from argo_proxy.daemon.app import create_app
from argo_proxy.daemon.config import Config
from argo_proxy.daemon.metrics import DaemonMetrics
from argo_proxy.daemon.records import INTERRUPTED
from argo_proxy.daemon.serving import RunningServer, bind_socket, start_server
from argo_proxy.daemon.state import DaemonState
from argo_proxy.daemon.upstream import UpstreamReply

from .test_legacy import BASE

COMPLETION = {
    "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1},
}  # fmt: skip


class Held:
    """A stream from ARGO that sends one chunk, then holds until released."""

    status = 200
    content_type = "text/event-stream"
    url = f"{BASE}/v1/chat/completions"
    headers: Mapping[str, str] = {}

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.first_sent = asyncio.Event()

    async def chunks(self) -> AsyncIterator[bytes]:
        event = {**COMPLETION, "object": "chat.completion.chunk",
                 "choices": [{"index": 0, "delta": {"content": "Hel" * 30}}]}  # fmt: skip
        event.pop("usage")
        yield f"data: {json.dumps(event)}\n\n".encode()
        self.first_sent.set()
        await self.release.wait()
        yield b"data: [DONE]\n\n"


class Scripted:
    """The upstream client: a JSON completion, or the held stream."""

    def __init__(self) -> None:
        self.held = Held()

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], **_: Any
    ) -> UpstreamReply:
        return UpstreamReply(url, 200, "application/json", json.dumps(COMPLETION).encode())

    @asynccontextmanager
    async def stream(
        self, url: str, body: bytes, headers: Mapping[str, str], **_: Any
    ) -> AsyncIterator[Held]:
        yield self.held


@pytest.fixture
async def daemon() -> AsyncIterator[tuple[RunningServer, DaemonState, Scripted]]:
    upstream = Scripted()
    state = DaemonState(Config(user="jdoe", argo_base_url=BASE, auth="none"), upstream=upstream)  # type: ignore[arg-type]
    server = await start_server(
        create_app(state, DaemonMetrics(state)), bind_socket("127.0.0.1", 0)
    )
    try:
        yield server, state, upstream
    finally:
        await server.stop(grace=1)


async def last_record(state: DaemonState) -> Any:
    """The newest record, once the request path has handed it on (after the last byte)."""
    async with asyncio.timeout(30):
        while not state.requests.recent(1):
            await asyncio.sleep(0.01)
    return state.requests.recent(1)[0]


async def test_a_json_answer_and_an_error_in_the_clients_format(
    daemon: tuple[RunningServer, DaemonState, Scripted],
) -> None:
    server, state, _ = daemon
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(base_url=server.url) as http:
        ok = await http.post("/v1/chat/completions", json=body)
        refused = await http.post("/v1/messages", json={"max_tokens": 5, "messages": []})
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"] == "hello"
    assert ok.json()["model"] == "gpt-4o"
    assert refused.status_code == 400
    assert refused.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "Missing 'model' field."},
    }
    ok_record, refused_record = state.requests.recent(2)[::-1]
    assert (ok_record.status, ok_record.input_tokens, ok_record.argo_model) == (200, 3, "gpt4o")
    assert refused_record.status == 400 and refused_record.error is not None


async def test_a_stream_cut_by_a_stop_ends_with_the_clients_error_event(
    daemon: tuple[RunningServer, DaemonState, Scripted],
) -> None:
    server, state, upstream = daemon
    body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        async with http.stream("POST", "/v1/chat/completions", json=body) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            chunks = response.aiter_bytes()
            first = await chunks.__anext__()
            assert b"HelHel" in first  # written as it came, before the stream ended
            await upstream.held.first_sent.wait()
            assert server.app.ctx.inflight.cut("the daemon is stopping; send it again") == 1
            rest = b"".join([chunk async for chunk in chunks])
    assert b"the daemon is stopping; send it again" in rest
    assert b"[DONE]" not in rest
    record = await last_record(state)
    assert record.status == 503 and record.error is not None
    assert record.error["type"] == INTERRUPTED and record.ttft_ms is not None
