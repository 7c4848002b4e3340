"""llm-rosetta's own behaviour, for each defect `daemon/workarounds/library/` works around.

Each test asks the library, without our workaround, for the right result, and is
marked `xfail(strict=True)`: it fails today, as the defect is there. When an upgrade
fixes a defect, its test passes, strict xfail turns that into a failure of the suite,
and the workaround is to be deleted (docs/workarounds.md#retiring-a-workaround). The
tests of the workarounds themselves are in test_rosetta_fixes.py.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from llm_rosetta import ConversionPipeline

from argo_proxy.daemon.workarounds.library import LLM_ROSETTA

from .test_rosetta_fixes import TWO_TOOL_CALLS, _chunk, assert_valid_anthropic_stream

USER = [{"role": "user", "content": "hi"}]


def defect(name: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(
        strict=True, reason=f"llm-rosetta {LLM_ROSETTA}: {name} (docs/workarounds.md)"
    )


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    # The library reports the fields it drops as warnings; pytest would make them errors.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _raw(source: str, target: str, model: str, body: dict[str, Any], **options: Any) -> Any:
    pipeline = ConversionPipeline(
        source, target, target_shim=f"argo--{target}", upstream_model=model, **options
    )
    return pipeline, pipeline.convert_request({"model": model, **body})


def _streamed(pipeline: Any, chunks: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Any]:
    processor = pipeline.create_stream_processor()
    events = [event for chunk in chunks for event in processor.process_chunk(chunk)]
    return events, processor


def test_the_library_is_the_version_the_workarounds_were_written_for() -> None:
    from importlib.metadata import version

    assert version("llm-rosetta") == LLM_ROSETTA


@defect("B2, a second streamed tool call reuses Anthropic block 0")
def test_b2_streamed_tool_calls_make_well_formed_anthropic_blocks() -> None:
    pipeline, _ = _raw("anthropic", "openai_chat", "gpt4o", {"max_tokens": 10, "messages": USER})
    events, _ = _streamed(pipeline, TWO_TOOL_CALLS)
    assert_valid_anthropic_stream(events)


@defect("B3, an error inside a stream is dropped")
def test_b3_an_in_band_error_reaches_the_client() -> None:
    pipeline, _ = _raw("anthropic", "openai_chat", "gpt4o", {"max_tokens": 10, "messages": USER})
    error = {"error": {"message": "quota exceeded", "code": 429}}
    events, _ = _streamed(pipeline, [TWO_TOOL_CALLS[0], error])
    assert any(event.get("type") == "error" for event in events)


@defect("B4, Google's camelCase topP is ignored")
def test_b4_google_top_p_reaches_the_target() -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    _, out = _raw("google", "openai_chat", "gpt4o", {**body, "generationConfig": {"topP": 0.5}})
    assert out.get("top_p") == 0.5


@defect("B4, a Google tool result without an `output` key is emptied")
def test_b4_google_tool_result_keeps_its_content() -> None:
    contents = [
        {"role": "user", "parts": [{"text": "weather?"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {}}}]},
        {
            "role": "user",
            "parts": [{"functionResponse": {"name": "get_weather", "response": {"t": "20C"}}}],
        },
    ]
    _, out = _raw("google", "openai_chat", "gpt4o", {"contents": contents})
    results = [m["content"] for m in out["messages"] if m["role"] == "tool"]
    assert results and all("20C" in json.dumps(r) for r in results)


@defect("B15, Google's parametersJsonSchema is dropped")
def test_b15_google_parameters_json_schema_reaches_the_target() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "string"}}}
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "tools": [{"functionDeclarations": [{"name": "f", "parametersJsonSchema": schema}]}],
    }
    _, out = _raw("google", "openai_chat", "gpt4o", body)
    assert out["tools"][0]["function"].get("parameters") == schema


@defect("B5, a stream is finished only by the upstream's usage chunk")
def test_b5_a_stream_without_its_usage_tail_ends() -> None:
    pipeline, _ = _raw(
        "anthropic", "openai_chat", "gemini25pro", {"max_tokens": 10, "messages": USER}
    )
    chunks = [_chunk({"role": "assistant", "content": "Hi"}), _chunk({}, finish="stop")]
    events, processor = _streamed(pipeline, chunks)
    assert processor.source_context.is_ended
    assert events[-1]["type"] == "message_stop"


@defect("B6, Responses .done events are repeated")
def test_b6_responses_done_events_come_once() -> None:
    pipeline, _ = _raw("openai_responses", "anthropic", "claudeopus46", {"input": "hi"})
    upstream = [
        {
            "type": "message_start",
            "message": {"id": "m", "type": "message", "role": "assistant", "model": "c",
                        "content": [], "usage": {"input_tokens": 3, "output_tokens": 1}},
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking",
                                                                       "thinking": ""}},
        {"type": "content_block_delta", "index": 0,
         "delta": {"type": "thinking_delta", "thinking": "hm"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text",
                                                                       "text": ""}},
        {"type": "content_block_delta", "index": 1,
         "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
         "usage": {"output_tokens": 2}},
        {"type": "message_stop"},
    ]  # fmt: skip
    events, _ = _streamed(pipeline, upstream)
    done = [
        (e["type"], e.get("item_id"), e.get("content_index"))
        for e in events
        if e["type"] in ("response.output_text.done", "response.content_part.done")
    ]
    assert len(done) == len(set(done)) and all(item for _, item, _ in done)


OPENAI_CACHED_ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
    "usage": {
        "prompt_tokens": 100,
        "completion_tokens": 10,
        "total_tokens": 110,
        "prompt_tokens_details": {"cached_tokens": 40},
    },
}
ANTHROPIC_CACHED_ANSWER = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-6",
    "content": [{"type": "text", "text": "hi"}],
    "stop_reason": "end_turn",
    "usage": {
        "input_tokens": 60,
        "output_tokens": 10,
        "cache_read_input_tokens": 30,
        "cache_creation_input_tokens": 10,
    },
}


@defect("B7, input token counts are copied across vendors' different accounting")
def test_b7_converted_usage_counts_cached_input_tokens_alike() -> None:
    to_anthropic, _ = _raw(
        "anthropic", "openai_chat", "gpt4o", {"max_tokens": 10, "messages": USER}
    )
    usage = to_anthropic.convert_response(json.loads(json.dumps(OPENAI_CACHED_ANSWER)))["usage"]
    assert (usage["input_tokens"], usage["cache_read_input_tokens"]) == (60, 40)
    to_openai, _ = _raw("openai_chat", "anthropic", "claudesonnet46", {"messages": USER})
    usage = to_openai.convert_response(json.loads(json.dumps(ANTHROPIC_CACHED_ANSWER)))["usage"]
    assert usage["prompt_tokens"] == 100


@defect("B9, the internal _provider_metadata leaks into the converted request")
def test_b9_no_provider_metadata_in_the_converted_request() -> None:
    contents = [
        {"role": "user", "parts": [{"text": "weather?"}]},
        {
            "role": "model",
            "parts": [
                {"functionCall": {"name": "get_weather", "args": {}}, "thoughtSignature": "c2ln"}
            ],
        },
        {
            "role": "user",
            "parts": [{"functionResponse": {"name": "get_weather", "response": {"output": "ok"}}}],
        },
    ]
    _, out = _raw("google", "openai_chat", "gpt4o", {"contents": contents})
    assert "_provider_metadata" not in repr(out)


@defect("B12, tool descriptions are not limited for ARGO's OpenAI API")
def test_b12_the_argo_shim_limits_tool_descriptions() -> None:
    tool = {"name": "Bash", "description": "x" * 3000, "input_schema": {"type": "object"}}
    body = {"max_tokens": 10, "messages": USER, "tools": [tool]}
    _, out = _raw("anthropic", "openai_chat", "gpt4o", body)
    assert len(out["tools"][0]["function"]["description"]) <= 1024


@defect("B12, the text cut from long tool descriptions becomes the last user turn")
def test_b12_relocated_tool_manuals_are_not_the_last_turn() -> None:
    tool = {"name": "Bash", "description": "x" * 3000, "input_schema": {"type": "object"}}
    body = {"max_tokens": 10, "messages": [{"role": "user", "content": "what time is it"}]}
    _, out = _raw(
        "anthropic",
        "openai_chat",
        "gpt4o",
        {**body, "tools": [tool]},
        max_tool_description_length=1024,
    )
    assert out["messages"][-1] == {"role": "user", "content": "what time is it"}


@defect("parallel tool results reach Claude as one user turn each")
def test_parallel_tool_results_are_one_user_turn() -> None:
    calls = [
        {"id": i, "type": "function", "function": {"name": "f", "arguments": "{}"}}
        for i in ("a", "b")
    ]
    messages = [
        *USER,
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "a", "content": "1"},
        {"role": "tool", "tool_call_id": "b", "content": "2"},
    ]
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    _, out = _raw(
        "openai_chat", "anthropic", "claudesonnet46", {"messages": messages, "tools": [tool]}
    )
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]


@defect("Responses built-in tools become empty function tools")
def test_responses_builtin_tools_are_not_offered_as_functions() -> None:
    body = {"input": "hi", "tools": [{"type": "web_search"}]}
    _, out = _raw("openai_responses", "openai_chat", "gpt4o", body)
    assert not out.get("tools")


@defect("B16, a Google thinkingLevel in capitals (as google-genai sends it) is refused")
def test_b16_google_thinking_level_in_capitals_is_read() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"thinkingConfig": {"thinkingLevel": "HIGH"}},
    }
    _, out = _raw("google", "openai_chat", "gpt5", body)
    assert out.get("reasoning_effort") == "high"


@defect("B17, Claude's thinking counts as no reasoning tokens for a Responses client")
def test_b17_claudes_thinking_is_counted_for_responses_clients() -> None:
    pipeline, _ = _raw("openai_responses", "anthropic", "claudesonnet46", {"input": "hi"})
    answer = pipeline.convert_response(
        {"id": "m", "type": "message", "role": "assistant", "model": "c",
         "content": [{"type": "thinking", "thinking": "a long thought", "signature": "s"},
                     {"type": "text", "text": "hi"}],
         "stop_reason": "end_turn", "usage": {"input_tokens": 5, "output_tokens": 20}}
    )  # fmt: skip
    assert answer["usage"]["output_tokens_details"]["reasoning_tokens"] > 0


@defect("B17, a Google client of GPT-5 counts the reasoning tokens twice")
def test_b17_google_candidates_leave_out_the_thoughts() -> None:
    pipeline, _ = _raw("google", "openai_chat", "gpt5", {"contents": [{"parts": [{"text": "x"}]}]})
    answer = pipeline.convert_response(
        {**_chunk(None), "object": "chat.completion",
         "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                      "finish_reason": "stop"}],
         "usage": {"prompt_tokens": 10, "completion_tokens": 50, "total_tokens": 60,
                   "completion_tokens_details": {"reasoning_tokens": 40}}}
    )  # fmt: skip
    usage = answer["usageMetadata"]
    total = usage["promptTokenCount"] + usage["candidatesTokenCount"]
    assert total + usage["thoughtsTokenCount"] == usage["totalTokenCount"]


@defect("B11, a reasoning effort gives Claude Haiku 4.5 no thinking")
def test_b11_reasoning_effort_gives_haiku_45_thinking() -> None:
    body = {"messages": USER, "reasoning_effort": "high", "max_tokens": 4000}
    _, out = _raw("openai_chat", "anthropic", "claudehaiku45", body)
    assert out.get("thinking", {}).get("type") == "enabled"
