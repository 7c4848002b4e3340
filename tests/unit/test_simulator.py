"""The simulated ARGO's endpoints, driven over real HTTP (docs/simulator.md, docs/argo.md)."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import math
import signal
import struct
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from argo_proxy.daemon.serving import bind_socket, start_server
from argo_proxy.daemon.simulator import SimulatorSettings, create_simulator_app, run_simulator

PREFIX = "/argoapi"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "metric": {"type": "boolean"},
                "tags": {"type": "array"},
                "extra": {"type": "object"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "optional": {"type": "string"},
            },
            "required": ["city", "days", "metric", "tags", "extra", "unit"],
        },
    },
}
CLOCK = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}
ANTHROPIC_WEATHER = {"name": "get_weather", "input_schema": WEATHER["function"]["parameters"]}


@dataclass
class Sim:
    base: str  # argo_base_url (prefix included)
    root: str  # scheme://host:port
    http: httpx.AsyncClient


async def _running(settings: SimulatorSettings) -> AsyncIterator[Sim]:
    server = await start_server(create_simulator_app(settings), bind_socket("127.0.0.1", 0))
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            yield Sim(server.url + settings.prefix, server.url, http)
    finally:
        await server.stop(0.5)


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    async for running in _running(SimulatorSettings(prefix=PREFIX)):
        yield running


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


async def chat(sim: Sim, body: dict[str, Any], who: str | None = "jdoe") -> httpx.Response:
    headers = {"authorization": f"Bearer {who}"} if who else {}
    return await sim.http.post(f"{sim.base}/v1/chat/completions", json=body, headers=headers)


async def messages(sim: Sim, body: dict[str, Any], who: str = "jdoe") -> httpx.Response:
    headers = {"x-api-key": who, "anthropic-version": "2023-06-01"}
    return await sim.http.post(f"{sim.base}/v1/messages", json=body, headers=headers)


def sse_data(text: str) -> list[str]:
    """The `data:` payloads of an SSE body, in order."""
    return [line[6:] for line in text.split("\n") if line.startswith("data: ")]


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data JSON) pairs of an Anthropic SSE body."""
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((lines["event"], json.loads(lines["data"])))
    return out


async def raw_chunks(
    root: str, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[bytes, list[bytes]]:
    """POST over a bare socket; return the response head and its chunked-body chunks."""
    parts = urlsplit(root)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    payload = json.dumps(body).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: sim",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
    ]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
    data = b""
    while not data.endswith(b"\r\n0\r\n\r\n"):
        more = await asyncio.wait_for(reader.read(65536), 5)
        if not more:
            break
        data += more
    writer.close()
    await writer.wait_closed()
    head, _, rest = data.partition(b"\r\n\r\n")
    chunks = []
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        chunks.append(rest[:size])
        rest = rest[size + 2 :]
    return head, chunks


# --- running the server -----------------------------------------------------------------


async def test_run_simulator_reports_the_real_url_and_stops_when_cancelled() -> None:
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(
        run_simulator("127.0.0.1", 0, SimulatorSettings(prefix=PREFIX), on_ready=ready.set_result)
    )
    url = await asyncio.wait_for(ready, 5)
    assert url.startswith("http://127.0.0.1:") and url.endswith(PREFIX)
    assert urlsplit(url).port not in (None, 0, 8000)
    async with httpx.AsyncClient() as http:
        listed = await http.get(f"{url}/v1/models")
        assert listed.status_code == 200
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(httpx.ConnectError):
            await http.get(f"{url}/v1/models")


# --- model list -------------------------------------------------------------------------


async def test_model_list_shape_needs_no_credentials(sim: Sim) -> None:
    listed = await sim.http.get(f"{sim.base}/v1/models")
    assert listed.status_code == 200
    body = listed.json()
    assert body["object"] == "list"
    data = body["data"]
    assert data[0]["internal_id"] == "gpt4olatest"  # retired but listed, first
    by_id = {entry["internal_id"]: entry for entry in data}
    assert by_id["claudeopus46"]["id"] == "Claude Opus 4.6"
    assert by_id["claudeopus46"]["owned_by"] == "anthropic"
    assert by_id["gpto3mini"]["id"] == "o3-mini"
    assert by_id["gemini31flashlite"]["id"] == "Gemini 3.1 Flash Lite"
    assert by_id["v3small"]["id"] == "Text Embedding 3 Small"
    assert by_id["ada002"]["id"] == "Text Embedding Ada 002"
    assert {"gpt5", "gpt55", "gpto1", "claudehaiku45", "gemini25pro", "v3large"} <= by_id.keys()
    assert all({"id", "internal_id", "owned_by", "object", "created"} <= e.keys() for e in data)
    legacy = await sim.http.get(f"{sim.base}/api/v1/models/")
    assert legacy.json() == body


