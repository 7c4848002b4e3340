"""Claude's signed thinking through Chat, Responses and Google clients (daemon/thinking.py,
docs/translation.md#thinking): the carrier, the store, and the round trip through the
real conversions, JSON and streamed."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from argo_proxy.daemon.convert import Conversion
from argo_proxy.daemon.formats import ClientFormat
from argo_proxy.daemon.thinking import (
    ThinkingStore,
    UserThinking,
    decode,
    encode,
    restore,
    take_carriers,
    thinking_off_if_lost,
)

THINKING = {"type": "thinking", "thinking": "Paris is in France.", "signature": "U0lHTkVE"}
REDACTED = {"type": "redacted_thinking", "data": "UkVEQUNURUQ="}
BLOCKS = (THINKING, REDACTED)
CALL = "toolu_vrtx_01Weather"
TOOL = {"name": "get_weather", "input": {"city": "Paris"}}

ANSWER = {
    "id": "msg_vrtx_01Answer",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [
        THINKING,
        REDACTED,
        {"type": "tool_use", "id": CALL, **TOOL},
    ],
    "stop_reason": "tool_use",
    "usage": {"input_tokens": 10, "output_tokens": 20},
}


def sse_events() -> list[dict[str, Any]]:
    """ANSWER as Claude streams it."""
    message = {k: v for k, v in ANSWER.items() if k not in ("content", "stop_reason")}
    return [
        {"type": "message_start", "message": {**message, "content": []}},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Paris is "},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "in France."},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "U0lHTkVE"},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": REDACTED},
        {"type": "content_block_stop", "index": 1},
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {"type": "tool_use", "id": CALL, "name": "get_weather", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": '{"city": "Paris"}'},
        },
        {"type": "content_block_stop", "index": 2},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 20},
        },
        {"type": "message_stop"},
    ]


# ------------------------------------------------------------------------- carrier


def test_a_carrier_gives_back_the_blocks_it_was_made_of() -> None:
    carrier = encode(BLOCKS)
    assert base64.b64decode(carrier)  # valid base64, as Google's thoughtSignature must be
    assert decode(carrier) == BLOCKS


def test_a_carrier_survives_the_url_safe_alphabet() -> None:
    raw = base64.b64decode(encode([{**THINKING, "thinking": "??>>" * 50}]))
    assert decode(base64.urlsafe_b64encode(raw).decode()) is not None


@pytest.mark.parametrize(
    "value",
    [None, "", "U0lHTkVE", "EvwBClsIBhgCKkD", 42, encode(BLOCKS)[:-8] + "!!!!!!!!"],
)
def test_anything_else_is_not_a_carrier(value: Any) -> None:
    assert decode(value) is None


def test_a_carrier_of_something_other_than_thinking_blocks_is_refused() -> None:
    magic = base64.b64decode(encode([]))[:24]
    forged = base64.b64encode(magic + json.dumps([{"type": "text", "text": "hi"}]).encode())
    assert decode(forged.decode()) is None


# --------------------------------------------------------------------------- store


def test_the_store_gives_a_users_thinking_to_that_user_only() -> None:
    store = ThinkingStore()
    store.keep("alice", [CALL, "toolu_2"], BLOCKS)
    assert store.get("alice", CALL) == BLOCKS
    assert store.get("alice", "toolu_2") == BLOCKS
    assert store.get("bob", CALL) is None


def test_the_store_lets_the_oldest_turns_go_past_its_size() -> None:
    store = ThinkingStore(max_bytes=3000)
    big = ({**THINKING, "thinking": "x" * 1000},)
    for n in range(5):
        store.keep("alice", [f"toolu_{n}"], big)
    assert store.size <= 3000
    assert store.get("alice", "toolu_0") is None
    assert store.get("alice", "toolu_4") == big


def test_the_store_lets_a_turn_go_after_its_age() -> None:
    now = [1000.0]
    store = ThinkingStore(max_age=60, clock=lambda: now[0])
    store.keep("alice", [CALL], BLOCKS)
    now[0] += 59
    assert store.get("alice", CALL) == BLOCKS
    now[0] += 2
    assert store.get("alice", CALL) is None
    assert len(store) == 0 and store.size == 0


# -------------------------------------------------------------- the way to ARGO


def test_responses_reasoning_items_carrying_blocks_are_taken_out() -> None:
    body: dict[str, Any] = {
        "input": [
            {"role": "user", "content": "weather?"},
            {"type": "reasoning", "summary": [], "encrypted_content": encode(BLOCKS)},
            {"type": "function_call", "call_id": CALL, "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": CALL, "output": "sunny"},
            {"type": "function_call", "call_id": "toolu_later", "name": "x", "arguments": "{}"},
        ]
    }
    carried = take_carriers("openai_responses", body)
    assert carried == {CALL: BLOCKS}  # not the later call: a new turn began
    assert [i.get("type") for i in body["input"]] == [
        None,
        "function_call",
        "function_call_output",
        "function_call",
    ]


def test_chat_thinking_blocks_are_taken_out_and_follow_their_tool_calls() -> None:
    body: dict[str, Any] = {
        "messages": [
            {
                "role": "assistant",
                "content": None,
                "thinking_blocks": list(BLOCKS),
                "tool_calls": [{"id": CALL, "type": "function", "function": {}}],
            }
        ]
    }
    assert take_carriers("openai_chat", body) == {CALL: BLOCKS}
    assert "thinking_blocks" not in body["messages"][0]


def test_google_thought_signatures_are_taken_out() -> None:
    body: dict[str, Any] = {
        "contents": [
            {
                "role": "model",
                "parts": [
                    {"text": "hm", "thought": True},
                    {
                        "functionCall": {"name": "get_weather", "args": {}, "id": CALL},
                        "thoughtSignature": encode(BLOCKS),
                    },
                ],
            }
        ]
    }
    assert take_carriers("google", body) == {CALL: BLOCKS}
    assert "thoughtSignature" not in body["contents"][0]["parts"][1]


def claude_request(*, thinking: bool, first: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "max_tokens": 4096,
        "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [*first, {"type": "tool_use", "id": CALL, **TOOL}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": CALL}]},
        ],
    }
    if thinking:
        body["thinking"] = {"type": "enabled", "budget_tokens": 2048}
    return body


def test_restore_puts_the_blocks_ahead_of_the_tool_use() -> None:
    body = claude_request(thinking=True, first=[{"type": "text", "text": "Let me look."}])
    assert restore(body, {CALL: BLOCKS}, lambda _: None) == 1
    content = body["messages"][1]["content"]
    assert [b["type"] for b in content] == ["thinking", "redacted_thinking", "text", "tool_use"]
    assert not thinking_off_if_lost(body)
    assert body["thinking"]["type"] == "enabled"


def test_restore_reads_the_store_when_the_client_dropped_the_carrier() -> None:
    body = claude_request(thinking=True, first=[])
    assert restore(body, {}, {CALL: BLOCKS}.get) == 1
    assert body["messages"][1]["content"][0] == THINKING
    assert not thinking_off_if_lost(body)


def test_without_the_thinking_of_the_last_tool_turn_thinking_is_turned_off() -> None:
    body = claude_request(thinking=True, first=[])
    assert restore(body, {}, lambda _: None) == 0
    assert thinking_off_if_lost(body) and "thinking" not in body


def test_with_thinking_off_nothing_needs_turning_off() -> None:
    body = claude_request(thinking=False, first=[])
    restore(body, {}, lambda _: None)
    assert not thinking_off_if_lost(body)


# --------------------------------------------------- through the real conversions

REQUESTS: dict[ClientFormat, dict[str, Any]] = {
    "openai_chat": {
        "messages": [{"role": "user", "content": "weather?"}],
        "reasoning_effort": "high",
    },
    "openai_responses": {"input": [{"role": "user", "content": "weather?"}]},
    "google": {"contents": [{"role": "user", "parts": [{"text": "weather?"}]}]},
}


def follow_up(fmt: ClientFormat, answer: dict[str, Any], *, standard_only: bool) -> dict[str, Any]:
    """The next request a client of `fmt` sends after `answer`: its turn as it came (or
    only the standard fields), then the tool's result."""
    if fmt == "openai_chat":
        message = answer["choices"][0]["message"]
        if standard_only:
            message = {k: message[k] for k in ("role", "content", "tool_calls")}
        return {
            "messages": [
                *REQUESTS[fmt]["messages"],
                message,
                {"role": "tool", "tool_call_id": CALL, "content": "sunny"},
            ],
            "reasoning_effort": "high",
        }
    if fmt == "openai_responses":
        output = answer["output"]
        if standard_only:
            output = [i for i in output if i["type"] != "reasoning"]
        return {
            "input": [
                *REQUESTS[fmt]["input"],
                *output,
                {"type": "function_call_output", "call_id": CALL, "output": "sunny"},
            ],
            "reasoning": {"effort": "high"},
        }
    turn = answer["candidates"][0]["content"]
    if standard_only:
        turn = {
            **turn,
            "parts": [
                {k: v for k, v in p.items() if k != "thoughtSignature"} for p in turn["parts"]
            ],
        }
    return {
        "contents": [
            *REQUESTS[fmt]["contents"],
            turn,
            {
                "role": "user",
                "parts": [
                    {
                        "functionResponse": {
                            "name": "get_weather",
                            "id": CALL,
                            "response": {"output": "sunny"},
                        }
                    }
                ],
            },
        ],
        "generationConfig": {"thinkingConfig": {"thinkingBudget": 2048}},
    }


