"""One regression test per llm-rosetta 0.13 workaround (docs/workarounds.md).

Each test drives our `Conversion` the way the daemon does and checks what the client
would see; each fails if its workaround is taken out.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from typing import Any

from argo_proxy.daemon.convert import Conversion
from argo_proxy.daemon.formats import FORMATS, ClientFormat
from argo_proxy.daemon.reasoning import read_reasoning, write_reasoning
from argo_proxy.daemon.relay import ConvertingShaper
from argo_proxy.daemon.tokens import estimate_text_tokens
from argo_proxy.daemon.workarounds.argo_rules import apply_model_rules


def _chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o"}
    base["choices"] = (
        [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    )
    return {**base, **extra}


TWO_TOOL_CALLS = [
    _chunk({"role": "assistant", "content": None}),
    _chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_A",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        }
    ),
    _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":"Paris"}'}}]}),
    _chunk(
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "call_B",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": ""},
                }
            ]
        }
    ),
    _chunk({"tool_calls": [{"index": 1, "function": {"arguments": '{"tz":"CET"}'}}]}),
    _chunk({}, finish="tool_calls"),
    _chunk(None, usage={"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}),
]


def _conversion(
    source: str, target: str, model: str = "gpt4o", family: str = "openai"
) -> Conversion:
    body = {
        "openai_chat": {"messages": [{"role": "user", "content": "hi"}]},
        "openai_responses": {"input": "hi"},
        "anthropic": {"max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]},
        "google": {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
    }[source]
    conversion = Conversion(source, target, model, family)  # type: ignore[arg-type]
    conversion.request(dict(body))
    return conversion


def assert_valid_anthropic_stream(events: list[dict[str, Any]]) -> None:
    """What Claude Code needs: blocks opened once, in order, each closed, then the end."""
    open_blocks: set[int] = set()
    seen: list[int] = []
    kinds = [e["type"] for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop", kinds
    assert "message_delta" in kinds
    for event in events:
        if event["type"] == "content_block_start":
            assert event["index"] not in seen, f"index {event['index']} reused"
            assert not open_blocks, "a block opened before the previous one closed"
            seen.append(event["index"])
            open_blocks.add(event["index"])
        elif event["type"] == "content_block_delta":
            assert event["index"] in open_blocks
        elif event["type"] == "content_block_stop":
            open_blocks.remove(event["index"])
    assert not open_blocks
    assert seen == list(range(len(seen)))


def test_b2_two_streamed_tool_calls_make_two_well_formed_anthropic_blocks() -> None:
    stream = _conversion("anthropic", "openai_chat").stream(include_usage=False)
    events = [e for c in TWO_TOOL_CALLS for e in stream.feed(c)] + stream.finish()
    assert_valid_anthropic_stream(events)
    names = [e["content_block"]["name"] for e in events if e["type"] == "content_block_start"]
    assert names == ["get_weather", "get_time"]


def test_b3_in_band_error_reaches_the_client_as_an_error_event() -> None:
    conversion = _conversion("anthropic", "openai_chat")
    shaper = ConvertingShaper(
        FORMATS["anthropic"], conversion.stream(include_usage=False), json_array=False
    )
    out = shaper.feed(
        [], [TWO_TOOL_CALLS[0], {"error": {"message": "quota exceeded", "code": 429}}]
    )
    assert b"event: error" in out and b"quota exceeded" in out
    assert shaper.finish() == b""  # nothing after the error


def test_b3_responses_client_gets_response_failed() -> None:
    conversion = _conversion("openai_responses", "anthropic", "claudeopus46", "anthropic")
    shaper = ConvertingShaper(
        FORMATS["openai_responses"], conversion.stream(include_usage=False), json_array=False
    )
    out = shaper.feed(
        [], [{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}]
    )
    assert b"event: response.failed" in out and b"Overloaded" in out


def test_b4_google_tool_result_object_is_not_emptied_and_top_p_kept() -> None:
    conversion = Conversion("google", "openai_chat", "gpt4o", "openai")
    out = conversion.request(
        {
            "contents": [
                {"role": "user", "parts": [{"text": "weather?"}]},
                {
                    "role": "model",
                    "parts": [
                        {
                            "functionCall": {
                                "id": "c1",
                                "name": "get_weather",
                                "args": {"city": "Oslo"},
                            }
                        }
                    ],
                },
                {
                    "role": "user",
                    "parts": [
                        {
                            "functionResponse": {
                                "id": "c1",
                                "name": "get_weather",
                                "response": {"temp": 21},
                            }
                        }
                    ],
                },
            ],
            "generationConfig": {"topP": 0.5},
        }
    )
    tool = next(m for m in out["messages"] if m["role"] == "tool")
    assert "21" in str(tool["content"])
    assert out.get("top_p") == 0.5


def test_b15_google_parameters_json_schema_reaches_argo() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    out = Conversion("google", "openai_chat", "gpt4o", "openai").request(
        {
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "tools": [
                {"functionDeclarations": [{"name": "get_weather", "parametersJsonSchema": schema}]}
            ],
        }
    )
    assert out["tools"][0]["function"]["parameters"]["required"] == ["city"]


def test_b16_google_thinking_level_in_capitals_is_converted() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"thinkingConfig": {"thinkingLevel": "HIGH"}},
    }
    out = Conversion("google", "openai_chat", "gpt5", "openai").request(body)
    assert out["reasoning_effort"] == "high"


def test_b5_stream_without_usage_tail_still_ends_for_the_client() -> None:
    stream = _conversion("anthropic", "openai_chat").stream(include_usage=False)
    chunks = [
        _chunk({"role": "assistant", "content": "Hi"}),
        _chunk({}, finish="stop"),
    ]  # no usage chunk
    events = [e for c in chunks for e in stream.feed(c)]
    assert "message_stop" not in [e["type"] for e in events]
    events += stream.finish()
    assert events[-1]["type"] == "message_stop"


def _usage_of(event: dict[str, Any]) -> dict[str, Any] | None:
    for holder in (event, *(v for v in event.values() if isinstance(v, dict))):
        for key in ("usage", "usageMetadata"):
            if isinstance(holder.get(key), dict) and holder[key]:
                return dict(holder[key])
    return None


def test_b7_anthropic_clients_of_gpt_count_input_without_cached_tokens() -> None:
    answer = _conversion("anthropic", "openai_chat").response(
        {
            **_chunk(None),
            "object": "chat.completion",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "hi"},
                 "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110,
                      "prompt_tokens_details": {"cached_tokens": 40}},
        }
    )  # fmt: skip
    assert answer["usage"]["input_tokens"] == 60
    assert answer["usage"]["cache_read_input_tokens"] == 40
    stream = _conversion("anthropic", "openai_chat").stream(include_usage=False)
    chunks = [
        _chunk({"role": "assistant", "content": "Hi"}),
        _chunk({}, finish="stop"),
        _chunk(None, usage={"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110,
                            "prompt_tokens_details": {"cached_tokens": 40}}),
    ]  # fmt: skip
    usages = [u for c in chunks for e in stream.feed(c) if (u := _usage_of(e))]
    assert usages[-1]["input_tokens"] == 60 and usages[-1]["cache_read_input_tokens"] == 40


CLAUDE_CACHED = [
    {"type": "message_start", "message": {
        "id": "m", "type": "message", "role": "assistant", "model": "c", "content": [],
        "usage": {"input_tokens": 60, "output_tokens": 1, "cache_read_input_tokens": 30,
                  "cache_creation_input_tokens": 10}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 10}},
    {"type": "message_stop"},
]  # fmt: skip


def test_b7_other_clients_of_claude_count_cache_reads_and_writes_as_input() -> None:
    fields = {
        "openai_chat": ("prompt_tokens", "total_tokens"),
        "openai_responses": ("input_tokens", "total_tokens"),
        "google": ("promptTokenCount", "totalTokenCount"),
    }
    for source, (prompt, total) in fields.items():
        conversion = _conversion(source, "anthropic", "claudesonnet46", "anthropic")
        answer = conversion.response(
            {"id": "m", "type": "message", "role": "assistant", "model": "c",
             "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
             "usage": {**CLAUDE_CACHED[0]["message"]["usage"], "output_tokens": 10}}  # type: ignore[index]
        )  # fmt: skip
        usage = _usage_of(answer)
        assert usage is not None and (usage[prompt], usage[total]) == (100, 110), source
        stream = _conversion(source, "anthropic", "claudesonnet46", "anthropic").stream(
            include_usage=True
        )
        usages = [u for c in CLAUDE_CACHED for e in stream.feed(dict(c)) if (u := _usage_of(e))]
        assert usages and (usages[-1][prompt], usages[-1][total]) == (100, 110), source


CLAUDE_THINKING = [
    {"type": "message_start", "message": {
        "id": "m", "type": "message", "role": "assistant", "model": "c", "content": [],
        "usage": {"input_tokens": 5, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0,
     "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
    {"type": "content_block_delta", "index": 0,
     "delta": {"type": "thinking_delta", "thinking": "The user wrote five "}},
    {"type": "content_block_delta", "index": 0,
     "delta": {"type": "thinking_delta", "thinking": "tokens; echo them."}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta",
                                                          "signature": "sig"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hi"}},
    {"type": "content_block_stop", "index": 1},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 20}},
    {"type": "message_stop"},
]  # fmt: skip
THOUGHT = "The user wrote five tokens; echo them."
CLAUDE_THINKING_ANSWER = {
    "id": "m", "type": "message", "role": "assistant", "model": "c",
    "content": [{"type": "thinking", "thinking": THOUGHT, "signature": "sig"},
                {"type": "text", "text": "Hi"}],
    "stop_reason": "end_turn", "usage": {"input_tokens": 5, "output_tokens": 20},
}  # fmt: skip
REASONING_FIELD = {
    "openai_chat": lambda u: u["completion_tokens_details"]["reasoning_tokens"],
    "openai_responses": lambda u: u["output_tokens_details"]["reasoning_tokens"],
    "google": lambda u: u["thoughtsTokenCount"],
}


def test_b17_clients_of_claude_get_its_thinking_as_reasoning_tokens() -> None:
    """Claude does not count thinking apart: the estimate of its text (tokens.py)."""
    thought = estimate_text_tokens(THOUGHT)
    assert 0 < thought < 20
    for source, reasoning in REASONING_FIELD.items():
        conversion = _conversion(source, "anthropic", "claudesonnet46", "anthropic")
        usage = _usage_of(conversion.response(copy.deepcopy(CLAUDE_THINKING_ANSWER)))
        assert usage is not None and reasoning(usage) == thought, source
        stream = _conversion(source, "anthropic", "claudesonnet46", "anthropic").stream(
            include_usage=True
        )
        usages = [u for c in CLAUDE_THINKING for e in stream.feed(dict(c)) if (u := _usage_of(e))]
        assert usages and reasoning(usages[-1]) == thought, source
        if source == "google":  # Google counts thoughts apart from the candidates
            assert usages[-1]["candidatesTokenCount"] == 20 - thought
            assert usages[-1]["totalTokenCount"] == 25


def test_b17_google_clients_of_gpt5_count_thoughts_once() -> None:
    usage = {"prompt_tokens": 10, "completion_tokens": 50, "total_tokens": 60,
             "completion_tokens_details": {"reasoning_tokens": 40}}  # fmt: skip
    answer = _conversion("google", "openai_chat", "gpt5").response(
        {**_chunk(None), "object": "chat.completion", "usage": usage,
         "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                      "finish_reason": "stop"}]}
    )  # fmt: skip
    stream = _conversion("google", "openai_chat", "gpt5").stream(include_usage=True)
    chunks = [_chunk({"content": "hi"}), _chunk({}, finish="stop"), _chunk(None, usage=usage)]
    streamed = [u for c in chunks for e in stream.feed(c) if (u := _usage_of(e))]
    for got in (answer["usageMetadata"], streamed[-1]):
        assert (got["candidatesTokenCount"], got["thoughtsTokenCount"]) == (10, 40)
        assert got["promptTokenCount"] + 10 + 40 == got["totalTokenCount"] == 60


def test_b6_responses_done_events_are_not_duplicated() -> None:
    stream = _conversion("openai_responses", "anthropic", "claudeopus46", "anthropic").stream(
        include_usage=False
    )
    upstream = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude",
                "content": [],
                "usage": {"input_tokens": 3, "output_tokens": 1},
            },
        },
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "hm"},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 2},
        },
        {"type": "message_stop"},
    ]
    events = [e for c in upstream for e in stream.feed(c)]
    done = [
        (e["type"], e.get("item_id"), e.get("content_index"))
        for e in events
        if e["type"] in ("response.output_text.done", "response.content_part.done")
    ]
    assert len(done) == len(set(done))
    assert all(item_id for _, item_id, _ in done)
    assert [e["type"] for e in events].count("response.completed") == 1


def test_b9_no_provider_metadata_leaks_to_argo() -> None:
    out = Conversion("google", "openai_chat", "gpt4o", "openai").request(
        {
            "contents": [
                {"role": "user", "parts": [{"text": "weather?"}]},
                {
                    "role": "model",
                    "parts": [
                        {
                            "functionCall": {"name": "get_weather", "args": {}},
                            "thoughtSignature": "c2ln",
                        }
                    ],
                },
                {
                    "role": "user",
                    "parts": [
                        {"functionResponse": {"name": "get_weather", "response": {"output": "ok"}}}
                    ],
                },
            ],
        }
    )
    assert "_provider_metadata" not in repr(out)


def _prepared_for_claude(
    model: str, body: dict[str, Any], source: ClientFormat = "openai_chat"
) -> dict[str, Any]:
    """What the request path sends ARGO: the reasoning ask read, the body converted, the
    effort table and ARGO's rules applied (`ArgoChat.send`, daemon/backends/argo.py)."""
    ask = read_reasoning(source, body)
    out = Conversion(source, "anthropic", model, "anthropic").request(body)
    write_reasoning(ask, out, model, "anthropic")
    apply_model_rules(out, model, "anthropic")
    return out