# --- chat completions -------------------------------------------------------------------


async def test_chat_gpt_body_is_azure_shaped_and_deterministic(sim: Sim) -> None:
    request = {"model": "gpt4o", "messages": user("hello world"), "user": "jdoe"}
    first = await chat(sim, request)
    assert first.status_code == 200
    body = first.json()
    assert body["id"].startswith("chatcmpl-")
    assert body["model"] == "gpt-4o-2024-11-20"
    assert body["object"] == "chat.completion"
    assert body["created"] == 1760000000
    choice = body["choices"][0]
    assert choice["message"]["content"] == "Echo: hello world"
    assert choice["message"]["role"] == "assistant"
    assert choice["finish_reason"] == "stop"
    assert choice["content_filter_results"]["hate"] == {"filtered": False, "severity": "safe"}
    usage = body["usage"]
    assert usage["completion_tokens"] == 4  # Echo : hello world
    assert usage["total_tokens"] == usage["prompt_tokens"] + 4
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 0
    assert usage["prompt_tokens_details"] == {"audio_tokens": 0, "cached_tokens": 0}
    again = await chat(sim, request)
    assert again.content == first.content
    other = await chat(sim, {**request, "messages": user("something else")})
    assert other.json()["id"] != body["id"]


async def test_chat_accepts_display_id_and_refuses_vendor_and_retired_names(sim: Sim) -> None:
    ok = await chat(sim, {"model": "GPT-4o", "messages": user("hi")})
    assert ok.status_code == 200
    for name in ("gpt-4o", "claude-opus-4-6", "gpt4olatest", "nonsense", "v3small"):
        refused = await chat(sim, {"model": name, "messages": user("hi")})
        assert refused.status_code == 400, name
        error = refused.json()["error"]
        assert error["code"] == "model_not_found"
        assert "gpt4o" in error["message"] and name in error["message"]


async def test_chat_identity_rules(sim: Sim) -> None:
    body = {"model": "gpt41nano", "messages": user("hi")}
    assert (await chat(sim, body, who=None)).status_code == 500
    api_key_only = await sim.http.post(
        f"{sim.base}/v1/chat/completions", json=body, headers={"x-api-key": "jdoe"}
    )
    assert api_key_only.status_code == 500  # observed 2026-06 (docs/argo.md#identity)
    assert (await chat(sim, {**body, "user": "jdoe"}, who=None)).status_code == 200


async def test_chat_gemini_body_is_thin(sim: Sim) -> None:
    body = (await chat(sim, {"model": "gemini25pro", "messages": user("ping")})).json()
    assert set(body) == {"id", "object", "created", "model", "choices", "usage"}
    assert len(body["id"]) == 23 and not body["id"].startswith("chatcmpl")
    assert body["model"] == "gemini25pro"
    assert body["usage"] == {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}
    assert body["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Echo: ping",
        "tool_calls": None,
    }


