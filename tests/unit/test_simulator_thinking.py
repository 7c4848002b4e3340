"""Extended thinking on the simulated ARGO's `/v1/messages`, and reasoning tokens on its
chat completions, driven over real HTTP (docs/simulator.md#thinking)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from argo_proxy.daemon.serving import bind_socket, start_server
from argo_proxy.daemon.simulator import SimulatorSettings, create_simulator_app

PREFIX = "/argoapi"
WEATHER = {
    "name": "get_weather",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
ON = {"type": "enabled", "budget_tokens": 1024}
TOOL_LOOP_WORDING = (
    "When `thinking` is enabled, a final `assistant` message must start with a thinking "
    "block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We "
    "recommend you include thinking blocks from previous turns. To avoid this requirement, "
    "disable `thinking`. Please consult our documentation at "
    "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
)


@dataclass
class Sim:
    base: str
    http: httpx.AsyncClient

    async def messages(self, body: dict[str, Any]) -> httpx.Response:
        headers = {"x-api-key": "jdoe", "anthropic-version": "2023-06-01"}
        return await self.http.post(f"{self.base}/v1/messages", json=body, headers=headers)

    async def chat(self, body: dict[str, Any]) -> httpx.Response:
        headers = {"authorization": "Bearer jdoe"}
        return await self.http.post(f"{self.base}/v1/chat/completions", json=body, headers=headers)


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    settings = SimulatorSettings(prefix=PREFIX)
    server = await start_server(create_simulator_app(settings), bind_socket("127.0.0.1", 0))
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            yield Sim(server.url + PREFIX, http)
    finally:
        await server.stop(0.5)


def request(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"model": "claudesonnet45", "max_tokens": 2000, "messages": messages, **extra}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def vendor_message(response: httpx.Response) -> str:
    """The vendor's own message inside ARGO's `Error code: 400 - {...}` envelope."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    outer = body["error"]["message"]
    assert outer.startswith("Error code: 400 - {'type': 'error', 'error': {")
    return str(outer)


