"""Conversion keeps no copy of the request's messages, and answers still convert.

`Conversion.request` drops the messages from llm-rosetta's IR of the request (a big
image or text would otherwise be held twice while the request is sent, bench/README.md);
the answer's conversion reads only the IR's tools, so a Codex custom tool downgraded to
a function on Claude must still come back as a custom tool call.
"""

from __future__ import annotations

from typing import Any

from argo_proxy.daemon.convert import Conversion

APPLY_PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Apply a patch",
    "format": {"type": "text"},
}


def _codex_on_claude() -> Conversion:
    conversion = Conversion("openai_responses", "anthropic", "claudesonnet46", "anthropic")
    body = {
        "model": "claude-sonnet-4-6",
        "input": [{"role": "user", "content": "patch it " + "x" * 100_000}],
        "tools": [APPLY_PATCH],
    }
    out = conversion.request(body)
    assert out["messages"][0]["content"]  # the converted body has the conversation
    assert [tool["name"] for tool in out["tools"]] == ["apply_patch"]
    return conversion


def test_the_ir_keeps_no_messages() -> None:
    ir = _codex_on_claude()._pipeline.ir_request
    assert "messages" not in ir
    assert ir["tools"]


def test_custom_tool_call_survives_in_the_answer() -> None:
    reply = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "apply_patch", "input": {"input": "P"}}
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    output = _codex_on_claude().response(reply)["output"]
    assert output == [
        {"type": "custom_tool_call", "call_id": "toolu_1", "name": "apply_patch", "input": "P"}
    ]


def test_custom_tool_call_survives_in_the_stream() -> None:
    stream = _codex_on_claude().stream(include_usage=False)
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": [],
        "usage": {"input_tokens": 1, "output_tokens": 0},
    }
    tool_use = {"type": "tool_use", "id": "toolu_1", "name": "apply_patch", "input": {}}
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": tool_use},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '{"input": "P"}'},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {}},
        {"type": "message_stop"},
    ]
    out = [item for event in events for item in stream.feed(event)]
    added = [e["item"]["type"] for e in out if e.get("type") == "response.output_item.added"]
    assert added == ["custom_tool_call"]
