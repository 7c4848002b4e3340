"""The simulator's pure parts: markers, reply planning, policy rules, the fault queue."""

from __future__ import annotations

import pytest

from argo_proxy.daemon.simulator.catalogue import load_catalogue
from argo_proxy.daemon.simulator.faults import FaultBook, select_faults
from argo_proxy.daemon.simulator.markers import NO_MARKERS, read_markers
from argo_proxy.daemon.simulator.policy import Policy
from argo_proxy.daemon.simulator.replies import (
    count_tokens,
    plan_reply,
    read_messages,
    split_deltas,
)
from argo_proxy.daemon.simulator.tools import read_tools


def test_markers_are_removed_and_parsed() -> None:
    text, markers = read_markers("say [[sim:deltas=4]] hi [[sim:fault=reply,text=a%2Cb,x]]")
    assert text == "say hi"
    assert markers.option_int("deltas", 0) == 4
    assert markers.faults == ({"fault": "reply", "text": "a,b", "x": "1"},)
    assert read_markers("plain text") == ("plain text", NO_MARKERS)


@pytest.mark.parametrize("text", ["Echo: a b c", "Echo: x\n", "\n\n⚠️ notice ⚠️\n\n", "", "   "])
@pytest.mark.parametrize("count", [0, 1, 2, 5])
def test_deltas_concatenate_back_to_the_text(text: str, count: int) -> None:
    deltas = split_deltas(text, count)
    assert "".join(deltas) == text
    if count and len(split_deltas(text)) >= count:
        assert len(deltas) == count


def test_reply_reads_openai_and_anthropic_histories() -> None:
    anthropic = [
        {"role": "user", "content": [{"type": "text", "text": "first"}]},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [{"type": "text", "text": "42 [[sim:fault=cut]]"}],
                }
            ],
        },
    ]
    conv = read_messages(anthropic)
    assert conv.tool_results == ("42",) and conv.user_text == "first"
    assert conv.markers.faults[0]["fault"] == "cut"  # the last turn's markers count
    assert plan_reply(conv).text == "Tool result received: 42"
    openai = [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]
    assert plan_reply(read_messages(openai)).text == "Echo: a b"


def test_reply_limits() -> None:
    conv = read_messages([{"role": "user", "content": "one two three four"}])
    assert count_tokens("Echo: one two") == 4
    cut = plan_reply(conv, limit=4)
    assert (cut.text, cut.finish) == ("Echo: one two", "length")
    eaten = plan_reply(conv, limit=64, reasoning_floor=128)
    assert (eaten.text, eaten.finish, eaten.reasoning_tokens) == ("", "length", 64)


def test_tools_in_every_vendor_shape() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    tools = read_tools(
        [
            {"type": "function", "function": {"name": "a", "parameters": schema}},
            {"name": "b", "input_schema": schema},
            {"function_declarations": [{"name": "c", "parameters": schema}]},
        ]
    )
    assert [t.name for t in tools] == ["a", "b", "c"]
    conv = read_messages([{"role": "user", "content": "call c now"}])
    (call,) = plan_reply(conv, tools=tools).tool_calls
    assert call.name == "c" and call.arguments == {"q": "call c now"}
    (call,) = plan_reply(conv, tools=tools, tool_choice={"type": "tool", "name": "b"}).tool_calls
    assert call.name == "b"
    assert plan_reply(conv, tools=tools, tool_choice={"type": "none"}).text == "Echo: call c now"


def test_policy_strip_leaves_the_request_alone() -> None:
    policy = Policy(load_catalogue().policy_profiles["2026-09"])
    sent = {"model": "claudeopus47", "temperature": 0.2, "top_p": 0.5, "max_tokens": 9}
    outcome = policy.apply("messages", "claudeopus47", sent)
    assert outcome.rejection is None
    assert "temperature" not in outcome.body and "top_p" not in outcome.body
    assert sent["temperature"] == 0.2  # the logged body is untouched
    strict = Policy(load_catalogue().policy_profiles["2026-05-21"])
    rejected = strict.apply("chat", "gpt55", {"temperature": 0})
    assert rejected.rejection is not None
    assert "does not support 0 with this model" in rejected.rejection.message
    assert strict.apply("chat", "gpt55", {"temperature": None}).rejection is None


@pytest.mark.parametrize("profile", ["2026-05-21", "2026-09"])
def test_policy_refuses_reasoning_settings_a_model_does_not_take(profile: str) -> None:
    """docs/argo.md#reasoning-settings, as the effort table (reasoning.py) reads it."""
    policy = Policy(load_catalogue().policy_profiles[profile])
    refused = [
        ("chat", "gpt4o", {"reasoning_effort": "low"}),
        ("chat", "gpt5", {"reasoning_effort": "xhigh"}),
        ("chat", "gpt51", {"reasoning_effort": "minimal"}),
        ("chat", "gpto3", {"reasoning_effort": "none"}),
        ("messages", "claudesonnet45", {"output_config": {"effort": "max"}}),
        ("messages", "claudeopus46", {"output_config": {"effort": "xhigh"}}),
    ]
    for endpoint, model, body in refused:
        assert policy.apply(endpoint, model, body).rejection is not None, (model, body)  # type: ignore[arg-type]
    taken = [
        ("chat", "gpt5", {"reasoning_effort": "minimal"}),
        ("chat", "gpt51", {"reasoning_effort": "none"}),
        ("chat", "gpt55", {"reasoning_effort": "xhigh"}),
        ("chat", "gpto3", {"reasoning_effort": "low"}),
        ("chat", "gpt4o", {}),
        ("messages", "claudeopus46", {"output_config": {"effort": "max"}}),
        ("messages", "claudeopus47", {"output_config": {"effort": "xhigh"}}),
    ]
    for endpoint, model, body in taken:
        assert policy.apply(endpoint, model, body).rejection is None, (model, body)  # type: ignore[arg-type]
    message = policy.apply("chat", "gpt5", {"reasoning_effort": "xhigh"}).rejection
    assert message is not None and "does not support 'xhigh'" in message.message


def test_fault_book_skips_rules_that_do_not_fit() -> None:
    book = FaultBook()
    book.add([{"fault": "no_done"}, {"fault": "latency", "ms": 5, "times": 2}])
    first = select_faults(book, "embeddings", "/v1/embeddings", (), False, NO_MARKERS)
    assert list(first.by_name) == ["latency"]
    assert [r["fault"] for r in book.pending()] == ["no_done", "latency"]
    streamed = select_faults(book, "chat", "/v1/chat/completions", (), True, NO_MARKERS)
    assert list(streamed.by_name) == ["no_done"]
    assert [r["times"] for r in book.pending()] == [1]
    with pytest.raises(ValueError):
        book.add([{"fault": "latency"}, {"fault": "nope"}])
    assert len(book.pending()) == 1  # nothing queued from a bad batch


def test_catalogue_lookups() -> None:
    catalogue = load_catalogue()
    assert catalogue.lookup("Claude Opus 4.6").internal_id == "claudeopus46"  # type: ignore[union-attr]
    assert catalogue.lookup("claude-opus-4-6") is None
    assert catalogue.lookup_embedding("text-embedding-ada-002").internal_id == "ada002"  # type: ignore[union-attr]
    assert catalogue.lookup("gpt4olatest").retired  # type: ignore[union-attr]
    assert "gpt4olatest" not in catalogue.valid_names
