"""Legacy mode end to end: the official `openai` SDK and raw HTTP against a real daemon
in front of the simulated ARGO's legacy gateway, with legacy mode switched on by the
config file and, separately, live by `argo-proxy ctl legacy on`; and the 404s while
legacy mode is off."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from . import api
from .conftest import _EXE, Process, StartDaemon
from .helpers import WEATHER_TOOL_OPENAI, inject, last_sent, sent
from .test_streams import read_sse  # a strict SSE reader: event names, data, [DONE]

CHAT = "/api/v1/resource/chat/"
STREAMCHAT = "/api/v1/resource/streamchat/"
EMBED = "/api/v1/resource/embed/"
# Two- three- and four-byte characters: the simulated streamchat cuts chunks inside them.
UNICODE = "Grüße aus Köln 世界 naïve café 🌍 ✓ ok"


def ctl_legacy(daemon: Process, value: str) -> str:
    result = subprocess.run(
        [_EXE, "ctl", "legacy", value, "--control-socket", str(daemon.control_socket)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout


@pytest.fixture(scope="module", params=["config", "ctl"])
def legacy_daemon(request: pytest.FixtureRequest, start_daemon: StartDaemon) -> Process:
    """A daemon in legacy mode: from `use_legacy_argo: true`, or switched on live."""
    if request.param == "config":
        return start_daemon("use_legacy_argo: true\n")
    daemon = start_daemon()
    assert api.post(f"{daemon.url}/v1/chat", json={}).status_code == 404
    assert ctl_legacy(daemon, "on").startswith("legacy mode on")
    return daemon


@pytest.fixture()
def client(legacy_daemon: Process) -> Iterator[openai.OpenAI]:
    url = f"{legacy_daemon.url}/v1"
    with openai.OpenAI(base_url=url, api_key=api.TOKEN, max_retries=0) as client:
        yield client


# ------------------------------------------------------------------- chat completions


def test_chat_completions_go_to_the_legacy_chat(client: openai.OpenAI, sim: httpx.Client) -> None:
    reply = client.chat.completions.create(
        model="argo:gpt-4o",
        messages=[
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "hello there"},
        ],
        temperature=0.2,
    )
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.content == "Echo: hello there"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.prompt_tokens > 0
    upstream = last_sent(sim, CHAT)
    assert upstream["body"] == {
        "model": "gpt4o",
        "user": "jdoe",
        "temperature": 0.2,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello there"},
        ],
    }
    assert "authorization" not in upstream["headers"]  # identity is the body's user only
    assert sent(sim, "/v1/chat/completions") == []


def test_chat_completions_stream_ends_properly(legacy_daemon: Process, sim: httpx.Client) -> None:
    body = {
        "model": "argo:gpt-4o",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": f"{UNICODE} [[sim:fault=split]]"}],
    }
    events = [data for _, data in read_sse(legacy_daemon.url, "/v1/chat/completions", body)]
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == f"Echo: {UNICODE}"
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "stop" and finishes.count("stop") == 1
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
    assert len({c["id"] for c in chunks}) == 1
    assert sent(sim, STREAMCHAT)


def test_chat_completions_stream_with_the_sdk(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gemini-2.5-flash",
        messages=[{"role": "user", "content": "stream me [[sim:deltas=8]]"}],
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("Echo: stream me")
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)  # no usage chunk unless asked


@pytest.mark.parametrize(
    ("model", "tool_shape"),
    [
        ("argo:gpt-4o", {"type": "function", "function": WEATHER_TOOL_OPENAI["function"]}),
        (
            "claude-sonnet-4-5",
            {
                "name": "get_weather",
                "description": "Current weather for a city",
                "input_schema": WEATHER_TOOL_OPENAI["function"]["parameters"],
            },
        ),
        (
            "gemini-2.5-flash",
            {
                "name": "get_weather",
                "description": "Current weather for a city",
                "parameters": WEATHER_TOOL_OPENAI["function"]["parameters"],
            },
        ),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls_use_each_vendors_native_shape(
    client: openai.OpenAI, sim: httpx.Client, model: str, tool_shape: Any, stream: bool
) -> None:
    request: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": "get_weather in Paris"}],
        "tools": [WEATHER_TOOL_OPENAI],
    }
    if stream:
        chunks = list(client.chat.completions.create(**request, stream=True))
        calls = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or []]
        finish = chunks[-1].choices[0].finish_reason
        name, arguments = calls[0].function.name, calls[0].function.arguments  # type: ignore[union-attr]
    else:
        reply = client.chat.completions.create(**request)
        finish = reply.choices[0].finish_reason
        calls = reply.choices[0].message.tool_calls or []  # type: ignore[assignment]
        name, arguments = calls[0].function.name, calls[0].function.arguments  # type: ignore[union-attr]
    assert len(calls) == 1 and finish == "tool_calls"
    assert name == "get_weather"
    assert json.loads(arguments or "{}") == {"city": "get_weather in Paris"}
    # streamchat cannot call tools (docs/argo.md#legacy-streams): always the non-streaming chat
    upstream = last_sent(sim, CHAT)["body"]
    assert upstream["tools"] == [tool_shape]
    assert sent(sim, STREAMCHAT) == []


def test_a_tool_round_trip_on_claude(client: openai.OpenAI, sim: httpx.Client) -> None:
    reply = client.chat.completions.create(
        model="claude-sonnet-4-5",
        tools=[WEATHER_TOOL_OPENAI],
        messages=[
            {"role": "system", "content": "Use tools."},
            {"role": "user", "content": "weather in Paris and Rome"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{city}",
                        "type": "function",
                        "function": {
                            "name": "get_weather",
                            "arguments": json.dumps({"city": city}),
                        },
                    }
                    for city in ("Paris", "Rome")
                ],
            },
            {"role": "tool", "tool_call_id": "call_Paris", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_Rome", "content": "rain"},
        ],
    )
    assert reply.choices[0].message.content == "Tool result received: sunny rain"
    messages = last_sent(sim, CHAT)["body"]["messages"]
    assert messages[0] == {"role": "system", "content": "Use tools."}
    assert [b["type"] for b in messages[2]["content"]] == ["tool_use", "tool_use"]
    assert [b["tool_use_id"] for b in messages[3]["content"]] == ["call_Paris", "call_Rome"]


# -------------------------------------------------------------------- text completions


def test_text_completions(client: openai.OpenAI, sim: httpx.Client) -> None:
    reply = client.completions.create(
        model="argo:gpt-4o", prompt="Say hi", max_tokens=50, stop="\n\n"
    )
    assert reply.object == "text_completion"
    assert reply.choices[0].text == "Echo: Say hi"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.total_tokens > 0
    upstream = last_sent(sim, CHAT)["body"]
    assert upstream["prompt"] == ["Say hi"] and "messages" not in upstream
    assert upstream["stop"] == ["\n\n"] and upstream["max_tokens"] == 50


def test_text_completions_stream(client: openai.OpenAI) -> None:
    stream = client.completions.create(
        model="argo:gpt-4o",
        prompt=f"{UNICODE} [[sim:deltas=6]]",
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert all(c.object == "text_completion" for c in chunks)
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text.startswith(f"Echo: {UNICODE}")
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_text_completions_refuse_what_the_gateway_cannot_do(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="'echo'"):
        client.completions.create(model="argo:gpt-4o", prompt="hi", echo=True)
    with pytest.raises(openai.BadRequestError, match="one non-empty string"):
        client.completions.create(model="argo:gpt-4o", prompt=["a", "b"])


# ---------------------------------------------------------------------------- responses


def test_responses_stream_is_accepted_by_the_sdk(client: openai.OpenAI, sim: httpx.Client) -> None:
    with client.responses.stream(
        model="argo:gpt-4o", input="hello responses", instructions="Be brief."
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert final.output_text == "Echo: hello responses"
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds.count("response.completed") == 1 and kinds[-1] == "response.completed"
    for kind in (
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ):
        assert kind in kinds
    messages = last_sent(sim, STREAMCHAT)["body"]["messages"]
    assert messages[0] == {"role": "system", "content": "Be brief."}


def test_responses_non_streamed(client: openai.OpenAI) -> None:
    reply = client.responses.create(model="claude-sonnet-4-5", input="hi there", store=False)
    assert reply.output_text == "Echo: hi there"
    assert reply.usage is not None and reply.usage.output_tokens > 0


# --------------------------------------------------------------------- the direct routes


def test_v1_chat_forwards_the_body(legacy_daemon: Process, sim: httpx.Client) -> None:
    body = {
        "model": "argo:gpt-4o",
        "system": "You are Argo.",
        "prompt": "What is your name?",
        "temperature": 0.1,
    }
    reply = api.post(f"{legacy_daemon.url}/v1/chat", json=body)
    assert reply.status_code == 200
    assert reply.json() == {"response": "Echo: What is your name?"}
    upstream = last_sent(sim, CHAT)["body"]
    assert upstream == {**body, "model": "gpt4o", "prompt": ["What is your name?"], "user": "jdoe"}


def test_v1_chat_stream_is_raw_text_decoded_exactly(
    legacy_daemon: Process, sim: httpx.Client
) -> None:
    body = {
        "model": "argo:gpt-4o",
        "stream": True,
        "messages": [{"role": "user", "content": f"{UNICODE} [[sim:fault=split]]"}],
    }
    with api.stream("POST", f"{legacy_daemon.url}/v1/chat", json=body) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"] == "text/plain; charset=utf-8"
        data = reply.read()
    assert data.decode("utf-8") == f"Echo: {UNICODE}"
    # The daemon accepts gzip, so the simulated ARGO compressed the split stream too.
    assert "gzip" in last_sent(sim, STREAMCHAT)["headers"]["accept-encoding"]


def test_v1_chat_complaint_is_a_400(legacy_daemon: Process) -> None:
    body = {
        "model": "argo:gpt-4o",
        "messages": [{"role": "user", "content": "hi"}],
        "prompt": ["x"],
    }
    for stream in (False, True):
        reply = api.post(f"{legacy_daemon.url}/v1/chat", json={**body, "stream": stream})
        assert reply.status_code == 400
        assert "You passed a messages field" in reply.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/chat/completions"])
@pytest.mark.parametrize("stream", [False, True])
def test_auth_notice_is_a_403(legacy_daemon: Process, path: str, stream: bool) -> None:
    body = {
        "model": "argo:gpt-4o",
        "stream": stream,
        "messages": [{"role": "user", "content": "hi [[sim:fault=auth_notice,later=1]]"}],
    }
    reply = api.post(f"{legacy_daemon.url}{path}", json=body)
    assert reply.status_code == 403
    assert "not registered in ARGO" in reply.json()["error"]["message"]


def test_stream_broken_off_ends_in_an_error(client: openai.OpenAI, sim: httpx.Client) -> None:
    inject(sim, fault="cut", after=3, path=STREAMCHAT)
    stream = client.chat.completions.create(
        model="argo:gpt-4o",
        messages=[{"role": "user", "content": "one two three four five six"}],
        stream=True,
    )
    with pytest.raises(openai.APIError, match="broke off"):
        list(stream)


def test_v1_embed_and_v1_embeddings(
    legacy_daemon: Process, client: openai.OpenAI, sim: httpx.Client
) -> None:
    direct = api.post(
        f"{legacy_daemon.url}/v1/embed", json={"model": "v3small", "input": ["a", "b"]}
    )
    assert direct.status_code == 200
    vectors = direct.json()["embedding"]
    assert len(vectors) == 2 and len(vectors[0]) == 1536
    assert last_sent(sim, EMBED)["body"] == {
        "model": "v3small",
        "prompt": ["a", "b"],
        "user": "jdoe",
    }
    # The SDK asks for base64 by default; the floats come back the same.
    reply = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert [d.index for d in reply.data] == [0, 1]
    assert reply.data[1].embedding == pytest.approx(vectors[1], abs=1e-6)
    assert reply.usage.prompt_tokens > 0
    assert sent(sim, "/v1/embeddings") == []


# --------------------------------------------------------------------------- legacy off


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/embed", "/v1/completions"])
def test_legacy_routes_are_404_while_legacy_is_off(daemon: Process, path: str) -> None:
    reply = api.post(f"{daemon.url}{path}", json={"model": "argo:gpt-4o", "prompt": "hi"})
    assert reply.status_code == 404
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "legacy mode is off" in error["message"]
    assert "argo-proxy ctl legacy on" in error["message"]


def test_legacy_switched_off_live(start_daemon: StartDaemon, sim: httpx.Client) -> None:
    daemon = start_daemon("use_legacy_argo: true\n")
    body = {"model": "argo:gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    assert api.post(f"{daemon.url}/v1/chat", json=body).status_code == 200
    assert ctl_legacy(daemon, "off").startswith("legacy mode off")
    assert api.post(f"{daemon.url}/v1/chat", json=body).status_code == 404
    reply = api.post(f"{daemon.url}/v1/chat/completions", json=body)
    assert reply.json()["choices"][0]["message"]["content"] == "Echo: hi"
    assert sent(sim, "/v1/chat/completions") and len(sent(sim, CHAT)) == 1


@pytest.mark.parametrize("stream", [False, True])
def test_responses_tool_calls(client: openai.OpenAI, sim: httpx.Client, stream: bool) -> None:
    tool = {"type": "function", **WEATHER_TOOL_OPENAI["function"]}
    request: dict[str, Any] = {"model": "claude-sonnet-4-5", "input": "get_weather in Rome"}
    if stream:
        with client.responses.stream(**request, tools=[tool]) as events:  # type: ignore[arg-type]
            kinds = [event.type for event in events]
            reply = events.get_final_response()
        assert kinds.count("response.completed") == 1
    else:
        reply = client.responses.create(**request, tools=[tool], store=False)  # type: ignore[arg-type]
    (item,) = [item for item in reply.output if item.type == "function_call"]
    assert item.name == "get_weather" and json.loads(item.arguments) == {
        "city": "get_weather in Rome"
    }
    assert last_sent(sim, CHAT)["body"]["tools"][0]["input_schema"] == tool["parameters"]
