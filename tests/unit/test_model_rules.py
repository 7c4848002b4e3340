"""ARGO's per-model parameter rules (docs/workarounds.md#argo-rules), applied to bodies."""

from __future__ import annotations

from typing import Any

import pytest

from argo_proxy.daemon.workarounds.argo_rules import apply_model_rules


def adjusted(body: dict[str, Any], model: str, upstream: str = "anthropic") -> dict[str, Any]:
    out = dict(body)
    apply_model_rules(out, model, upstream)  # type: ignore[arg-type]
    return out


@pytest.mark.parametrize(
    "model", ["claudesonnet46", "claudeopus46", "claudesonnet45", "claudehaiku45"]
)
def test_claude_takes_temperature_or_top_p_not_both(model: str) -> None:
    assert adjusted({"temperature": 0.3, "top_p": 0.9}, model) == {"temperature": 0.3}
    assert adjusted({"top_p": 0.9}, model) == {"top_p": 0.9}


def test_opus_47_takes_no_sampling() -> None:
    body = {"temperature": 0.3, "top_p": 0.9, "max_tokens": 8000}
    assert adjusted(body, "claudeopus47") == {"max_tokens": 8000}


def test_reasoning_settings_are_left_to_the_effort_table() -> None:
    """docs/translation.md#reasoning: `reasoning.py` writes them, before these rules."""
    for model in ("claudeopus47", "claudesonnet45", "claudeopus46"):
        body = {"max_tokens": 500, "thinking": {"type": "adaptive", "budget_tokens": 9}}
        assert adjusted(body, model) == body


@pytest.mark.parametrize("model", ["gpt5", "gpt5mini", "gpt55", "gpto3"])
def test_gpt5_and_o_series_take_temperature_one_and_no_top_p(model: str) -> None:
    assert adjusted({"temperature": 0.2, "top_p": 0.5}, model, "openai_chat") == {}
    assert adjusted({"temperature": 1}, model, "openai_chat") == {"temperature": 1}


def test_other_models_are_untouched() -> None:
    body = {"temperature": 0.2, "top_p": 0.5}
    assert adjusted(body, "gpt4o", "openai_chat") == body
    assert adjusted(body, "gemini25pro", "openai_chat") == body


def test_gemini_gets_one_tool_call_per_turn() -> None:
    calls = [
        {"id": f"c{i}", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        for i in (1, 2)
    ]
    body = {
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": "two calls", "tool_calls": calls},
            {"role": "tool", "tool_call_id": "c2", "content": "r2"},
            {"role": "tool", "tool_call_id": "c1", "content": "r1"},
            {"role": "user", "content": "thanks"},
        ]
    }
    out = adjusted(body, "gemini25pro", "openai_chat")
    shape = [
        (m["role"], m.get("tool_call_id") or [c["id"] for c in m.get("tool_calls", [])])
        for m in out["messages"]
    ]
    assert shape == [
        ("user", []),
        ("assistant", ["c1"]),
        ("tool", "c1"),
        ("assistant", ["c2"]),
        ("tool", "c2"),
        ("user", []),
    ]
    assert out["messages"][1]["content"] == "two calls" and out["messages"][3]["content"] == ""
    assert adjusted(body, "gpt4o", "openai_chat") == body  # GPT takes parallel calls


def test_claude_takes_late_system_messages_in_its_system_prompt() -> None:
    """Claude Code by ARGO id sends a system message after the tool results."""
    turn = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]}
    body = {
        "system": [{"type": "text", "text": "You are Claude Code."}],
        "messages": [turn, {"role": "system", "content": "Agent types: …"}],
    }
    assert adjusted(body, "claudesonnet45") == {
        "system": [
            {"type": "text", "text": "You are Claude Code."},
            {"type": "text", "text": "Agent types: …"},
        ],
        "messages": [turn],
    }
    listed = {"role": "system", "content": [{"type": "text", "text": "Be brief."}]}
    assert adjusted({"system": "Hi.", "messages": [listed, turn]}, "claudeopus47") == {
        "system": [{"type": "text", "text": "Hi."}, {"type": "text", "text": "Be brief."}],
        "messages": [turn],
    }
    assert adjusted({"messages": [turn]}, "claudesonnet45") == {"messages": [turn]}