REASONING = {
    "messages": [{"role": "user", "content": "hi"}],
    "reasoning_effort": "high",
    "max_tokens": 4000,
}


def test_b11_thinking_for_claude_45_is_enabled_with_a_budget_not_adaptive() -> None:
    for model in ("claudesonnet45", "claudehaiku45", "claudeopus41", "claudesonnet4"):
        out = _prepared_for_claude(model, dict(REASONING))
        assert out["thinking"] == {"type": "enabled", "budget_tokens": 3200}, model


def test_b11_adaptive_thinking_never_carries_a_budget() -> None:
    for model in ("claudeopus47", "claudeopus46"):
        out = _prepared_for_claude(model, dict(REASONING))
        assert out.get("thinking", {}).get("type") in (None, "adaptive")
        assert "budget_tokens" not in out.get("thinking", {})
    anthropic_client = {
        "max_tokens": 4000,
        "messages": [{"role": "user", "content": "hi"}],
        "thinking": {"type": "enabled", "budget_tokens": 2000},
    }
    for model in ("claudeopus46", "claudeopus47"):
        out = _prepared_for_claude(model, dict(anthropic_client), "anthropic")
        thinking = out["thinking"]
        assert not (thinking.get("type") == "adaptive" and "budget_tokens" in thinking)


