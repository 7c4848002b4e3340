"""Fault injection in the simulated ARGO: markers, the admin queue, and each fault kind."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from argo_proxy.daemon.serving import bind_socket, start_server
from argo_proxy.daemon.simulator import SimulatorSettings, create_simulator_app


@dataclass
class Sim:
    url: str
    http: httpx.AsyncClient

    async def inject(self, *rules: dict[str, Any]) -> httpx.Response:
        return await self.http.post(f"{self.url}/__sim/faults", json={"rules": list(rules)})

    async def chat(self, text: str, **extra: Any) -> httpx.Response:
        body = {"model": "gpt4o", "messages": [{"role": "user", "content": text}], **extra}
        return await self.http.post(
            f"{self.url}/v1/chat/completions", json=body, headers={"authorization": "Bearer jdoe"}
        )

    async def messages(self, text: str, **extra: Any) -> httpx.Response:
        body = {
            "model": "claudeopus46",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": text}],
            **extra,
        }
        return await self.http.post(
            f"{self.url}/v1/messages", json=body, headers={"x-api-key": "jdoe"}
        )


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    server = await start_server(
        create_simulator_app(SimulatorSettings()), bind_socket("127.0.0.1", 0)
    )
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            yield Sim(server.url, http)
    finally:
        await server.stop(0.5)


def data_lines(text: str) -> list[str]:
    return [line[6:] for line in text.split("\n") if line.startswith("data: ")]


async def collect(sim: Sim, method: str, path: str, body: dict[str, Any]) -> tuple[bytes, str]:
    """Read a stream until the server closes it; return (bytes, the error that ended it)."""
    received = b""
    ending = ""
    try:
        async with sim.http.stream(
            method, f"{sim.url}{path}", json=body, headers={"authorization": "Bearer jdoe"}
        ) as response:
            async for piece in response.aiter_raw():
                received += piece
    except httpx.RemoteProtocolError as exc:
        ending = str(exc)
    return received, ending


async def first_raw_piece(sim: Sim, path: str, body: dict[str, Any], who: str) -> bytes:
    async with sim.http.stream(
        "POST", f"{sim.url}{path}", json=body, headers={"authorization": f"Bearer {who}"}
    ) as response:
        async for piece in response.aiter_raw():
            return piece
    return b""


STREAM = {"stream": True, "stream_options": {"include_usage": True}}


# --- the admin queue --------------------------------------------------------------------


async def test_admin_rules_are_consumed_in_order(sim: Sim) -> None:
    queued = await sim.inject({"fault": "status", "code": 503}, {"fault": "status", "code": 429})
    assert queued.json()["queued"] == 2
    assert [
        r["code"] for r in (await sim.http.get(f"{sim.url}/__sim/faults")).json()["pending"]
    ] == [503, 429]
    assert (await sim.chat("a")).status_code == 503
    assert (await sim.chat("b")).status_code == 429
    assert (await sim.chat("c")).status_code == 200
    assert (await sim.http.get(f"{sim.url}/__sim/faults")).json()["pending"] == []


async def test_admin_rule_filters(sim: Sim) -> None:
    await sim.inject(
        {"fault": "status", "code": 500, "times": 2, "path": "/v1/messages"},
        {"fault": "status", "code": 502, "model": "gemini25pro"},
        {"fault": "no_done", "stream": True},
    )
    assert (await sim.chat("not for chat")).status_code == 200
    assert (await sim.messages("one")).status_code == 500
    assert (await sim.messages("two")).status_code == 500
    assert (await sim.messages("three")).status_code == 200
    gemini = await sim.http.post(
        f"{sim.url}/v1/chat/completions",
        json={"model": "gemini25pro", "user": "u", "messages": [{"role": "user", "content": "x"}]},
    )
    assert gemini.status_code == 502
    plain = await sim.chat("no stream: the stream-only rule waits")
    assert plain.status_code == 200
    streamed = await sim.chat("stream", **STREAM)
    assert data_lines(streamed.text)[-1] != "[DONE]"


async def test_admin_rejects_bad_rules_and_reset_clears(sim: Sim) -> None:
    bad = await sim.inject({"fault": "explode"})
    assert bad.status_code == 400 and "unknown fault" in bad.json()["error"]
    assert (await sim.inject({"fault": "status", "code": 299})).status_code == 400
    assert (await sim.inject({"fault": "cut", "times": 0})).status_code == 400
    await sim.inject({"fault": "status", "code": 500, "times": -1})
    assert (await sim.chat("a")).status_code == 500
    assert (await sim.chat("b")).status_code == 500
    await sim.http.post(f"{sim.url}/__sim/reset")
    assert (await sim.chat("c")).status_code == 200


async def test_probability_zero_never_fires(sim: Sim) -> None:
    await sim.inject({"fault": "status", "code": 500, "probability": 0.0})
    assert all([(await sim.chat(str(i))).status_code == 200 for i in range(5)])


# --- status-like faults -----------------------------------------------------------------


async def test_status_fault_envelopes(sim: Sim) -> None:
    chat = await sim.chat("[[sim:fault=status,code=429,retry_after=7]]")
    assert chat.status_code == 429 and chat.headers["retry-after"] == "7"
    error = chat.json()["error"]
    assert error["type"] == "RateLimitError" and error["code"] == "internal_error"
    assert error["message"].startswith("Error code: 429 - {'error': {")
    anthropic = await sim.messages("[[sim:fault=status,code=529]]")
    assert anthropic.status_code == 529
    assert anthropic.json()["type"] == "error"
    assert anthropic.json()["error"]["type"] == "overloaded_error"
    html = await sim.chat("[[sim:fault=status,code=502]]")
    assert html.status_code == 502 and html.headers["content-type"].startswith("text/html")
    assert "<center>nginx</center>" in html.text
    unprocessable = await sim.chat("[[sim:fault=status,code=422]]")
    assert unprocessable.status_code == 422 and "detail" in unprocessable.json()
    custom = await sim.chat("[[sim:fault=status,code=400,message=bad%2C%20very]]")
    assert "bad, very" in custom.json()["error"]["message"]


RATE_LIMIT_HEADERS = [
    f"x-ratelimit-{what}-{unit}"
    for unit in ("requests", "tokens")
    for what in ("limit", "remaining", "reset")
]


def rate_limits(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("x-ratelimit-")}


async def test_429_rate_limit_headers_only_when_asked(sim: Sim) -> None:
    plain = await sim.chat("[[sim:fault=status,code=429]]")
    assert plain.status_code == 429
    assert rate_limits(plain) == {} and "retry-after" not in plain.headers
    # The reset follows retry_after unless ratelimit_reset says otherwise.
    asked = await sim.chat("[[sim:fault=status,code=429,retry_after=2,ratelimit=60]]")
    assert asked.status_code == 429 and asked.json()["error"]["type"] == "RateLimitError"
    assert asked.headers["retry-after"] == "2"
    assert rate_limits(asked) == {
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "2s",
    }


@pytest.mark.parametrize(
    ("reset", "shown"),
    [(None, "1s"), (0.02, "20ms"), (1.5, "1.5s"), (360, "6m0s"), (3723, "1h2m3s")],
)
async def test_rate_limit_headers_from_the_admin_api(
    sim: Sim, reset: float | None, shown: str
) -> None:
    rule: dict[str, Any] = {"fault": "status", "code": 429, "path": "/v1/messages"}
    rule |= {"ratelimit": 50, "ratelimit_tokens": 80000}
    if reset is not None:
        rule["ratelimit_reset"] = reset
    assert (await sim.inject(rule)).status_code == 200
    limited = await sim.messages("x", stream=True)
    assert limited.status_code == 429
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert list(rate_limits(limited)) == RATE_LIMIT_HEADERS
    assert limited.headers["x-ratelimit-limit-requests"] == "50"
    assert limited.headers["x-ratelimit-limit-tokens"] == "80000"
    assert limited.headers["x-ratelimit-remaining-tokens"] == "0"
    assert limited.headers["x-ratelimit-reset-requests"] == shown
    assert limited.headers["x-ratelimit-reset-tokens"] == shown
    assert rate_limits(await sim.messages("y")) == {}  # times defaults to 1


async def test_model_lists_get_the_status_headers_too(sim: Sim) -> None:
    await sim.inject(
        {"fault": "status", "code": 429, "retry_after": 3, "ratelimit": 10, "path": "/v1/models"}
    )
    limited = await sim.http.get(f"{sim.url}/v1/models")
    assert limited.status_code == 429 and "detail" in limited.json()
    assert limited.headers["retry-after"] == "3"
    assert limited.headers["x-ratelimit-reset-requests"] == "3s"


@pytest.mark.parametrize(
    "bad",
    [
        {"ratelimit": 0},
        {"ratelimit": "60"},
        {"ratelimit": True},
        {"ratelimit_tokens": -5},
        {"ratelimit_reset": -1},
        {"ratelimit_reset": "1s"},
    ],
)
async def test_bad_rate_limit_parameters_are_refused(sim: Sim, bad: dict[str, Any]) -> None:
    refused = await sim.inject({"fault": "status", "code": 429, **bad})
    assert refused.status_code == 400 and "status fault" in refused.json()["error"]
    assert (await sim.http.get(f"{sim.url}/__sim/faults")).json()["pending"] == []


async def test_status_times_n_fails_the_first_n_then_succeeds(sim: Sim) -> None:
    queued = await sim.inject({"fault": "status", "code": 503, "times": 3})
    assert queued.json()["pending"][0]["times"] == 3
    # Streamed or not, each request uses one of the N.
    assert (await sim.chat("1")).status_code == 503
    assert (await sim.http.get(f"{sim.url}/__sim/faults")).json()["pending"][0]["times"] == 2
    assert (await sim.chat("2", **STREAM)).status_code == 503
    assert (await sim.messages("3")).status_code == 503
    assert (await sim.http.get(f"{sim.url}/__sim/faults")).json()["pending"] == []
    assert (await sim.chat("4")).status_code == 200
    assert data_lines((await sim.chat("5", **STREAM)).text)[-1] == "[DONE]"
    assert (await sim.messages("6")).status_code == 200


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
@pytest.mark.parametrize("endpoint", ["chat", "messages"])
@pytest.mark.parametrize("code", [502, 503, 504])
async def test_gateway_statuses_on_chat_and_messages(
    sim: Sim, code: int, endpoint: str, stream: bool
) -> None:
    await sim.inject({"fault": "status", "code": code})
    extra: dict[str, Any] = {"stream": True} if stream else {}
    send = sim.chat if endpoint == "chat" else sim.messages
    failed = await send("x", **extra)
    assert failed.status_code == code
    if code == 502:  # nginx's page, not ARGO's
        assert failed.headers["content-type"].startswith("text/html")
        assert "<title>502 Bad Gateway</title>" in failed.text
    else:
        # The error comes before any stream starts, in the endpoint's JSON envelope.
        assert failed.headers["content-type"] == "application/json"
        body = failed.json()
        if endpoint == "chat":
            assert body["error"]["type"] == "InternalServerError"
            assert body["error"]["message"].startswith(f"Error code: {code} - {{'error': {{")
        else:
            assert body["type"] == "error"
            expected = "overloaded_error" if code == 503 else "api_error"
            assert body["error"]["type"] == expected
            assert body["error"]["message"].startswith(f"Error code: {code} - {{'type': 'error'")
    assert (await send("y", **extra)).status_code == 200


async def test_streaming_required_fault_spares_streams(sim: Sim) -> None:
    bounced = await sim.messages("[[sim:fault=streaming_required]]")
    assert bounced.status_code == 500
    assert "Streaming is required" in bounced.json()["error"]["message"]
    streamed = await sim.messages("[[sim:fault=streaming_required]]", stream=True)
    assert streamed.status_code == 200


async def test_api_error_200_and_openai_shape(sim: Sim) -> None:
    errored = await sim.messages("[[sim:fault=api_error_200]]")
    assert errored.status_code == 200
    body = errored.json()
    assert body["type"] == "error" and body["error"]["type"] == "api_error"
    assert "'request_id': 'req_vrtx_" in body["error"]["message"]
    shaped = (await sim.messages("hi [[sim:fault=openai_shape]]")).json()
    assert shaped["object"] == "chat.completion"
    assert shaped["choices"][0]["message"]["content"] == "Echo: hi"
    assert "content" not in shaped


async def test_reply_fault_sets_the_text(sim: Sim) -> None:
    body = (await sim.chat("ignored [[sim:fault=reply,text=exactly%20this]]")).json()
    assert body["choices"][0]["message"]["content"] == "exactly this"


async def test_auth_notice_fault_and_its_first_chunk(sim: Sim) -> None:
    body = (await sim.chat("[[sim:fault=auth_notice,variant=2]]")).json()
    assert "not authorized to use the Argo Gateway API" in body["choices"][0]["message"]["content"]
    request = {
        "model": "gpt4o",
        "stream": True,
        "messages": [{"role": "user", "content": "[[sim:fault=auth_notice]]"}],
    }
    first = await first_raw_piece(sim, "/v1/chat/completions", request, "jdoe")
    assert b"AUTHENTICATION NOTICE FROM ARGO" in first
    later = {
        **request,
        "messages": [{"role": "user", "content": "[[sim:fault=auth_notice,later=1]]"}],
    }
    first = await first_raw_piece(sim, "/v1/chat/completions", later, "jdoe")
    assert first.startswith(b"data: ") and b"AUTHENTICATION NOTICE" not in first
    whole = await sim.http.post(
        f"{sim.url}/v1/chat/completions", json=later, headers={"authorization": "Bearer jdoe"}
    )
    assert "AUTHENTICATION NOTICE FROM ARGO" in whole.text


# --- stream-shape faults ----------------------------------------------------------------


async def test_no_usage_no_done_and_no_input_tokens(sim: Sim) -> None:
    data = data_lines((await sim.chat("x [[sim:fault=no_usage]]", **STREAM)).text)
    assert data[-1] == "[DONE]" and all("usage" not in json.loads(d) for d in data[:-1])
    plain = (await sim.chat("x [[sim:fault=no_usage]]")).json()
    assert "usage" not in plain
    data = data_lines((await sim.chat("x [[sim:fault=no_done]]", **STREAM)).text)
    assert data[-1] != "[DONE]" and "usage" in json.loads(data[-1])
    streamed = await sim.messages("x [[sim:fault=no_input_tokens]]", stream=True)
    start = json.loads(data_lines(streamed.text)[0])
    assert start["type"] == "message_start"
    assert "input_tokens" not in start["message"]["usage"]


async def test_cut_closes_without_the_end(sim: Sim) -> None:
    body = {
        "model": "gpt4o",
        "messages": [{"role": "user", "content": "a b c d [[sim:fault=cut,after=3]]"}],
        **STREAM,
    }
    received, ending = await collect(sim, "POST", "/v1/chat/completions", body)
    assert "incomplete chunked read" in ending
    assert received.count(b"data: ") == 3 and b"[DONE]" not in received
    partial = {
        **body,
        "messages": [{"role": "user", "content": "a [[sim:fault=cut,after=2,partial=1]]"}],
    }
    received, ending = await collect(sim, "POST", "/v1/chat/completions", partial)
    assert ending and not received.endswith(b"\n\n")
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        await sim.chat("[[sim:fault=cut]]")
    await sim.inject({"fault": "cut", "path": "/v1/models"})
    with pytest.raises(httpx.RemoteProtocolError):
        await sim.http.get(f"{sim.url}/v1/models")
    assert (await sim.chat("still serving")).status_code == 200


async def test_malformed_event_then_the_rest(sim: Sim) -> None:
    data = data_lines((await sim.chat("a b [[sim:fault=malformed,after=2]]", **STREAM)).text)
    with pytest.raises(json.JSONDecodeError):
        json.loads(data[2])
    json.loads(data[1])
    assert data[-1] == "[DONE]"
    truncated = await sim.chat("a [[sim:fault=malformed]]")
    assert truncated.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        truncated.json()


def chat_text(chunks: list[dict[str, Any]]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices")
    )


@pytest.mark.parametrize("via", ["marker", "admin"])
async def test_malformed_mid_stream_on_a_gpt_chat_stream(sim: Sim, via: str) -> None:
    clean = data_lines((await sim.chat("a b c d", **STREAM)).text)
    if via == "admin":
        rule = {"fault": "malformed", "after": 3, "stream": True, "path": "/v1/chat/completions"}
        await sim.inject(rule)
        faulty = await sim.chat("a b c d", **STREAM)
    else:
        faulty = await sim.chat("a b c d [[sim:fault=malformed,after=3]]", **STREAM)
    assert faulty.status_code == 200
    data = data_lines(faulty.text)
    # Events 0-2 (Azure's preflight chunk is event 0), then half of event 3 ...
    assert json.loads(data[0])["choices"] == []
    with pytest.raises(json.JSONDecodeError):
        json.loads(data[3])
    assert data[4].startswith(data[3]) and len(data[3]) < len(data[4])
    # ... then the rest of the stream, whole: every other event, the text, [DONE].
    rest = data[:3] + data[4:]
    assert len(rest) == len(clean)
    assert rest[-1] == "[DONE]"
    chunks = [json.loads(line) for line in rest[:-1]]
    assert chat_text(chunks) == chat_text([json.loads(line) for line in clean[:-1]])
    assert chat_text(chunks) == "Echo: a b c d"
    assert any(c["choices"] and c["choices"][0]["finish_reason"] == "stop" for c in chunks)
    assert chunks[-1]["usage"]["completion_tokens"] > 0


async def test_stream_error_events(sim: Sim) -> None:
    data = data_lines((await sim.chat("a b c [[sim:fault=stream_error,after=2]]", **STREAM)).text)
    assert len(data) == 3 and data[-1] != "[DONE]"
    assert json.loads(data[2])["error"]["type"] == "overloaded_error"
    streamed = await sim.messages("x [[sim:fault=stream_error,after=1,kind=quota]]", stream=True)
    assert streamed.status_code == 200
    blocks = streamed.text.strip().split("\n\n")
    assert len(blocks) == 2 and blocks[1].startswith("event: error\ndata: ")
    error = json.loads(blocks[1].split("data: ", 1)[1])
    assert error["type"] == "error" and "RESOURCE_EXHAUSTED" in error["error"]["message"]
    plain = await sim.chat("[[sim:fault=stream_error]]")  # not a stream: nothing to break
    assert plain.status_code == 200


async def test_split_writes_cut_inside_a_character(sim: Sim) -> None:
    text = "héllo wörld ☕ done"
    body = {"model": "gpt4o", "messages": [{"role": "user", "content": text}], **STREAM}
    normal = await sim.http.post(
        f"{sim.url}/v1/chat/completions", json=body, headers={"authorization": "Bearer jdoe"}
    )
    split = {**body, "messages": [{"role": "user", "content": text + " [[sim:fault=split]]"}]}
    parts = urlsplit(sim.url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    payload = json.dumps(split).encode()
    writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer jdoe\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload
    )
    data = b""
    while not data.endswith(b"\r\n0\r\n\r\n"):
        data += await asyncio.wait_for(reader.read(65536), 5)
    writer.close()
    await writer.wait_closed()
    rest = data.partition(b"\r\n\r\n")[2]
    chunks = []
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        chunks.append(rest[:size])
        rest = rest[size + 2 :]
    assert len(chunks) > 50 and max(len(c) for c in chunks) <= 9
    joined = b"".join(chunks)
    assert joined.replace(b"'", b"") and b"[DONE]" in joined
    assert any(not _decodes(c) for c in chunks)
    # Same events as an unsplit stream (ids differ: the request differs).
    contents = [
        json.loads(d)["choices"][0]["delta"].get("content")
        for d in data_lines(joined.decode())[2:-3]
    ]
    normal_contents = [
        json.loads(d)["choices"][0]["delta"].get("content") for d in data_lines(normal.text)[2:-3]
    ]
    assert "".join(contents) == "".join(normal_contents) == "Echo: " + text


def _decodes(chunk: bytes) -> bool:
    try:
        chunk.decode()
    except UnicodeDecodeError:
        return False
    return True


# --- timing faults (lower bounds only: sleeps never end early) --------------------------


async def test_latency_before_first_byte_and_between_chunks(sim: Sim) -> None:
    started = time.monotonic()
    assert (await sim.chat("[[sim:fault=latency,ms=200]]")).status_code == 200
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    streamed = await sim.chat("a b c d [[sim:fault=latency,chunk_ms=50]]", **STREAM)
    assert data_lines(streamed.text)[-1] == "[DONE]"
    assert time.monotonic() - started >= 0.05 * 8  # 9 events, 8 gaps


async def test_hang_until_the_client_gives_up(sim: Sim) -> None:
    with pytest.raises(httpx.ReadTimeout):
        await sim.http.post(
            f"{sim.url}/v1/chat/completions",
            json={
                "model": "gpt4o",
                "user": "u",
                "messages": [{"role": "user", "content": "[[sim:fault=hang]]"}],
            },
            timeout=0.3,
        )
    assert (await sim.chat("next one is fine")).status_code == 200


async def test_leak_tools_for_claude_on_chat(sim: Sim) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "lookup",
            "parameters": {
                "type": "object",
                "properties": {"q": {"type": "string"}},
                "required": ["q"],
            },
        },
    }
    body = (
        await sim.http.post(
            f"{sim.url}/v1/chat/completions",
            json={
                "model": "claudeopus46",
                "max_tokens": 100,
                "user": "u",
                "tools": [tool],
                "messages": [{"role": "user", "content": "lookup [[sim:fault=leak_tools]]"}],
            },
        )
    ).json()
    message = body["choices"][0]["message"]
    assert message["tool_calls"] is None
    assert message["content"].startswith("{'id': 'toolu_vrtx_01")
    assert "'name': 'lookup', 'type': 'tool_use'" in message["content"]


# --- model-list faults ------------------------------------------------------------------


async def test_model_list_faults(sim: Sim) -> None:
    await sim.inject(
        {"fault": "invalid_json", "path": "/v1/models"},
        {"fault": "empty", "path": "/v1/models"},
        {"fault": "old_format", "path": "/v1/models"},
        {"fault": "bad_claude_name", "path": "/v1/models"},
        {"fault": "status", "code": 503, "path": "/v1/models"},
    )
    url = f"{sim.url}/v1/models"
    with pytest.raises(json.JSONDecodeError):
        (await sim.http.get(url)).json()
    assert (await sim.http.get(url)).json()["data"] == []
    old = (await sim.http.get(url)).json()["data"]
    assert {"id": "gpt4o", "model_name": "GPT-4o"} in old
    names = [e["id"] for e in (await sim.http.get(url)).json()["data"]]
    assert any(n.startswith("Claude") and len(n.replace(" ", "-").split("-")) < 3 for n in names)
    failed = await sim.http.get(url)
    assert failed.status_code == 503 and "detail" in failed.json()
    assert len((await sim.http.get(url)).json()["data"]) > 20


async def test_embeddings_take_markers_too(sim: Sim) -> None:
    response = await sim.http.post(
        f"{sim.url}/v1/embeddings",
        json={"model": "v3small", "user": "u", "input": "x [[sim:fault=status,code=500]]"},
    )
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "InternalServerError"


async def test_refuse_stream_tools_waits_for_a_streamed_request_with_tools(sim: Sim) -> None:
    await sim.inject({"fault": "refuse_stream_tools"})
    tool = {"name": "lookup", "input_schema": {"type": "object", "properties": {}}}
    assert (await sim.messages("no tools", stream=True)).status_code == 200
    assert (await sim.messages("tools, not streamed", tools=[tool])).status_code == 200
    refused = await sim.messages("lookup", stream=True, tools=[tool])
    assert refused.status_code == 400
    assert "not supported in streaming mode" in refused.json()["error"]["message"]
    assert (await sim.messages("lookup", stream=True, tools=[tool])).status_code == 200


async def test_a_marker_with_a_model_fails_that_model_only(sim: Sim) -> None:
    text = "hello [[sim:fault=status,code=503,model=claudeopus46]]"
    assert (await sim.messages(text)).status_code == 503
    assert (await sim.chat(text)).status_code == 200  # gpt4o: the same prompt is answered
    other = await sim.messages(text, model="claudesonnet46")
    assert other.status_code == 200
    assert "model" not in json.dumps(other.json()["content"])  # the marker is stripped
