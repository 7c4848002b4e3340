"""Streams a strict client accepts, for every client format × ARGO format, checked
event by event over raw HTTP — including two tool calls in one turn, and upstream
failures after the stream started, which must end in the client's own error event."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from . import api
from .conftest import Process
from .helpers import inject

MODELS = ["argo:gpt-4o", "claude-sonnet-4-6", "gemini-2.5-flash"]
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def request_for(fmt: str, model: str, prompt: str, tools: bool) -> tuple[str, dict[str, Any]]:
    """(path, body) of a streaming request in `fmt`."""
    if fmt == "openai_chat":
        body: dict[str, Any] = {
            "model": model,
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": prompt}],
        }
        if tools:
            body["tools"] = [
                {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}
            ]
        return "/v1/chat/completions", body
    if fmt == "openai_responses":
        body = {"model": model, "stream": True, "input": prompt, "store": False}
        if tools:
            body["tools"] = [{"type": "function", "name": "get_weather", "parameters": WEATHER}]
        return "/v1/responses", body
    if fmt == "anthropic":
        body = {
            "model": model,
            "stream": True,
            "max_tokens": 300,
            "messages": [{"role": "user", "content": prompt}],
        }
        if tools:
            body["tools"] = [{"name": "get_weather", "input_schema": WEATHER}]
        return "/v1/messages", body
    body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
    if tools:
        body["tools"] = [{"functionDeclarations": [{"name": "get_weather", "parameters": WEATHER}]}]
    return f"/v1beta/models/{model}:streamGenerateContent?alt=sse", body


def read_sse(url: str, path: str, body: dict[str, Any]) -> list[tuple[str, Any]]:
    """[(event name, parsed data or the raw '[DONE]')] as a strict client reads them."""
    events: list[tuple[str, Any]] = []
    with api.stream("POST", url + path, json=body, timeout=30) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        name, data = "", []
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif not line and data:
                raw = "\n".join(data)
                events.append((name, raw if raw == "[DONE]" else json.loads(raw)))
                name, data = "", []
    return events


def check_openai_chat(events: list[tuple[str, Any]], tool_calls: int) -> None:
    assert events[-1][1] == "[DONE]"
    # ARGO's Azure preflight chunk (choices [], empty id) passes through as the SDK expects
    chunks = [d for _, d in events[:-1] if d["choices"] or "usage" in d]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    finishes = [
        ch["finish_reason"] for c in chunks for ch in c["choices"] if ch.get("finish_reason")
    ]
    assert finishes == ["tool_calls" if tool_calls else "stop"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    ids = {
        tc["id"]
        for c in chunks
        for ch in c["choices"]
        for tc in ch["delta"].get("tool_calls") or []
        if tc.get("id")
    }
    assert len(ids) == tool_calls


def check_anthropic(events: list[tuple[str, Any]], tool_calls: int) -> None:
    names = [n for n, _ in events]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert all(n == d["type"] for n, d in events)
    open_blocks: list[int] = []
    started: list[int] = []
    for name, data in events:
        if name == "content_block_start":
            assert not open_blocks and data["index"] == len(started)
            started.append(data["index"])
            open_blocks.append(data["index"])
        elif name == "content_block_delta":
            assert open_blocks == [data["index"]]
        elif name == "content_block_stop":
            assert open_blocks == [data["index"]]
            open_blocks.pop()
    assert not open_blocks
    (delta,) = [d for n, d in events if n == "message_delta"]
    assert delta["delta"]["stop_reason"] == ("tool_use" if tool_calls else "end_turn")
    assert delta["usage"]["output_tokens"] > 0
    uses = [
        d
        for n, d in events
        if n == "content_block_start" and d["content_block"]["type"] == "tool_use"
    ]
    assert len(uses) == tool_calls


def check_responses(events: list[tuple[str, Any]], tool_calls: int) -> None:
    names = [n for n, _ in events]
    assert names[0] == "response.created" and names[-1] == "response.completed"
    assert names.count("response.completed") == 1
    assert all(n == d["type"] for n, d in events)
    added = [d["output_index"] for n, d in events if n == "response.output_item.added"]
    done = [d["output_index"] for n, d in events if n == "response.output_item.done"]
    assert sorted(added) == sorted(done)
    calls = [d for n, d in events if n == "response.function_call_arguments.done"]
    assert len(calls) == tool_calls
    final = events[-1][1]["response"]
    assert final["status"] == "completed" and final["usage"]["total_tokens"] > 0


def check_google(events: list[tuple[str, Any]], tool_calls: int) -> None:
    chunks = [d for _, d in events]
    assert all("candidates" in c or "usageMetadata" in c for c in chunks)
    finishes = [
        cand["finishReason"]
        for c in chunks
        for cand in c.get("candidates", [])
        if cand.get("finishReason")
    ]
    assert finishes and finishes[-1] == "STOP"
    assert any(c.get("usageMetadata", {}).get("totalTokenCount") for c in chunks)
    calls = [
        p["functionCall"]
        for c in chunks
        for cand in c.get("candidates", [])
        for p in cand.get("content", {}).get("parts", [])
        if "functionCall" in p
    ]
    assert len(calls) == tool_calls


CHECKS = {
    "openai_chat": check_openai_chat,
    "openai_responses": check_responses,
    "anthropic": check_anthropic,
    "google": check_google,
}


@pytest.mark.parametrize("tools", [0, 2], ids=["text", "two-tool-calls"])
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("fmt", list(CHECKS))
def test_stream_is_well_formed(daemon: Process, fmt: str, model: str, tools: int) -> None:
    prompt = (
        "Use get_weather for Paris and Rome [[sim:tools=2]]"
        if tools
        else "Tell me a story [[sim:deltas=8]]"
    )
    path, body = request_for(fmt, model, prompt, bool(tools))
    CHECKS[fmt](read_sse(daemon.url, path, body), tools)


ERROR_EVENT = {
    "openai_chat": lambda n, d: isinstance(d, dict) and "error" in d,
    "openai_responses": lambda n, d: n == "response.failed" and d["response"]["status"] == "failed",
    "anthropic": lambda n, d: n == "error" and d["type"] == "error",
    "google": lambda n, d: isinstance(d, dict) and "error" in d,
}


@pytest.mark.parametrize("fault", ["stream_error", "cut"])
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("fmt", list(ERROR_EVENT))
def test_upstream_failure_mid_stream_ends_with_an_error_event(
    daemon: Process, sim: httpx.Client, fmt: str, model: str, fault: str
) -> None:
    inject(sim, fault=fault, after=5)
    path, body = request_for(fmt, model, "A long answer please [[sim:deltas=20]]", False)
    events = read_sse(daemon.url, path, body)
    name, data = events[-1]
    assert ERROR_EVENT[fmt](name, data), events[-3:]
    texts = json.dumps([d for _, d in events[:-1]])
    assert "Echo:" in texts  # the content before the failure was relayed