def conversion(fmt: ClientFormat, memory: UserThinking) -> Conversion:
    return Conversion(
        fmt, "anthropic", "claudesonnet45", "anthropic", answer_model="sonnet", thinking=memory
    )


def assistant_turn(out: dict[str, Any]) -> list[dict[str, Any]]:
    (turn,) = [m for m in out["messages"] if m["role"] == "assistant"]
    return [b for b in turn["content"] if b["type"] != "text" or b.get("text")]


@pytest.mark.parametrize("fmt", ["openai_chat", "openai_responses", "google"])
@pytest.mark.parametrize("standard_only", [False, True], ids=["as-sent", "standard-fields"])
def test_the_thinking_of_a_tool_turn_comes_back_to_claude(
    fmt: ClientFormat, standard_only: bool
) -> None:
    store = ThinkingStore()
    first = conversion(fmt, UserThinking(store, "alice"))
    first.request(copy.deepcopy(REQUESTS[fmt]))
    answer = first.response(copy.deepcopy(ANSWER))
    second = conversion(fmt, UserThinking(store, "alice"))
    out = second.request(follow_up(fmt, answer, standard_only=standard_only))
    assert assistant_turn(out)[:2] == [THINKING, REDACTED]
    assert assistant_turn(out)[2]["type"] == "tool_use"
    assert not thinking_off_if_lost(out)
    # another ARGO user, without the carrier: not this user's thinking
    third = conversion(fmt, UserThinking(store, "bob"))
    out = third.request(follow_up(fmt, answer, standard_only=True))
    assert assistant_turn(out)[0]["type"] == "tool_use"


