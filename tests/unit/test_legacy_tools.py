"""Tools in each vendor's legacy shape and back (daemon/legacy_tools.py), and the
client-side shapes and stream framing of legacy answers (daemon/legacy_shapes.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from argo_proxy.daemon.errors import ClientRequestError, UpstreamError
from argo_proxy.daemon.legacy_requests import CHAT_ENDPOINTS
from argo_proxy.daemon.legacy_shapes import (
    ChatFramer,
    CompletionsFramer,
    RawTextFramer,
    answer_chunks,
    chat_completion,
    new_meta,
)
from argo_proxy.daemon.legacy_tools import has_tool_traffic, native_tools, read_response

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "description": "Weather", "parameters": SCHEMA},
}


def call(call_id: str, city: str) -> dict[str, Any]:
    arguments = json.dumps({"city": city})
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": arguments},
    }


HISTORY: list[dict[str, Any]] = [
    {"role": "system", "content": "Use tools."},
    {"role": "user", "content": "Paris and Rome?"},
    {
        "role": "assistant",
        "content": "Looking.",
        "tool_calls": [call("a", "Paris"), call("b", "Rome")],
    },
    {"role": "tool", "tool_call_id": "a", "content": "sunny"},
    {"role": "tool", "tool_call_id": "b", "content": "rain"},
]


def test_gpt_keeps_openai_shapes() -> None:
    out = native_tools(
        {"messages": HISTORY, "tools": [TOOL], "tool_choice": "auto"}, "gpt4o", "openai"
    )
    assert out == {"messages": HISTORY, "tools": [TOOL], "tool_choice": "auto"}


def test_claude_gets_anthropic_blocks_and_its_system_prompt_as_a_message() -> None:
    body = {"messages": HISTORY, "tools": [TOOL], "tool_choice": "required"}
    out = native_tools(body, "claudesonnet45", "anthropic")
    assert out["tools"] == [
        {"name": "get_weather", "description": "Weather", "input_schema": SCHEMA}
    ]
    assert out["tool_choice"] == {"type": "any"}
    messages = out["messages"]
    assert messages[0] == {"role": "system", "content": "Use tools."}
    assert [b["type"] for b in messages[2]["content"]] == ["text", "tool_use", "tool_use"]
    assert messages[2]["content"][1] == {
        "type": "tool_use",
        "id": "a",
        "name": "get_weather",
        "input": {"city": "Paris"},
    }
    # both results in the one next user turn, as Anthropic requires
    assert len(messages) == 4
    assert [b["tool_use_id"] for b in messages[3]["content"]] == ["a", "b"]
    assert "cache_control" not in json.dumps(out)


def test_gemini_gets_declarations_and_one_call_per_turn() -> None:
    # One call per turn is ARGO's rule for Gemini on every backend: the gateway's plan
    # applies it (workarounds/argo_rules.py) before the tools take Gemini's shape.
    plan = CHAT_ENDPOINTS["openai_chat"].plan(
        {"messages": HISTORY, "tools": [TOOL]}, "gemini25flash", "google", "jdoe"
    )
    out = plan.body
    assert out["tools"] == [{"name": "get_weather", "description": "Weather", "parameters": SCHEMA}]
    roles = [(m["role"], [c["id"] for c in m.get("tool_calls", [])]) for m in out["messages"]]
    assert roles == [
        ("system", []),
        ("user", []),
        ("assistant", ["a"]),
        ("tool", []),
        ("assistant", ["b"]),
        ("tool", []),
    ]
    assert out["messages"][2]["content"] == "Looking." and out["messages"][4]["content"] == ""
    assert [m.get("tool_call_id") for m in out["messages"] if m["role"] == "tool"] == ["a", "b"]


def test_tools_the_gateway_cannot_take_are_refused() -> None:
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(ClientRequestError, match="only function tools"):
        native_tools(
            {"messages": messages, "tools": [{"type": "custom", "name": "x"}]}, "gpt4o", "openai"
        )
    with pytest.raises(ClientRequestError, match="GPT, Claude and Gemini"):
        native_tools({"messages": messages, "tools": [TOOL]}, "mystery", "unknown")


def test_tool_traffic() -> None:
    assert not has_tool_traffic({"messages": [{"role": "user", "content": "hi"}], "tools": []})
    assert has_tool_traffic({"messages": HISTORY[3:]})
    assert has_tool_traffic({"messages": [], "tools": [TOOL]})


@pytest.mark.parametrize(
    "response",
    [
        {"content": None, "tool_calls": [call("call_1", "Paris")]},  # GPT
        {
            "content": "Let me look.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "tool_use",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                }
            ],
        },  # Claude
        {
            "content": [
                {"type": "text", "text": "Let me look."},
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
            ]
        },  # Claude, in blocks
        {
            "content": "",
            "tool_calls": [{"id": None, "name": "get_weather", "args": {"city": "Paris"}}],
        },  # Gemini
    ],
)
def test_every_vendors_tool_calls_read_back_as_openai(response: dict[str, Any]) -> None:
    text, calls = read_response(response)
    assert text in ("", "Let me look.")
    assert len(calls) == 1
    assert calls[0]["id"] in ("call_1", "call_0")
    assert calls[0]["function"]["name"] == "get_weather"
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Paris"}


def test_unreadable_answers_are_upstream_errors() -> None:
    assert read_response("plain") == ("plain", [])
    with pytest.raises(UpstreamError):
        read_response(42)
    with pytest.raises(UpstreamError):
        read_response({"tool_calls": [{"what": "?"}]})


# ---------------------------------------------------------------------------- shapes


def frames(raw: bytes) -> list[Any]:
    lines = [line[6:] for line in raw.decode().split("\n") if line.startswith("data: ")]
    return [line if line == "[DONE]" else json.loads(line) for line in lines]


def test_a_whole_answer_replayed_as_a_chat_stream() -> None:
    meta = new_meta("chatcmpl-", "gpt4o", 10)
    events = answer_chunks(meta, "", [call("c", "Paris")], 5)
    framer = ChatFramer(include_usage=False)
    out = frames(framer.frame(events) + framer.end())
    assert out[-1] == "[DONE]"
    assert out[1]["choices"][0]["delta"]["tool_calls"][0]["index"] == 0
    assert out[-2]["choices"][0]["finish_reason"] == "tool_calls"  # no usage chunk: not asked
    with_usage = frames(ChatFramer(include_usage=True).frame(events))
    assert with_usage[-1]["usage"] == {
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
    }


def test_completion_chunks() -> None:
    meta = new_meta("cmpl-", "gpt4o", 3)
    out = frames(CompletionsFramer(include_usage=True).frame(answer_chunks(meta, "Hi", [], 1)))
    assert [e["choices"][0]["text"] if e["choices"] else None for e in out] == ["Hi", "", None]
    assert all(e["object"] == "text_completion" for e in out)
    assert out[1]["choices"][0]["finish_reason"] == "stop" and out[2]["usage"]["total_tokens"] == 4


def test_raw_text_framing() -> None:
    meta = new_meta("", "gpt4o", 3)
    framer = RawTextFramer()
    assert framer.frame(answer_chunks(meta, "Grüße", [], 1)) + framer.end() == "Grüße".encode()


def test_chat_completion_body() -> None:
    meta = new_meta("chatcmpl-", "gpt4o", 3)
    text_only = chat_completion(meta, "", [], 0)["choices"][0]
    assert text_only["message"] == {"role": "assistant", "content": ""}
    assert text_only["finish_reason"] == "stop"
    called = chat_completion(meta, "", [call("c", "Rome")], 4)["choices"][0]
    assert called["message"]["content"] is None and called["finish_reason"] == "tool_calls"
