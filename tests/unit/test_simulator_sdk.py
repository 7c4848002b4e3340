"""The official OpenAI and Anthropic SDKs can talk to the simulated ARGO directly."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anthropic
import openai
import pytest

from argo_proxy.daemon.serving import bind_socket, start_server
from argo_proxy.daemon.simulator import SimulatorSettings, create_simulator_app

WEATHER = {
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


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    settings = SimulatorSettings(prefix="/argoapi")
    server = await start_server(create_simulator_app(settings), bind_socket("127.0.0.1", 0))
    try:
        yield server.url + "/argoapi"
    finally:
        await server.stop(0.5)


@pytest.fixture
async def oai(base_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="jdoe", max_retries=0) as c:
        yield c


@pytest.fixture
async def claude(base_url: str) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="jdoe", max_retries=0) as c:
        yield c


async def test_openai_sdk_chat_and_stream(oai: openai.AsyncOpenAI) -> None:
    done = await oai.chat.completions.create(
        model="gpt4o", messages=[{"role": "user", "content": "hello sdk"}]
    )
    assert done.choices[0].message.content == "Echo: hello sdk"
    assert done.model == "gpt-4o-2024-11-20"
    stream = await oai.chat.completions.create(
        model="gpt5mini",
        messages=[{"role": "user", "content": "stream me"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    async for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        if chunk.usage is not None:
            usage = chunk.usage
    assert text == "Echo: stream me"
    assert usage is not None and usage.completion_tokens_details is not None
    # GPT-5 reasons first: its reasoning tokens are part of the completion.
    reasoning = usage.completion_tokens_details.reasoning_tokens
    assert reasoning is not None and reasoning > 0
    assert usage.completion_tokens == 4 + reasoning


async def test_openai_sdk_streamed_tool_call(oai: openai.AsyncOpenAI) -> None:
    stream = await oai.chat.completions.create(
        model="gemini35flash",
        messages=[{"role": "user", "content": "Oslo [[sim:tools=1]]"}],
        tools=[WEATHER],  # type: ignore[list-item]
        stream=True,
    )
    names, arguments, finish = [], "", None
    async for chunk in stream:
        choice = chunk.choices[0]
        for call in choice.delta.tool_calls or []:
            if call.function and call.function.name:
                names.append(call.function.name)
            if call.function and call.function.arguments:
                arguments += call.function.arguments
        finish = choice.finish_reason or finish
    assert names == ["get_weather"] and json.loads(arguments) == {"city": "Oslo"}
    assert finish == "tool_calls"


async def test_openai_sdk_errors_and_embeddings(oai: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await oai.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.code == "model_not_found"
    vectors = await oai.embeddings.create(model="text-embedding-3-large", input=["a", "b"])
    assert [len(item.embedding) for item in vectors.data] == [3072, 3072]


async def test_anthropic_sdk_message_stream_and_tool_use(claude: anthropic.AsyncAnthropic) -> None:
    message = await claude.messages.create(
        model="claudeopus46",
        max_tokens=256,
        thinking={"type": "adaptive"},  # type: ignore[typeddict-item]
        messages=[{"role": "user", "content": "hello claude"}],
    )
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert message.content[1].text == "Echo: hello claude"  # type: ignore[union-attr]
    async with claude.messages.stream(
        model="claudesonnet46", max_tokens=256, messages=[{"role": "user", "content": "a b c"}]
    ) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
    assert text == "Echo: a b c" and final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 5
    async with claude.messages.stream(
        model="claudehaiku45",
        max_tokens=256,
        tools=[{"name": "get_weather", "input_schema": WEATHER["function"]["parameters"]}],  # type: ignore[index]
        messages=[{"role": "user", "content": "Rome [[sim:tools=1]]"}],
    ) as stream:
        final = await stream.get_final_message()
    (block,) = final.content
    assert block.type == "tool_use" and block.input == {"city": "Rome"}
    assert final.stop_reason == "tool_use"


async def test_anthropic_sdk_sees_the_streaming_required_error(
    claude: anthropic.AsyncAnthropic,
) -> None:
    # The SDK itself refuses huge non-streaming calls, so send one it allows but ARGO
    # (with Opus 4.1's 8,192 cap) does not.
    with pytest.raises(anthropic.InternalServerError, match="Streaming is required"):
        await claude.messages.create(
            model="claudeopus41", max_tokens=10000, messages=[{"role": "user", "content": "x"}]
        )
