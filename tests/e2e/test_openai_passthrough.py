"""The official `openai` SDK against a real daemon in front of the simulated ARGO."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from . import api
from .conftest import Process
from .helpers import WEATHER_TOOL_OPENAI, last_sent


@pytest.fixture()
def client(daemon: Process) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{daemon.url}/v1", api_key=api.TOKEN, max_retries=0) as client:
        yield client


@pytest.mark.parametrize(
    ("alias", "internal"), [("argo:gpt-4o", "gpt4o"), ("argo:gemini-2.5-pro", "gemini25pro")]
)
def test_chat_non_streaming(
    client: openai.OpenAI, sim: httpx.Client, alias: str, internal: str
) -> None:
    reply = client.chat.completions.create(
        model=alias, messages=[{"role": "user", "content": "hello there"}]
    )
    assert reply.choices[0].message.content == "Echo: hello there"
    assert reply.choices[0].finish_reason == "stop"
    upstream = last_sent(sim, "/v1/chat/completions")
    assert upstream["body"]["model"] == internal
    assert upstream["body"]["user"] == "jdoe"
    assert upstream["headers"]["authorization"] == "Bearer jdoe"


@pytest.mark.parametrize("alias", ["argo:gpt-4o", "gemini-2.5-flash"])
def test_chat_streaming_relays_every_delta(client: openai.OpenAI, alias: str) -> None:
    stream = client.chat.completions.create(
        model=alias,
        messages=[{"role": "user", "content": "stream me [[sim:deltas=12]]"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    deltas, finish, usage = [], None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                deltas.append(choice.delta.content)
            finish = choice.finish_reason or finish
    assert len(deltas) == 12
    assert "".join(deltas).startswith("Echo: stream me")
    assert finish == "stop"
    assert usage is not None and usage.total_tokens > 0


def test_developer_role_is_sent_as_system(client: openai.OpenAI, sim: httpx.Client) -> None:
    reply = client.chat.completions.create(
        model="argo:gpt-4o",
        messages=[
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "hi"},
        ],
    )
    assert reply.choices[0].message.content == "Echo: hi"
    assert last_sent(sim, "/v1/chat/completions")["body"]["messages"][0]["role"] == "system"


@pytest.mark.parametrize("stream", [False, True])
def test_tool_call_round_trip(client: openai.OpenAI, stream: bool) -> None:
    messages: list[dict] = [
        {"role": "user", "content": "What is the weather in Paris? Use get_weather."}
    ]
    kwargs = {"model": "argo:gpt-4o", "tools": [WEATHER_TOOL_OPENAI]}
    if stream:
        calls: dict[int, dict] = {}
        finish = None
        for chunk in client.chat.completions.create(messages=messages, stream=True, **kwargs):
            for choice in chunk.choices:
                finish = choice.finish_reason or finish
                for call in choice.delta.tool_calls or []:
                    entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                    entry["id"] += call.id or ""
                    entry["name"] += (call.function.name or "") if call.function else ""
                    entry["arguments"] += (call.function.arguments or "") if call.function else ""
        assert finish == "tool_calls"
        call_id, name, arguments = calls[0]["id"], calls[0]["name"], calls[0]["arguments"]
    else:
        reply = client.chat.completions.create(messages=messages, **kwargs)
        assert reply.choices[0].finish_reason == "tool_calls"
        call = reply.choices[0].message.tool_calls[0]
        call_id, name, arguments = call.id, call.function.name, call.function.arguments
    assert name == "get_weather"
    assert "city" in json.loads(arguments)

    messages += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": "22 C and sunny"},
    ]
    final = client.chat.completions.create(messages=messages, **kwargs)
    assert final.choices[0].message.content == "Tool result received: 22 C and sunny"


def test_embeddings(client: openai.OpenAI, sim: httpx.Client) -> None:
    result = client.embeddings.create(model="text-embedding-3-small", input=["one", "two"])
    assert [len(item.embedding) for item in result.data] == [1536, 1536]
    again = client.embeddings.create(model="argo:text-embedding-3-small", input=["one", "two"])
    assert again.data[0].embedding == result.data[0].embedding  # deterministic upstream
    upstream = last_sent(sim, "/v1/embeddings")["body"]
    assert (upstream["model"], upstream["user"]) == ("v3small", "jdoe")


def test_model_list(client: openai.OpenAI) -> None:
    ids = {model.id for model in client.models.list()}
    assert {
        "argo:gpt-4o",
        "argo:o3-mini",
        "argo:claude-opus-4.6",
        "argo:gemini-2.5-pro",
        "argo:text-embedding-3-small",
    } <= ids


def test_unknown_model_is_a_404_naming_close_models(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(
            model="gpt-4o-mini-turbo", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.code == "model_not_found"
    assert "argo:" in caught.value.message and "/v1/models" in caught.value.message