@pytest.mark.parametrize("fmt", ["openai_chat", "openai_responses", "google"])
def test_a_streamed_answer_carries_the_thinking_and_the_clients_model_name(
    fmt: ClientFormat,
) -> None:
    store = ThinkingStore()
    memory = UserThinking(store, "alice")
    first = conversion(fmt, memory)
    first.request(copy.deepcopy(REQUESTS[fmt]))
    stream = first.stream(include_usage=True)
    events = [e for upstream in sse_events() for e in stream.feed(upstream)]
    text = json.dumps(events)
    assert "claude-sonnet-4-5-20250929" not in text
    assert '"sonnet"' in text
    assert store.get("alice", CALL) == BLOCKS
    assert carriers_in(fmt, events) == (list(BLOCKS) if fmt == "openai_chat" else [BLOCKS])


def carriers_in(fmt: ClientFormat, events: list[dict[str, Any]]) -> list[Any]:
    """The thinking a client of `fmt` finds in its stream: blocks (Chat) or carriers."""
    if fmt == "openai_chat":
        return [
            b
            for e in events
            for c in e.get("choices", [])
            for b in c["delta"].get("thinking_blocks", [])
        ]
    if fmt == "openai_responses":
        return [
            decode(e["item"].get("encrypted_content"))
            for e in events
            if e["type"] == "response.output_item.done" and e["item"]["type"] == "reasoning"
        ]
    return [
        decode(p.get("thoughtSignature"))
        for e in events
        for c in e.get("candidates", [])
        for p in c["content"]["parts"]
        if "functionCall" in p
    ]


@pytest.mark.parametrize("summary", [None, "auto"])
def test_responses_reasoning_summaries_only_when_asked(summary: str | None) -> None:
    reasoning = {"effort": "high", **({"summary": summary} if summary else {})}
    request = {"input": "weather?", "reasoning": reasoning}
    memory = UserThinking(ThinkingStore(), "alice")
    whole = conversion("openai_responses", memory)
    whole.request(copy.deepcopy(request))
    (item,) = [
        i for i in whole.response(copy.deepcopy(ANSWER))["output"] if i["type"] == "reasoning"
    ]
    streamed = conversion("openai_responses", memory)
    streamed.request(copy.deepcopy(request))
    stream = streamed.stream(include_usage=True)
    events = [e for upstream in sse_events() for e in stream.feed(upstream)]
    summaries = [e for e in events if e["type"].startswith("response.reasoning_summary")]
    (done,) = [
        e["item"]
        for e in events
        if e["type"] == "response.output_item.done" and e["item"]["type"] == "reasoning"
    ]
    if summary:
        assert item["summary"][0]["text"] == THINKING["thinking"]
        assert done["summary"][0]["text"] == THINKING["thinking"] and summaries
    else:
        assert item["summary"] == [] and done["summary"] == [] and not summaries
    assert decode(item["encrypted_content"]) == BLOCKS == decode(done["encrypted_content"])