def test_b12_long_tool_descriptions_are_capped_for_argo_openai() -> None:
    tool = {
        "name": "f",
        "description": "x" * 2000,
        "input_schema": {"type": "object", "properties": {}},
    }
    out = Conversion("anthropic", "openai_chat", "gpt4o", "openai").request(
        {"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}], "tools": [tool]}
    )
    assert len(out["tools"][0]["function"]["description"]) <= 1024


def test_b12_relocated_tool_manuals_join_the_system_prompt_not_the_last_turn() -> None:
    tool = {
        "name": "Bash",
        "description": "Runs commands. " * 200,
        "input_schema": {"type": "object"},
    }
    out = Conversion("anthropic", "openai_chat", "gpt4o", "openai").request(
        {
            "max_tokens": 10,
            "system": "You are a coding agent.",
            "messages": [{"role": "user", "content": "Say hi"}],
            "tools": [tool],
        }
    )
    roles = [m["role"] for m in out["messages"]]
    assert roles == ["system", "user"]
    assert out["messages"][-1]["content"] == "Say hi"
    assert "You are a coding agent." in out["messages"][0]["content"]
    assert "Runs commands." in out["messages"][0]["content"]


def test_parallel_tool_results_reach_claude_in_one_user_turn() -> None:
    out = Conversion("openai_chat", "anthropic", "claudesonnet46", "anthropic").request(
        {
            "messages": [
                {"role": "user", "content": "weather in Oslo and Rome"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "w", "arguments": "{}"},
                        },
                        {
                            "id": "c2",
                            "type": "function",
                            "function": {"name": "w", "arguments": "{}"},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "5 C"},
                {"role": "tool", "tool_call_id": "c2", "content": "20 C"},
            ],
            "tools": [
                {"type": "function", "function": {"name": "w", "parameters": {"type": "object"}}}
            ],
        }
    )
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]
    results = [b["tool_use_id"] for b in out["messages"][-1]["content"]]
    assert results == ["c1", "c2"]


