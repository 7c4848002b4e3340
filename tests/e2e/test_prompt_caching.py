"""Prompt caching survives conversion (docs/translation.md#prompt-caching): a request
from an OpenAI Chat, Responses or Google client to a Claude model reaches ARGO with
llm-rosetta's `cache_control` breakpoints on the system prompt, the tools and the last
two user turns, so that later work cannot lose them silently."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from google import genai
from google.genai import types

from . import api
from .clients import WEATHER_SCHEMA
from .conftest import Process
from .helpers import last_sent

MODEL = "claudesonnet46"
SYSTEM = "You are a terse assistant."
TURNS = ["first question", "first answer", "second question", "second answer", "third question"]
TOOLS = ("lookup_city", "lookup_time")
EPHEMERAL = {"type": "ephemeral"}


def _role(index: int) -> str:
    return "user" if index % 2 == 0 else "assistant"


def chat(url: str, stream: bool) -> None:
    messages: Any = [{"role": "system", "content": SYSTEM}] + [
        {"role": _role(i), "content": text} for i, text in enumerate(TURNS)
    ]
    tools: Any = [
        {"type": "function", "function": {"name": n, "parameters": WEATHER_SCHEMA}} for n in TOOLS
    ]
    with openai.OpenAI(base_url=f"{url}/v1", api_key=api.TOKEN, max_retries=0) as client:
        if stream:
            for _ in client.chat.completions.create(
                model=MODEL, messages=messages, tools=tools, stream=True
            ):
                pass
        else:
            client.chat.completions.create(model=MODEL, messages=messages, tools=tools)


def responses(url: str, stream: bool) -> None:
    items: Any = [{"role": _role(i), "content": text} for i, text in enumerate(TURNS)]
    tools: Any = [{"type": "function", "name": n, "parameters": WEATHER_SCHEMA} for n in TOOLS]
    with openai.OpenAI(base_url=f"{url}/v1", api_key=api.TOKEN, max_retries=0) as client:
        if stream:
            with client.responses.stream(
                model=MODEL, instructions=SYSTEM, input=items, tools=tools
            ) as events:
                events.get_final_response()
        else:
            client.responses.create(
                model=MODEL, instructions=SYSTEM, input=items, tools=tools, store=False
            )


def google(url: str, stream: bool) -> None:
    contents = [
        types.Content(role="user" if i % 2 == 0 else "model", parts=[types.Part(text=text)])
        for i, text in enumerate(TURNS)
    ]
    declarations = [
        types.FunctionDeclaration(name=n, parameters_json_schema=WEATHER_SCHEMA) for n in TOOLS
    ]
    config = types.GenerateContentConfig(
        system_instruction=SYSTEM,
        tools=[types.Tool(function_declarations=declarations)],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    options = types.HttpOptions(base_url=url, api_version="v1beta")
    with genai.Client(api_key=api.TOKEN, http_options=options) as client:
        if stream:
            list(
                client.models.generate_content_stream(model=MODEL, contents=contents, config=config)
            )
        else:
            client.models.generate_content(model=MODEL, contents=contents, config=config)


def _breakpoints(value: Any, path: str = "") -> list[str]:
    """Where `cache_control` is set in a body, as paths."""
    found = []
    if isinstance(value, dict):
        if "cache_control" in value:
            assert value["cache_control"] == EPHEMERAL, path
            found.append(path)
        for key, item in value.items():
            found += _breakpoints(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _breakpoints(item, f"{path}[{index}]")
    return found


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("client", [chat, responses, google])
def test_converted_requests_reach_claude_with_their_cache_breakpoints(
    daemon: Process, sim: httpx.Client, client: Callable[[str, bool], None], stream: bool
) -> None:
    client(daemon.url, stream)
    body = last_sent(sim, "/v1/messages")["body"]
    assert [m["role"] for m in body["messages"]] == [_role(i) for i in range(len(TURNS))]
    assert body["system"][-1]["text"] == SYSTEM
    assert [tool["name"] for tool in body["tools"]] == list(TOOLS)
    # the system prompt, the last tool, the last block of the last two user turns: four,
    # Anthropic's most
    assert sorted(_breakpoints(body)) == [
        "messages[2].content[0]",
        "messages[4].content[0]",
        f"system[{len(body['system']) - 1}]",
        f"tools[{len(TOOLS) - 1}]",
    ]
