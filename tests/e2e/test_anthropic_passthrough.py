"""The official `anthropic` SDK against a real daemon in front of the simulated ARGO."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx
import pytest

from . import api
from .conftest import Process, StartDaemon
from .helpers import WEATHER_TOOL_ANTHROPIC, last_sent, sent


@pytest.fixture()
def client(daemon: Process) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=daemon.url, api_key=api.TOKEN, max_retries=0) as client:
        yield client


def test_messages_non_streaming(client: anthropic.Anthropic, sim: httpx.Client) -> None:
    reply = client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=200,
        messages=[{"role": "user", "content": "hi claude"}],
    )
    assert reply.content[0].type == "text"
    assert reply.content[0].text == "Echo: hi claude"
    assert reply.stop_reason == "end_turn"
    upstream = last_sent(sim, "/v1/messages")
    assert upstream["body"]["model"] == "claudesonnet46"
    assert upstream["body"]["metadata"]["user_id"] == "jdoe"
    assert upstream["headers"]["x-api-key"] == "jdoe"
    assert upstream["headers"]["anthropic-version"]
    # anthropic_stream_mode=force (default): ARGO is asked for a stream, the client gets JSON
    assert upstream["body"]["stream"] is True


def test_messages_streaming_event_sequence(client: anthropic.Anthropic) -> None:
    kinds: list[str] = []
    with client.messages.stream(
        model="argo:claude-opus-4.6",
        max_tokens=200,
        messages=[{"role": "user", "content": "count to five [[sim:deltas=6]]"}],
    ) as stream:
        for event in stream:
            kinds.append(event.type)
        final = stream.get_final_message()
    assert final.content[0].text.startswith("Echo: count to five")
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert kinds.count("text") == 6  # every text delta arrived
    assert "message_delta" in kinds


@pytest.mark.parametrize("stream", [False, True])
def test_tool_use_round_trip(client: anthropic.Anthropic, stream: bool) -> None:
    messages: list[dict] = [
        {"role": "user", "content": "What is the weather in Oslo? Use get_weather."}
    ]
    kwargs = {"model": "claude-opus-4-6", "max_tokens": 300, "tools": [WEATHER_TOOL_ANTHROPIC]}
    if stream:
        with client.messages.stream(messages=messages, **kwargs) as events:
            reply = events.get_final_message()
    else:
        reply = client.messages.create(messages=messages, **kwargs)
    assert reply.stop_reason == "tool_use"
    use = next(block for block in reply.content if block.type == "tool_use")
    assert use.name == "get_weather" and "city" in use.input

    messages += [
        {"role": "assistant", "content": [b.model_dump() for b in reply.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "-3 C, snow"}],
        },
    ]
    final = client.messages.create(messages=messages, **kwargs)
    assert final.content[0].text == "Tool result received: -3 C, snow"


def test_stream_mode_passthrough_reports_streaming_required(
    start_daemon: StartDaemon, sim: httpx.Client
) -> None:
    daemon = start_daemon("anthropic_stream_mode: passthrough\n")
    with anthropic.Anthropic(base_url=daemon.url, api_key=api.TOKEN, max_retries=0) as client:
        with pytest.raises(anthropic.APIStatusError) as caught:
            client.messages.create(
                model="claude-opus-4-6",
                max_tokens=32000,
                timeout=30,
                messages=[{"role": "user", "content": "write a lot"}],
            )
    assert caught.value.status_code == 502
    assert "Streaming is required" in str(caught.value.message)
    assert caught.value.body["type"] == "error"  # Anthropic envelope


def test_stream_mode_retry_streams_after_the_bounce(
    start_daemon: StartDaemon, sim: httpx.Client
) -> None:
    daemon = start_daemon("anthropic_stream_mode: retry\n")
    with anthropic.Anthropic(base_url=daemon.url, api_key=api.TOKEN, max_retries=0) as client:
        reply = client.messages.create(
            model="claude-opus-4-6",
            max_tokens=32000,
            timeout=30,
            messages=[{"role": "user", "content": "write a lot"}],
        )
    assert reply.content[0].text == "Echo: write a lot"
    legs = [r["body"].get("stream") for r in sent(sim, "/v1/messages")]
    assert legs == [None, True] or legs == [False, True]


def test_username_passthrough_uses_the_clients_key(
    start_daemon: StartDaemon, sim: httpx.Client
) -> None:
    daemon = start_daemon("username_passthrough: true\nauth: none\n")
    with anthropic.Anthropic(base_url=daemon.url, api_key="Alice", max_retries=0) as client:
        client.messages.create(
            model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        )
    upstream = last_sent(sim, "/v1/messages")
    assert upstream["headers"]["x-api-key"] == "alice"
    assert upstream["body"]["user"] == "alice"
    assert upstream["body"]["metadata"]["user_id"] == "alice"


def test_parameters_argo_would_reject_are_adjusted(
    client: anthropic.Anthropic, sim: httpx.Client
) -> None:
    reply = client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=50,
        messages=[{"role": "user", "content": "hi"}],
        extra_body={"temperature": 0.2, "top_p": 0.9},  # as Gemini CLI-style clients send
    )
    assert reply.content[0].text == "Echo: hi"
    sent_body = last_sent(sim, "/v1/messages")["body"]
    assert sent_body["temperature"] == 0.2 and "top_p" not in sent_body


def test_thinking_blocks_and_signatures_pass_through_verbatim(
    client: anthropic.Anthropic, sim: httpx.Client
) -> None:
    with client.messages.stream(
        model="claude-opus-4-6",
        max_tokens=2000,
        thinking={"type": "adaptive"},
        messages=[{"role": "user", "content": "think first"}],
    ) as events:
        reply = events.get_final_message()
    thinking = next(b for b in reply.content if b.type == "thinking")
    assert thinking.signature and thinking.thinking
    # the next turn sends the signed block back: ARGO must get it byte for byte
    history = [
        {"role": "user", "content": "think first"},
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in reply.content]},
        {"role": "user", "content": "and now?"},
    ]
    client.messages.create(
        model="claude-opus-4-6", max_tokens=2000, thinking={"type": "adaptive"}, messages=history
    )
    sent_back = last_sent(sim, "/v1/messages")["body"]["messages"][1]["content"][0]
    assert sent_back == {
        "type": "thinking",
        "thinking": thinking.thinking,
        "signature": thinking.signature,
    }
