"""The translation matrix: every client format's official SDK against a GPT, a Claude
and a Gemini model on the simulated ARGO, streamed and not, with a two-step tool
round trip and an image — asserting what the SDK's user sees."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from . import api
from .clients import Adapter, make
from .conftest import Process
from .helpers import last_sent

CLIENTS = ["openai_chat", "openai_responses", "anthropic", "google_v1", "google_v1beta"]
MODELS = {  # the name a user types → (ARGO id, ARGO endpoint)
    "argo:gpt-4o": ("gpt4o", "/v1/chat/completions"),
    "claude-sonnet-4-6": ("claudesonnet46", "/v1/messages"),
    "gemini-2.5-flash": ("gemini25flash", "/v1/chat/completions"),
}


@pytest.fixture(params=CLIENTS)
def client(request: pytest.FixtureRequest, daemon: Process) -> Iterator[Adapter]:
    adapter = make(request.param, daemon.url)
    yield adapter
    adapter.close()


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("model", list(MODELS))
def test_text(client: Adapter, sim: httpx.Client, model: str, stream: bool) -> None:
    answer = client.ask(model, "What is the capital of France?", stream)
    assert answer.text == "Echo: What is the capital of France?"
    assert answer.finish == "stop"
    assert answer.usage_total > 0
    internal, path = MODELS[model]
    upstream = last_sent(sim, path)
    assert upstream["body"]["model"] == internal
    assert upstream["body"]["user"] == "jdoe"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("model", list(MODELS))
def test_tool_round_trip(client: Adapter, model: str, stream: bool) -> None:
    call, state = client.ask_tool(model, "What is the weather in Paris? Use get_weather.", stream)
    assert call.name == "get_weather"
    assert isinstance(call.arguments.get("city"), str) and call.arguments["city"]
    answer = client.answer_tool(model, state, call, "22 C and sunny", stream)
    assert answer.text.startswith("Tool result received:")
    assert "22 C and sunny" in answer.text
    assert answer.finish == "stop"


@pytest.mark.parametrize("model", list(MODELS))
def test_image_reaches_argo_inline(client: Adapter, sim: httpx.Client, model: str) -> None:
    answer = client.ask_image(model, "Describe this picture")
    assert answer.text == "Echo: Describe this picture"
    _, path = MODELS[model]
    content = last_sent(sim, path)["body"]["messages"][-1]["content"]
    if path == "/v1/messages":
        images = [part for part in content if part.get("type") == "image"]
        assert images and images[0]["source"]["type"] == "base64"
        assert images[0]["source"]["media_type"] == "image/png"
    else:
        images = [part for part in content if part.get("type") == "image_url"]
        assert images and images[0]["image_url"]["url"].startswith("data:image/png;base64,")


@pytest.mark.parametrize("model", list(MODELS))
def test_two_parallel_tool_calls_and_their_results(daemon: Process, model: str) -> None:
    import openai

    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    with openai.OpenAI(base_url=f"{daemon.url}/v1", api_key=api.TOKEN, max_retries=0) as client:
        messages: list[dict] = [
            {"role": "user", "content": "Use get_weather twice [[sim:tools=2]]"}
        ]
        reply = client.chat.completions.create(model=model, messages=messages, tools=tools)
        calls = reply.choices[0].message.tool_calls or []
        assert len(calls) == 2 and len({c.id for c in calls}) == 2
        messages.append(reply.choices[0].message.model_dump(exclude_none=True))
        messages += [
            {"role": "tool", "tool_call_id": c.id, "content": f"result {i}"}
            for i, c in enumerate(calls)
        ]
        final = client.chat.completions.create(model=model, messages=messages, tools=tools)
    # Gemini takes one call per turn: the daemon unwinds the pair, so its last turn holds
    # only the second result; the others get both in one turn.
    expected = "result 1" if "gemini" in model else "result 0 result 1"
    assert final.choices[0].message.content == f"Tool result received: {expected}"