async def tool_loop(sim: Sim, marker: str = "") -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A real first turn with thinking on and a tool call; (the history that hands the
    result back, the assistant content as the simulator sent it)."""
    first = [user(f"use get_weather for Paris {marker}".strip())]
    answer = await sim.messages(request(first, tools=[WEATHER], thinking=ON))
    assert answer.status_code == 200, answer.text
    content = answer.json()["content"]
    use = next(b for b in content if b["type"] == "tool_use")
    result = {"type": "tool_result", "tool_use_id": use["id"], "content": "-3 C"}
    history = [*first, {"role": "assistant", "content": content}]
    return [*history, {"role": "user", "content": [result]}], content


# --- signatures ---------------------------------------------------------------------------


async def test_signature_is_long_base64_bound_to_the_text_and_deterministic(sim: Sim) -> None:
    first = (await sim.messages(request([user("ping")], thinking=ON))).json()
    again = (await sim.messages(request([user("ping")], thinking=ON))).json()
    other = (await sim.messages(request([user("ping pong")], thinking=ON))).json()
    thinking = first["content"][0]
    assert thinking["type"] == "thinking" and thinking["thinking"]
    signature = thinking["signature"]
    assert len(signature) >= 300
    assert base64.b64encode(base64.b64decode(signature, validate=True)).decode() == signature
    assert again["content"][0] == thinking  # deterministic
    assert other["content"][0]["thinking"] != thinking["thinking"]  # depends on the request
    assert other["content"][0]["signature"] != signature


async def test_a_signed_history_passes_and_a_tampered_one_does_not(sim: Sim) -> None:
    history, content = await tool_loop(sim)
    assert [b["type"] for b in content] == ["thinking", "tool_use"]
    good = await sim.messages(request(history, tools=[WEATHER], thinking=ON))
    assert good.status_code == 200, good.text
    assert good.json()["content"][-1] == {"type": "text", "text": "Tool result received: -3 C"}

    altered = json.loads(json.dumps(history))
    altered[1]["content"][0]["thinking"] += " (edited)"
    refused = await sim.messages(request(altered, tools=[WEATHER], thinking=ON))
    assert "messages.1.content.0: Invalid `signature` in `thinking` block" in vendor_message(
        refused
    )

    # A genuine signature, but from another answer: it does not sign this text.
    elsewhere = (await sim.messages(request([user("something else")], thinking=ON))).json()
    moved = json.loads(json.dumps(history))
    moved[1]["content"][0]["signature"] = elsewhere["content"][0]["signature"]
    refused = await sim.messages(request(moved, tools=[WEATHER], thinking=ON))
    assert "messages.1.content.0: Invalid `signature` in `thinking` block" in vendor_message(
        refused
    )

    unsigned = json.loads(json.dumps(history))
    del unsigned[1]["content"][0]["signature"]
    refused = await sim.messages(request(unsigned, tools=[WEATHER], thinking=ON))
    assert "messages.1.content.0.thinking.signature: Field required" in vendor_message(refused)


async def test_signatures_are_checked_with_thinking_off_too(sim: Sim) -> None:
    history, _ = await tool_loop(sim)
    assert (await sim.messages(request(history, tools=[WEATHER]))).status_code == 200
    history[1]["content"][0]["signature"] = "RXJVQkNrWUlCeGdD" * 20
    refused = await sim.messages(request(history, tools=[WEATHER]))
    assert "messages.1.content.0: Invalid `signature` in `thinking` block" in vendor_message(
        refused
    )


async def test_empty_thinking_is_still_refused(sim: Sim) -> None:
    history, _ = await tool_loop(sim)
    history[1]["content"][0]["thinking"] = ""
    refused = await sim.messages(request(history, tools=[WEATHER], thinking=ON))
    assert "messages.1.content.0.thinking: each thinking block must contain thinking" in (
        vendor_message(refused)
    )


async def test_thinking_blocks_belong_to_assistant_turns(sim: Sim) -> None:
    signed = (await sim.messages(request([user("ping")], thinking=ON))).json()["content"][0]
    turn = {"role": "user", "content": [signed, {"type": "text", "text": "hello"}]}
    refused = await sim.messages(request([turn], thinking=ON))
    assert "messages.0.content.0: `thinking` blocks are only allowed in `assistant` messages" in (
        vendor_message(refused)
    )


# --- redacted thinking ----------------------------------------------------------------------


async def test_redacted_marker_adds_a_verifiable_redacted_block(sim: Sim) -> None:
    body = (await sim.messages(request([user("ping [[sim:redacted]]")], thinking=ON))).json()
    thinking, redacted, text = body["content"]
    assert thinking["type"] == "thinking"
    assert set(redacted) == {"type", "data"} and redacted["type"] == "redacted_thinking"
    assert len(redacted["data"]) >= 100
    base64.b64decode(redacted["data"], validate=True)
    assert text == {"type": "text", "text": "Echo: ping"}
    # Without thinking the marker adds nothing.
    plain = (await sim.messages(request([user("ping [[sim:redacted]]")]))).json()
    assert [b["type"] for b in plain["content"]] == ["text"]

    history, content = await tool_loop(sim, "[[sim:redacted]]")
    assert [b["type"] for b in content] == ["thinking", "redacted_thinking", "tool_use"]
    good = await sim.messages(request(history, tools=[WEATHER], thinking=ON))
    assert good.status_code == 200, good.text
    raw = bytearray(base64.b64decode(content[1]["data"]))
    raw[10] ^= 1
    history[1]["content"][1]["data"] = base64.b64encode(bytes(raw)).decode()
    forged = await sim.messages(request(history, tools=[WEATHER], thinking=ON))
    assert "messages.1.content.1: Invalid `data` in `redacted_thinking` block" in (
        vendor_message(forged)
    )
    history[1]["content"][1]["data"] = content[0]["signature"]  # a signature is not data
    forged = await sim.messages(request(history, tools=[WEATHER], thinking=ON))
    assert "messages.1.content.1: Invalid `data` in `redacted_thinking` block" in (
        vendor_message(forged)
    )


async def test_a_turn_may_start_with_redacted_thinking(sim: Sim) -> None:
    history, content = await tool_loop(sim, "[[sim:redacted]]")
    history[1]["content"] = content[1:]  # redacted_thinking, tool_use
    assert (await sim.messages(request(history, tools=[WEATHER], thinking=ON))).status_code == 200


# --- the final tool loop ------------------------------------------------------------------


async def test_thinking_on_needs_the_final_tool_turn_to_start_with_thinking(sim: Sim) -> None:
    history, content = await tool_loop(sim)
    without = json.loads(json.dumps(history))
    without[1]["content"] = content[1:]  # the tool_use alone
    refused = await sim.messages(request(without, tools=[WEATHER], thinking=ON))
    message = vendor_message(refused)
    assert (
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
        "`tool_use`. " + TOOL_LOOP_WORDING
    ) in message
    # Thinking off: the same history is fine.
    assert (await sim.messages(request(without, tools=[WEATHER]))).status_code == 200
    disabled = request(without, tools=[WEATHER], thinking={"type": "disabled"})
    assert (await sim.messages(disabled)).status_code == 200
    # Adaptive thinking on a model that has it counts as on.
    adaptive = request(without, tools=[WEATHER], thinking={"type": "adaptive"})
    refused = await sim.messages({**adaptive, "model": "claudeopus46"})
    assert "but found `tool_use`" in vendor_message(refused)
    # The found type is whatever comes first.
    texted = json.loads(json.dumps(without))
    texted[1]["content"].insert(0, {"type": "text", "text": "Let me look."})
    refused = await sim.messages(request(texted, tools=[WEATHER], thinking=ON))
    assert "Expected `thinking` or `redacted_thinking`, but found `text`." in (
        vendor_message(refused)
    )
    # Thinking after the text is not enough: it must come first.
    texted[1]["content"].insert(1, content[0])
    refused = await sim.messages(request(texted, tools=[WEATHER], thinking=ON))
    assert "but found `text`" in vendor_message(refused)


async def test_only_the_last_assistant_turn_needs_its_thinking(sim: Sim) -> None:
    history, content = await tool_loop(sim)
    older = json.loads(json.dumps(history))
    older[1]["content"] = content[1:]  # an earlier loop that dropped its thinking
    older.append({"role": "assistant", "content": [{"type": "text", "text": "It is -3 C."}]})
    # A final turn that is the user's own words is no tool loop.
    plain = [*older, user("thanks")]
    assert (await sim.messages(request(plain, tools=[WEATHER], thinking=ON))).status_code == 200
    # The last loop keeps its thinking: the older one may go without.
    ask = user("use get_weather for Oslo")
    fresh = await sim.messages(request([*older, ask], tools=[WEATHER], thinking=ON))
    fresh_content = fresh.json()["content"]
    assert [b["type"] for b in fresh_content] == ["thinking", "tool_use"]
    result = {"type": "tool_result", "tool_use_id": fresh_content[1]["id"], "content": "5 C"}
    kept = [
        *older,
        ask,
        {"role": "assistant", "content": fresh_content},
        {"role": "user", "content": [result]},
    ]
    answer = await sim.messages(request(kept, tools=[WEATHER], thinking=ON))
    assert answer.status_code == 200, answer.text
    # The last loop without its thinking is refused, at its own index.
    kept[5] = {"role": "assistant", "content": fresh_content[1:]}
    refused = await sim.messages(request(kept, tools=[WEATHER], thinking=ON))
    assert "messages.5.content.0.type: Expected `thinking` or `redacted_thinking`, but found " in (
        vendor_message(refused)
    )


# --- streams -----------------------------------------------------------------------------


async def test_stream_signs_what_it_streams_and_sends_redacted_blocks_whole(sim: Sim) -> None:
    body = request([user("ping [[sim:redacted]]")], thinking=ON)
    plain = (await sim.messages(body)).json()
    streamed = await sim.messages({**body, "stream": True})
    events = sse_events(streamed.text)
    starts = [d for n, d in events if n == "content_block_start"]
    assert [s["content_block"]["type"] for s in starts] == ["thinking", "redacted_thinking", "text"]
    assert starts[1]["index"] == 1
    assert set(starts[1]["content_block"]) == {"type", "data"}
    assert len(starts[1]["content_block"]["data"]) >= 100
    deltas = [d for n, d in events if n == "content_block_delta"]
    assert all(d["index"] != 1 for d in deltas)  # no deltas for the redacted block
    thinking = "".join(
        d["delta"]["thinking"] for d in deltas if d["index"] == 0 and "thinking" in d["delta"]
    )
    (signature,) = [
        d["delta"]["signature"] for d in deltas if d["delta"]["type"] == "signature_delta"
    ]
    assert thinking == plain["content"][0]["thinking"]
    assert signature == plain["content"][0]["signature"]
    stops = [d["index"] for n, d in events if n == "content_block_stop"]
    assert stops == [0, 1, 2]
    # What the stream sent, handed back, verifies.
    history = [
        body["messages"][0],
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": thinking, "signature": signature},
                starts[1]["content_block"],
                {"type": "text", "text": "Echo: ping"},
            ],
        },
        user("again"),
    ]
    assert (await sim.messages(request(history, thinking=ON))).status_code == 200


# --- reasoning tokens on chat completions --------------------------------------------------


def chat_usage_of_stream(text: str) -> dict[str, Any]:
    chunks = [json.loads(line[6:]) for line in text.split("\n") if line.startswith("data: {")]
    (usage,) = [c["usage"] for c in chunks if c.get("usage")]
    return dict(usage)


@pytest.mark.parametrize("model", ["gpt5", "gpt5mini", "gpt55", "gpto3", "o4-mini"])
async def test_reasoning_models_report_reasoning_tokens(sim: Sim, model: str) -> None:
    body = {"model": model, "messages": [user("how warm is Paris")]}
    answer = (await sim.chat(body)).json()
    assert answer["choices"][0]["message"]["content"] == "Echo: how warm is Paris"
    assert answer["choices"][0]["finish_reason"] == "stop"
    usage = answer["usage"]
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    assert reasoning > 0
    assert usage["completion_tokens"] == reasoning + 6  # Echo : how warm is Paris
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    streamed = await sim.chat({**body, "stream": True, "stream_options": {"include_usage": True}})
    assert chat_usage_of_stream(streamed.text) == usage


async def test_reasoning_follows_the_effort(sim: Sim) -> None:
    async def reasoning(effort: str | None) -> int:
        body: dict[str, Any] = {"model": "gpt5", "messages": [user("how warm is Paris")]}
        if effort is not None:
            body["reasoning_effort"] = effort
        usage = (await sim.chat(body)).json()["usage"]
        assert (
            usage["completion_tokens"] == usage["completion_tokens_details"]["reasoning_tokens"] + 6
        )
        return int(usage["completion_tokens_details"]["reasoning_tokens"])

    low, medium, high = await reasoning("low"), await reasoning("medium"), await reasoning("high")
    assert 0 < low < medium < high
    assert await reasoning(None) == medium
    assert await reasoning("minimal") == 0  # GPT-5 refuses "none" (the policy's rule)


async def test_reasoning_comes_out_of_the_limit_first(sim: Sim) -> None:
    words = " ".join(f"w{i}" for i in range(30))
    body = {"model": "gpt5", "messages": [user(words)], "reasoning_effort": "high"}
    free = (await sim.chat(body)).json()["usage"]["completion_tokens_details"]["reasoning_tokens"]
    assert free >= 128  # above the reasoning floor
    # Room for the reasoning and three tokens of text.
    cut = (await sim.chat({**body, "max_completion_tokens": free + 3})).json()
    assert cut["choices"][0]["message"]["content"] == "Echo: w0"
    assert cut["choices"][0]["finish_reason"] == "length"
    assert cut["usage"]["completion_tokens"] == free + 3
    # Below the reasoning floor everything goes to reasoning.
    eaten = (await sim.chat({**body, "max_completion_tokens": 100})).json()
    assert eaten["choices"][0]["message"]["content"] == ""
    assert eaten["choices"][0]["finish_reason"] == "length"
    details = eaten["usage"]["completion_tokens_details"]
    assert details["reasoning_tokens"] == eaten["usage"]["completion_tokens"] == 100


async def test_other_models_report_no_reasoning(sim: Sim) -> None:
    for model in ("gpt4o", "gpt41"):
        usage = (await sim.chat({"model": model, "messages": [user("hi")]})).json()["usage"]
        assert usage["completion_tokens_details"]["reasoning_tokens"] == 0
        assert usage["completion_tokens"] == 3  # Echo : hi
    gemini = (await sim.chat({"model": "gemini25pro", "messages": [user("hi")]})).json()
    assert "completion_tokens_details" not in gemini["usage"]