def test_builtin_responses_tools_are_left_out() -> None:
    # The library would send `web_search` to ARGO as an empty function tool.
    out = Conversion("openai_responses", "openai_chat", "gpt4o", "openai").request(
        {
            "input": "hi",
            "tools": [
                {"type": "web_search"},
                {"type": "function", "name": "f", "parameters": {"type": "object"}},
            ],
        }
    )
    assert [t["function"]["name"] for t in out["tools"]] == ["f"]


CLAUDE_STREAM = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude",
            "content": [],
            "usage": {"input_tokens": 3, "output_tokens": 1},
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}},
    {"type": "message_stop"},
]


def test_usage_chunk_only_when_the_client_asked_for_it() -> None:
    # The library always ends an OpenAI Chat stream with a usage-only chunk.
    for include_usage in (False, True):
        conversion = _conversion("openai_chat", "anthropic", "claudesonnet46", "anthropic")
        stream = conversion.stream(include_usage=include_usage)
        events = [e for c in CLAUDE_STREAM for e in stream.feed(c)]
        usage_chunks = [e for e in events if e.get("choices") == [] and "usage" in e]
        assert len(usage_chunks) == (1 if include_usage else 0)


def test_b1_importing_the_daemon_leaves_sys_path_alone() -> None:
    code = (
        "import sys; before = list(sys.path);"
        "import argo_proxy.daemon.app, argo_proxy.daemon.convert;"
        "import yaml; assert 'llm_rosetta' not in (yaml.__file__ or ''), yaml.__file__;"
        "assert not [p for p in sys.path if 'llm_rosetta' in p], sys.path"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