async def test_chat_stream_gpt_preflight_usage_and_done(sim: Sim) -> None:
    request = {
        "model": "gpt41nano",
        "messages": user("one two three"),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    response = await chat(sim, request)
    assert response.headers["content-type"].startswith("text/event-stream")
    data = sse_data(response.text)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    preflight = chunks[0]
    assert preflight["choices"] == [] and preflight["id"] == "" and preflight["model"] == ""
    assert "prompt_filter_results" in preflight
    assert chunks[1]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[1]["model"] == "gpt-4.1-nano-2025-04-14"
    texts = [c["choices"][0]["delta"]["content"] for c in chunks[2:-2]]
    assert texts == ["Echo:", " one", " two", " three"]
    assert chunks[-2]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 5
    without = sse_data((await chat(sim, {**request, "stream_options": None})).text)
    assert without[-1] == "[DONE]"
    assert all("usage" not in json.loads(d) for d in without[:-1])


async def test_chat_stream_gemini_has_no_preflight(sim: Sim) -> None:
    response = await chat(sim, {"model": "gemini25flash", "messages": user("x"), "stream": True})
    chunks = [json.loads(d) for d in sse_data(response.text)[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[0]["model"] == "gemini25flash"


async def test_deltas_marker_gives_exactly_n_deltas_and_pads(sim: Sim) -> None:
    request = {"model": "gpt4o", "messages": user("short [[sim:deltas=6]]"), "stream": True}
    chunks = [json.loads(d) for d in sse_data((await chat(sim, request)).text)[1:-1]]
    texts = [c["choices"][0]["delta"]["content"] for c in chunks[1:-1]]
    assert len(texts) == 6
    assert "".join(texts).startswith("Echo: short ")
    plain = (await chat(sim, {**request, "stream": False})).json()
    assert plain["choices"][0]["message"]["content"] == "".join(texts)
    long_text = " ".join(f"w{i}" for i in range(20))
    grouped = await chat(sim, {**request, "messages": user(long_text + " [[sim:deltas=3]]")})
    chunks = [json.loads(d) for d in sse_data(grouped.text)[1:-1]]
    texts = [c["choices"][0]["delta"]["content"] for c in chunks[1:-1]]
    assert len(texts) == 3 and "".join(texts) == "Echo: " + long_text


async def test_chat_token_limits(sim: Sim) -> None:
    cut = (await chat(sim, {"model": "gpt4o", "messages": user("a b c d"), "max_tokens": 2})).json()
    assert cut["choices"][0]["message"]["content"] == "Echo:"
    assert cut["choices"][0]["finish_reason"] == "length"
    # A reasoning model with a small budget spends it all on reasoning.
    small = {"model": "gpt5", "messages": user("ping"), "max_completion_tokens": 64}
    body = (await chat(sim, small)).json()
    assert body["choices"][0]["message"]["content"] == ""
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 64
    assert body["choices"][0]["content_filter_results"] == {}


# --- tool calls -------------------------------------------------------------------------


async def test_chat_tool_call_non_stream_from_schema(sim: Sim) -> None:
    request = {
        "model": "gpt4o",
        "messages": user("use get_weather for Paris"),
        "tools": [CLOCK, WEATHER],
    }
    body = (await chat(sim, request)).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["id"].startswith("call_") and call["type"] == "function"
    assert call["function"]["name"] == "get_weather"  # named in the user text
    assert json.loads(call["function"]["arguments"]) == {
        "city": "use get_weather for Paris",
        "days": 1,
        "metric": True,
        "tags": [],
        "extra": {},
        "unit": "celsius",
    }
    forced = {**request, "tool_choice": {"type": "function", "function": {"name": "get_time"}}}
    (call,) = (await chat(sim, forced)).json()["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "get_time" and call["function"]["arguments"] == "{}"
    unasked = {**request, "messages": user("what now?")}  # no tool named: plain text
    message = (await chat(sim, unasked)).json()["choices"][0]["message"]
    assert message["tool_calls"] is None and message["content"] == "Echo: what now?"
    required = {**unasked, "tool_choice": "required"}  # a tool must come: the first one
    (call,) = (await chat(sim, required)).json()["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "get_time"
    none = {**request, "tool_choice": "none"}
    assert (await chat(sim, none)).json()["choices"][0]["message"]["tool_calls"] is None


async def test_chat_two_parallel_tool_calls_by_marker(sim: Sim) -> None:
    request = {
        "model": "gpt41",
        "messages": user("get_weather [[sim:tools=2]]"),
        "tools": [WEATHER],
    }
    calls = (await chat(sim, request)).json()["choices"][0]["message"]["tool_calls"]
    assert len(calls) == 2
    assert calls[0]["id"] != calls[1]["id"]
    assert {c["function"]["name"] for c in calls} == {"get_weather"}
    gemini = (await chat(sim, {**request, "model": "gemini25pro"})).json()
    assert [c["id"] for c in gemini["choices"][0]["message"]["tool_calls"]] == ["call_0", "call_1"]


async def test_chat_tool_call_stream(sim: Sim) -> None:
    request = {
        "model": "gpt4o",
        "messages": user("get_weather [[sim:tools=2]]"),
        "tools": [WEATHER, CLOCK],
        "stream": True,
    }
    chunks = [json.loads(d) for d in sse_data((await chat(sim, request)).text)[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks[1:] if c["choices"]]
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    openings = [c for c in calls if "id" in c]
    assert [(o["index"], o["function"]["name"], o["function"]["arguments"]) for o in openings] == [
        (0, "get_weather", ""),
        (1, "get_time", ""),
    ]
    assert all(o["type"] == "function" for o in openings)
    pieces = [c["function"]["arguments"] for c in calls if "id" not in c and c["index"] == 0]
    assert len(pieces) >= 2
    assert json.loads("".join(pieces))["city"] == "get_weather"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


async def test_tool_result_turn_gets_text(sim: Sim) -> None:
    history = [
        *user("weather?"),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": "22 C and sunny"},
    ]
    body = (await chat(sim, {"model": "gpt4o", "messages": history, "tools": [WEATHER]})).json()
    assert body["choices"][0]["message"]["content"] == "Tool result received: 22 C and sunny"
    assert body["choices"][0]["finish_reason"] == "stop"


# --- chat validation --------------------------------------------------------------------


async def test_chat_validation_mirrors_argo(sim: Sim) -> None:
    developer = [{"role": "developer", "content": "be terse"}, *user("hi")]
    refused = await chat(sim, {"model": "gpt4o", "messages": developer})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert "Unknown parameter: 'messages[0].tool_calls'" in error["message"]
    assert error["type"] == "BadRequestError" and error["code"] == "internal_error"
    call = {"id": "call_x", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    orphan = [*user("hi"), {"role": "assistant", "content": None, "tool_calls": [call]}, *user("?")]
    refused = await chat(sim, {"model": "gpt4o", "messages": orphan})
    assert refused.status_code == 400 and "call_x" in refused.json()["error"]["message"]
    stray = [*user("hi"), {"role": "tool", "tool_call_id": "call_y", "content": "r"}]
    assert (await chat(sim, {"model": "gpt4o", "messages": stray})).status_code == 400
    second = {**call, "id": "call_z"}
    parallel = [
        *user("hi"),
        {"role": "assistant", "content": "", "tool_calls": [call, second]},
        {"role": "tool", "tool_call_id": "call_x", "content": "1"},
        {"role": "tool", "tool_call_id": "call_z", "content": "2"},
    ]
    assert (await chat(sim, {"model": "gpt4o", "messages": parallel})).status_code == 200
    refused = await chat(sim, {"model": "gemini25pro", "messages": parallel})
    assert refused.status_code == 500
    assert (
        "400 INVALID_ARGUMENT: Please ensure that the number of function response parts"
        in (refused.json()["error"]["message"])
    )
    nulled = [
        *user("hi"),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_x", "content": "1"},
    ]
    assert (await chat(sim, {"model": "gpt4o", "messages": nulled})).status_code == 200
    crashed = await chat(sim, {"model": "gemini25flash", "messages": nulled})
    assert crashed.status_code == 500
    assert crashed.json()["error"] == {
        "message": "'NoneType' object is not iterable",
        "type": "TypeError",
        "code": "internal_error",
    }


async def test_chat_parameter_policy_for_gpt5(sim: Sim) -> None:
    base = {"model": "gpt5", "messages": user("hi")}
    refused = await chat(sim, {**base, "temperature": 0.5})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["type"] == "BadRequestError" and error["code"] == "internal_error"
    assert error["message"] == (
        "Error code: 400 - {'error': {'message': \"Unsupported value: 'temperature' does not "
        'support 0.5 with this model. Only the default (1) value is supported.", '
        "'type': 'invalid_request_error', 'param': 'temperature', 'code': 'unsupported_value'}}"
    )
    assert (await chat(sim, {**base, "temperature": 1})).status_code == 200
    top_p = await chat(sim, {**base, "model": "gpt5nano", "top_p": 0.9})
    assert (
        top_p.status_code == 400 and "'top_p' is not supported" in top_p.json()["error"]["message"]
    )
    assert (
        await chat(sim, {**base, "model": "gpt4o", "temperature": 0.5, "top_p": 0.5})
    ).is_success


async def test_claude_through_chat_completions(sim: Sim) -> None:
    base = {"model": "claudesonnet45", "messages": user("hi")}
    bounced = await chat(sim, base)  # no max_tokens, not streamed
    assert bounced.status_code == 500
    assert "Streaming is required" in bounced.json()["error"]["message"]
    body = (await chat(sim, {**base, "max_tokens": 1000})).json()
    assert body["choices"][0]["message"]["content"] == "Echo: hi"
    assert body["model"] == "claude-sonnet-4-5-20250929"
    streamed = await chat(sim, {**base, "stream": True})
    assert streamed.status_code == 200 and sse_data(streamed.text)[-1] == "[DONE]"


# --- messages ---------------------------------------------------------------------------


async def test_messages_body_shape(sim: Sim) -> None:
    request = {"model": "claudeopus46", "max_tokens": 100, "messages": user("hello")}
    response = await messages(sim, request)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "content", "model", "role", "stop_reason", "type", "usage"}
    assert body["id"].startswith("msg_vrtx_")
    assert body["model"] == "claude-opus-4-6"
    assert body["content"] == [{"type": "text", "text": "Echo: hello"}]
    assert body["stop_reason"] == "end_turn"
    assert body["usage"]["cache_creation"] == {
        "ephemeral_1h_input_tokens": 0,
        "ephemeral_5m_input_tokens": 0,
    }
    assert body["usage"]["output_tokens"] == 3
    bearer = await sim.http.post(
        f"{sim.base}/v1/messages", json=request, headers={"authorization": "Bearer jdoe"}
    )
    assert bearer.json() == body


async def test_messages_stream_event_sequence(sim: Sim) -> None:
    request = {
        "model": "claudesonnet46",
        "max_tokens": 100,
        "stream": True,
        "system": "be brief",
        "messages": user("a b"),
    }
    events = sse_events((await messages(sim, request)).text)
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == name for name, data in events)
    start = events[0][1]["message"]
    assert start["id"].startswith("msg_vrtx_") and start["model"] == "claude-sonnet-4-6"
    assert start["usage"]["input_tokens"] > 0
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == "Echo: a b"
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"
    assert events[-2][1]["usage"]["output_tokens"] == 4


async def test_messages_tool_use(sim: Sim) -> None:
    request = {
        "model": "claudehaiku45",
        "max_tokens": 200,
        "tools": [ANTHROPIC_WEATHER],
        "messages": user("weather in Oslo [[sim:tools=1]]"),
    }
    body = (await messages(sim, request)).json()
    assert body["stop_reason"] == "tool_use"
    (block,) = body["content"]
    assert block["type"] == "tool_use" and block["id"].startswith("toolu_vrtx_")
    assert block["name"] == "get_weather" and block["input"]["city"] == "weather in Oslo"
    events = sse_events((await messages(sim, {**request, "stream": True})).text)
    opening = next(d for n, d in events if n == "content_block_start")
    assert opening["content_block"]["id"].startswith("toolu_vrtx_")
    assert {k: v for k, v in opening["content_block"].items() if k != "id"} == {
        "type": "tool_use",
        "name": "get_weather",
        "input": {},
    }
    pieces = [d["delta"]["partial_json"] for n, d in events if n == "content_block_delta"]
    assert len(pieces) >= 2 and json.loads("".join(pieces)) == block["input"]
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    result_turn = [
        *request["messages"],
        {"role": "assistant", "content": [block]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": block["id"], "content": "-3 C"}],
        },
    ]
    answer = (await messages(sim, {**request, "messages": result_turn})).json()
    assert answer["content"] == [{"type": "text", "text": "Tool result received: -3 C"}]


async def test_messages_adaptive_thinking(sim: Sim) -> None:
    request = {
        "model": "claudeopus47",
        "max_tokens": 500,
        "thinking": {"type": "adaptive"},
        "messages": user("think"),
    }
    body = (await messages(sim, request)).json()
    thinking, text = body["content"]
    assert thinking["type"] == "thinking" and thinking["thinking"]
    assert len(thinking["signature"]) >= 32
    assert text == {"type": "text", "text": "Echo: think"}
    events = sse_events((await messages(sim, {**request, "stream": True})).text)
    starts = [d["content_block"]["type"] for n, d in events if n == "content_block_start"]
    assert starts == ["thinking", "text"]
    deltas = [d["delta"] for n, d in events if n == "content_block_delta"]
    assert (
        "".join(d["thinking"] for d in deltas if d["type"] == "thinking_delta")
        == thinking["thinking"]
    )
    (signature,) = [d["signature"] for d in deltas if d["type"] == "signature_delta"]
    assert len(signature) >= 32
    plain = (await messages(sim, {**request, "thinking": None})).json()
    assert [b["type"] for b in plain["content"]] == ["text"]


async def test_messages_validation(sim: Sim) -> None:
    base = {"model": "claudeopus46", "max_tokens": 10, "messages": user("hi")}
    wrong = await messages(sim, {**base, "model": "gpt4o"})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["message"] == (
        "Model 'gpt4o' is not supported on the /v1/messages endpoint"
    )
    no_limit = await messages(sim, {k: v for k, v in base.items() if k != "max_tokens"})
    assert no_limit.status_code == 400
    assert no_limit.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens is required"},
    }
    developer = await messages(sim, {**base, "messages": [{"role": "developer", "content": "x"}]})
    assert developer.status_code == 400
    assert 'Unexpected role "developer"' in developer.json()["error"]["message"]
    nulled = await messages(sim, {**base, "messages": [{"role": "user", "content": None}]})
    assert nulled.status_code == 400
    assert "Input should be a valid list" in nulled.json()["error"]["message"]
    use = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
    orphan = [*user("hi"), {"role": "assistant", "content": [use]}, *user("next")]
    refused = await messages(sim, {**base, "messages": orphan})
    assert refused.status_code == 400 and "toolu_1" in refused.json()["error"]["message"]
    assert (await messages(sim, {**base, "model": "claude-opus-4-6"})).status_code == 400


async def test_messages_streaming_required_bounce(sim: Sim) -> None:
    big = {"model": "claudeopus46", "max_tokens": 30000, "messages": user("long")}
    bounced = await messages(sim, big)
    assert bounced.status_code == 500
    error = bounced.json()
    assert error["type"] == "error" and error["error"]["type"] == "api_error"
    assert error["error"]["message"].startswith(
        "Streaming is required for operations that may take longer than 10 minutes"
    )
    assert (await messages(sim, {**big, "stream": True})).status_code == 200
    assert (await messages(sim, {**big, "max_tokens": 21333})).status_code == 200
    opus41 = {**big, "model": "claudeopus41"}
    assert (await messages(sim, {**opus41, "max_tokens": 8193})).status_code == 500
    assert (await messages(sim, {**opus41, "max_tokens": 8192})).status_code == 200


async def test_messages_parameter_policy(sim: Sim) -> None:
    base = {"max_tokens": 2000, "messages": user("hi")}

    async def status(model: str, **extra: Any) -> tuple[int, str]:
        response = await messages(sim, {**base, "model": model, **extra})
        body = response.json()
        return response.status_code, body.get("error", {}).get("message", "")

    code, text = await status("claudeopus47", temperature=0.2)
    assert code == 400 and "`temperature` is deprecated for this model." in text
    assert text.startswith("Error code: 400 - {'type': 'error', 'error': {'type': ")
    assert "'request_id': 'req_vrtx_" in text
    assert (await status("claudeopus47", top_p=0.9))[0] == 400
    assert (await status("claudeopus47", thinking={"type": "enabled", "budget_tokens": 1024}))[
        0
    ] == 400
    assert (await status("claudeopus47", output_config={"effort": "minimal"}))[0] == 400
    assert (await status("claudeopus47", output_config={"effort": "high"}))[0] == 200
    code, text = await status("claudeopus46", temperature=0.2, top_p=0.9)
    assert code == 400 and "cannot both be specified" in text
    assert (await status("claudeopus46", temperature=0.2))[0] == 200
    code, text = await status("claudesonnet45", thinking={"type": "adaptive"})
    assert code == 400 and "Input tag 'adaptive'" in text
    assert (await status("claudeopus46", thinking={"type": "enabled", "budget_tokens": 1024}))[
        0
    ] == 200
    too_big = {"type": "enabled", "budget_tokens": 4096}
    assert (await status("claudeopus46", thinking=too_big))[0] == 400


async def test_later_policy_profile_strips_instead_of_rejecting() -> None:
    async for sim in _running(SimulatorSettings(policy_profile="2026-09")):
        request = {
            "model": "claudeopus47",
            "max_tokens": 10,
            "temperature": 0.3,
            "messages": user("hi"),
        }
        assert (await messages(sim, request)).status_code == 200
        logged = (await sim.http.get(f"{sim.root}/__sim/log")).json()["requests"][-1]
        assert logged["body"]["temperature"] == 0.3  # the log keeps what was sent


# --- embeddings -------------------------------------------------------------------------


async def test_embeddings(sim: Sim) -> None:
    url = f"{sim.base}/v1/embeddings"
    body = (
        await sim.http.post(url, json={"model": "v3small", "input": ["a", "b"], "user": "u"})
    ).json()
    assert body["object"] == "list" and body["model"] == "text-embedding-3-small"
    first, second = (item["embedding"] for item in body["data"])
    assert len(first) == 1536 and first != second
    assert math.isclose(sum(x * x for x in first), 1.0, abs_tol=1e-3)
    assert [item["index"] for item in body["data"]] == [0, 1]
    assert body["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    same = (
        await sim.http.post(
            url, json={"model": "text-embedding-3-small", "input": "a", "user": "u"}
        )
    ).json()
    assert same["data"][0]["embedding"] == first
    large = (await sim.http.post(url, json={"model": "v3large", "input": "a", "user": "u"})).json()
    assert len(large["data"][0]["embedding"]) == 3072
    packed = (
        await sim.http.post(
            url, json={"model": "v3small", "input": "a", "user": "u", "encoding_format": "base64"}
        )
    ).json()
    raw = base64.b64decode(packed["data"][0]["embedding"])
    unpacked = struct.unpack("<1536f", raw)
    assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(unpacked, first, strict=True))
    too_many = await sim.http.post(url, json={"model": "v3small", "input": ["x"] * 17, "user": "u"})
    assert too_many.status_code == 400
    tokens = await sim.http.post(url, json={"model": "v3small", "input": [[1, 2, 3]], "user": "u"})
    assert tokens.status_code == 422
    assert tokens.json()["detail"][0]["msg"] == "Input should be a valid string"
    chat_model = await sim.http.post(url, json={"model": "gpt4o", "input": "a", "user": "u"})
    assert chat_model.status_code == 400


# --- legacy -----------------------------------------------------------------------------


async def test_legacy_chat(sim: Sim) -> None:
    url = f"{sim.base}/api/v1/resource/chat/"
    prompt = {"user": "jdoe", "model": "gpt4o", "system": "You are Argo.", "prompt": ["Name?"]}
    assert (await sim.http.post(url, json=prompt)).json() == {"response": "Echo: Name?"}
    history = {"user": "jdoe", "model": "gpt4o", "messages": user("Hi there")}
    assert (await sim.http.post(url, json=history)).json() == {"response": "Echo: Hi there"}
    mixed = await sim.http.post(url, json={**history, "system": "x"})
    assert mixed.status_code == 200
    assert mixed.json()["response"].startswith("You passed a messages field along with a system")
    missing_user = await sim.http.post(url, json={k: v for k, v in history.items() if k != "user"})
    assert missing_user.status_code == 422


async def test_legacy_chat_tool_calls_in_vendor_shapes(sim: Sim) -> None:
    url = f"{sim.base}/api/v1/resource/chat/"
    base = {"user": "jdoe", "messages": user("get_weather please")}
    gpt = (await sim.http.post(url, json={**base, "model": "gpt4o", "tools": [WEATHER]})).json()
    (call,) = gpt["response"]["tool_calls"]
    assert call["type"] == "function" and call["function"]["name"] == "get_weather"
    claude = (
        await sim.http.post(
            url, json={**base, "model": "claudesonnet45", "tools": [ANTHROPIC_WEATHER]}
        )
    ).json()
    (call,) = claude["response"]["tool_calls"]
    assert call["type"] == "tool_use" and call["id"].startswith("toolu_vrtx_")
    assert call["input"]["city"] == "get_weather please"
    declaration = {"name": "get_weather", "parameters": WEATHER["function"]["parameters"]}
    gemini = (
        await sim.http.post(url, json={**base, "model": "gemini25pro", "tools": [declaration]})
    ).json()
    assert gemini["response"]["tool_calls"][0]["id"] is None
    assert gemini["response"]["tool_calls"][0]["args"]["days"] == 1


async def test_legacy_streamchat_raw_utf8_chunks(sim: Sim) -> None:
    path = f"{PREFIX}/api/v1/resource/streamchat/"
    body = {"user": "jdoe", "model": "gpt4o", "prompt": ["naïve café ☕ ok"]}
    head, chunks = await raw_chunks(sim.root, path, body)
    assert b"content-type: text/plain; charset=utf-8" in head.lower()
    assert b"transfer-encoding: chunked" in head.lower()
    assert len(chunks) >= 4
    assert b"".join(chunks).decode() == "Echo: naïve café ☕ ok"
    undecodable = 0
    for chunk in chunks:
        try:
            chunk.decode()
        except UnicodeDecodeError:
            undecodable += 1
    assert undecodable >= 2  # characters split across chunks
    zipped = await sim.http.post(
        f"{sim.base}/api/v1/resource/streamchat/", json=body, headers={"accept-encoding": "gzip"}
    )
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.text == "Echo: naïve café ☕ ok"
    _, gz_chunks = await raw_chunks(sim.root, path, body, {"Accept-Encoding": "gzip"})
    assert gzip.decompress(b"".join(gz_chunks)).decode() == "Echo: naïve café ☕ ok"
    plain = await sim.http.post(
        f"{sim.base}/api/v1/resource/streamchat/",
        json=body,
        headers={"accept-encoding": "identity"},
    )
    assert "content-encoding" not in plain.headers
    tools = await sim.http.post(
        f"{sim.base}/api/v1/resource/streamchat/", json={**body, "tools": [WEATHER]}
    )
    assert tools.status_code == 200 and "not supported" in tools.text


async def test_legacy_embed(sim: Sim) -> None:
    legacy = await sim.http.post(
        f"{sim.base}/api/v1/resource/embed/",
        json={"user": "jdoe", "model": "v3small", "prompt": ["a", "b"]},
    )
    assert set(legacy.json()) == {"embedding"}
    vectors = legacy.json()["embedding"]
    modern = (
        await sim.http.post(
            f"{sim.base}/v1/embeddings", json={"model": "v3small", "input": ["a", "b"], "user": "u"}
        )
    ).json()
    assert vectors == [item["embedding"] for item in modern["data"]]
    too_many = await sim.http.post(
        f"{sim.base}/api/v1/resource/embed/",
        json={"user": "jdoe", "model": "v3small", "prompt": ["a"] * 17},
    )
    assert too_many.status_code == 400


# --- authentication notice (docs/argo.md#the-authentication-notice) --------------------


async def test_auth_notice_on_every_endpoint(sim: Sim) -> None:
    body = (await chat(sim, {"model": "gpt4o", "messages": user("hi")}, who="sim-denied")).json()
    text = body["choices"][0]["message"]["content"]
    assert "AUTHENTICATION NOTICE FROM ARGO" in text and "'sim-denied'" in text
    assert body["usage"]["total_tokens"] == 0
    stream = await chat(
        sim, {"model": "gpt4o", "messages": user("hi"), "stream": True}, who="sim-unauthorized"
    )
    chunks = [json.loads(d) for d in sse_data(stream.text)[:-1]]
    streamed = "".join(
        c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]
    )
    assert "not authorized to use the Argo Gateway API" in streamed
    blocked = (
        await messages(
            sim,
            {"model": "claudehaiku45", "max_tokens": 5, "messages": user("hi")},
            who="sim-denied",
        )
    ).json()
    assert blocked["id"] == "msg_blocked_sim-denied_1760000000"
    assert blocked["model"] == "claudehaiku45"
    assert blocked["usage"] == {"input_tokens": 0, "output_tokens": 0}
    assert "AUTHENTICATION NOTICE FROM ARGO" in blocked["content"][0]["text"]
    legacy = {"user": "sim-denied", "model": "gpt4o", "prompt": ["hi"]}
    response = (await sim.http.post(f"{sim.base}/api/v1/resource/chat/", json=legacy)).json()
    assert "AUTHENTICATION NOTICE FROM ARGO" in response["response"]
    raw = await sim.http.post(f"{sim.base}/api/v1/resource/streamchat/", json=legacy)
    assert raw.text.startswith("\n\n⚠️ **IMPORTANT AUTHENTICATION NOTICE FROM ARGO**")


async def test_user_allow_list() -> None:
    async for sim in _running(SimulatorSettings(users=frozenset({"jdoe"}))):
        allowed = (await chat(sim, {"model": "gpt4o", "messages": user("hi")})).json()
        assert allowed["choices"][0]["message"]["content"] == "Echo: hi"
        other = (await chat(sim, {"model": "gpt4o", "messages": user("hi")}, who="mallory")).json()
        assert "'mallory' could not be validated" in other["choices"][0]["message"]["content"]


# --- routing, errors, admin -------------------------------------------------------------


async def test_unknown_paths_and_methods(sim: Sim) -> None:
    for path in ("/v1/responses", "/v1beta/models/gemini:generateContent", "/v1/completions"):
        response = await sim.http.post(f"{sim.base}{path}", json={})
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not Found"}
    assert (await sim.http.post(f"{sim.root}/v1/chat/completions", json={})).status_code == 404
    slashless = await sim.http.post(f"{sim.base}/api/v1/resource/chat", json={})
    assert slashless.status_code == 307
    assert slashless.headers["location"] == f"{PREFIX}/api/v1/resource/chat/"
    assert (await sim.http.get(f"{sim.base}/v1/chat/completions")).status_code == 405
    broken = await sim.http.post(f"{sim.base}/v1/chat/completions", content=b"{not json")
    assert broken.status_code == 422 and broken.json()["detail"][0]["type"] == "json_invalid"


async def test_admin_log_and_health(sim: Sim) -> None:
    await chat(sim, {"model": "gpt4o", "messages": user("logged"), "user": "jdoe"})
    await sim.http.get(f"{sim.base}/v1/models")
    log = (await sim.http.get(f"{sim.root}/__sim/log")).json()["requests"]
    first = log[0]
    assert first["method"] == "POST" and first["path"] == f"{PREFIX}/v1/chat/completions"
    assert first["headers"]["authorization"] == "Bearer jdoe"
    assert first["body"]["messages"] == user("logged")
    only_models = (
        await sim.http.get(f"{sim.base}/__sim/log", params={"path": "/v1/models"})
    ).json()
    assert [e["path"] for e in only_models["requests"]] == [f"{PREFIX}/v1/models"]
    health = (await sim.http.get(f"{sim.root}/__sim/health")).json()
    assert health["status"] == "ok" and health["prefix"] == PREFIX
    assert (await sim.http.post(f"{sim.root}/__sim/reset")).json() == {"ok": True}
    assert (await sim.http.get(f"{sim.root}/__sim/log")).json()["requests"] == []


def test_module_entry_point_keeps_stdout_clean() -> None:
    """Logs and the ready line go to stderr; stdout may belong to a JSON-RPC channel."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "argo_proxy.daemon.simulator", "--port", "0", "--prefix", PREFIX],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline().decode()
        while "listening on" not in line and line:
            line = proc.stderr.readline().decode()
        url = line.rsplit(" ", 1)[-1].strip()
        assert url.endswith(PREFIX)
        with httpx.Client() as http:
            assert http.get(f"{url}/v1/models").status_code == 200
            assert http.post(f"{url}/v1/nothing", json={}).status_code == 404
            bad = http.post(f"{url}/v1/chat/completions", json={"model": "gpt4o"})
            assert bad.status_code == 422
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert stdout == b""
    assert proc.returncode == 0
