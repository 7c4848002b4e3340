"""Agents that think: a three-turn tool loop with thinking or reasoning on, from each
client format, through the official SDKs, against the simulated ARGO that applies
Anthropic's thinking rules (docs/translation.md#thinking, docs/simulator.md).

Turn 1 asks for the weather tool; the first result asks the model for the tool again
(`[[sim:tools=1]]`), so turn 2 is a second tool turn; turn 3 is the answer. Claude
refuses turn 2 and 3 unless the last tool turn starts with its signed thinking block.
Each client keeps its history the way such agents do: everything the SDK gave it, or
only the standard fields of a turn (the daemon's store restores the thinking), or
across a daemon restart (thinking is turned off for that request, the loop completes).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types

from . import api
from .conftest import _EXE, Process, StartDaemon, clean_env
from .helpers import sent

CLAUDE = "claude-sonnet-4-5"  # Claude Code's alias; ARGO answers claude-sonnet-4-5-20250929
GPT5 = "gpt-5"
PROMPT = "Use get_weather for Paris"
AGAIN = "sunny [[sim:tools=1]]"  # the first result: the model calls the tool again
LAST = "rainy"
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


@dataclass
class Turn:
    text: str
    calls: list[tuple[str, str]]  # (call id, tool name)
    model: str  # as the answer named it
    thinking: str = ""  # the thinking text the client was shown


@dataclass
class Loop:
    """One client's conversation; `keep` says what of each answer it keeps."""

    url: str
    model: str
    stream: bool
    standard_only: bool = False
    history: list[Any] = field(default_factory=list)

    def ask(self) -> Turn:
        raise NotImplementedError

    def answer(self, call_id: str, result: str) -> Turn:
        raise NotImplementedError


class ChatLoop(Loop):
    def _client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=api.TOKEN, max_retries=0)

    def _send(self) -> Turn:
        tools = [{"type": "function", "function": {"name": "get_weather", "parameters": SCHEMA}}]
        kw: dict[str, Any] = {
            "model": self.model,
            "messages": self.history,
            "tools": tools,
            "reasoning_effort": "high",
        }
        with self._client() as client:
            if not self.stream:
                reply = client.chat.completions.create(**kw)
                message = reply.choices[0].message.model_dump(exclude_none=True)
                model = reply.model
            else:
                message, model = {"role": "assistant", "content": ""}, ""
                calls: dict[int, dict[str, Any]] = {}
                for chunk in client.chat.completions.create(**kw, stream=True):
                    model = chunk.model or model
                    for choice in chunk.choices:
                        delta = choice.delta.model_dump(exclude_none=True)
                        message["content"] += delta.get("content") or ""
                        for key in ("reasoning_content",):
                            if delta.get(key):
                                message[key] = message.get(key, "") + delta[key]
                        message.setdefault("thinking_blocks", []).extend(
                            delta.get("thinking_blocks") or []
                        )
                        for call in delta.get("tool_calls") or []:
                            entry = calls.setdefault(
                                call["index"],
                                {
                                    "id": "",
                                    "type": "function",
                                    "function": {"name": "", "arguments": ""},
                                },
                            )
                            entry["id"] += call.get("id") or ""
                            function = call.get("function") or {}
                            entry["function"]["name"] += function.get("name") or ""
                            entry["function"]["arguments"] += function.get("arguments") or ""
                if calls:
                    message["tool_calls"] = [calls[i] for i in sorted(calls)]
                if not message["thinking_blocks"]:
                    del message["thinking_blocks"]
        thinking = message.get("reasoning_content", "")
        if self.standard_only:
            message = {k: message[k] for k in ("role", "content", "tool_calls") if k in message}
        self.history.append(message)
        calls_made = [(c["id"], c["function"]["name"]) for c in message.get("tool_calls") or []]
        return Turn(message.get("content") or "", calls_made, model, thinking)

    def ask(self) -> Turn:
        self.history.append({"role": "user", "content": PROMPT})
        return self._send()

    def answer(self, call_id: str, result: str) -> Turn:
        self.history.append({"role": "tool", "tool_call_id": call_id, "content": result})
        return self._send()


class ResponsesLoop(Loop):
    def _send(self) -> Turn:
        kw: dict[str, Any] = {
            "model": self.model,
            "input": self.history,
            "tools": [{"type": "function", "name": "get_weather", "parameters": SCHEMA}],
            "reasoning": {"effort": "high", "summary": "auto"},
            "include": ["reasoning.encrypted_content"],
            "store": False,  # as Codex: the whole conversation every time
        }
        with openai.OpenAI(base_url=f"{self.url}/v1", api_key=api.TOKEN, max_retries=0) as client:
            if self.stream:
                done: list[dict[str, Any]] = []
                with client.responses.stream(**kw) as events:
                    for event in events:  # Codex keeps the items as each is done
                        if event.type == "response.output_item.done":
                            done.append(event.item.model_dump(exclude_none=True))
                    reply = events.get_final_response()
                items = done
            else:
                reply = client.responses.create(**kw)
                items = [item.model_dump(exclude_none=True) for item in reply.output]
        thinking = " ".join(
            s["text"] for i in items if i["type"] == "reasoning" for s in i.get("summary", [])
        )
        for item in items:
            item.pop("status", None)
        self.history.extend(
            i for i in items if not (self.standard_only and i["type"] == "reasoning")
        )
        calls = [(i["call_id"], i["name"]) for i in items if i["type"] == "function_call"]
        return Turn(reply.output_text, calls, reply.model, thinking)

    def ask(self) -> Turn:
        self.history.append({"role": "user", "content": PROMPT})
        return self._send()

    def answer(self, call_id: str, result: str) -> Turn:
        self.history.append({"type": "function_call_output", "call_id": call_id, "output": result})
        return self._send()


class MessagesLoop(Loop):
    def _send(self) -> Turn:
        kw: dict[str, Any] = {
            "model": self.model,
            "max_tokens": 4096,
            "messages": self.history,
            "tools": [{"name": "get_weather", "input_schema": SCHEMA}],
            "thinking": {"type": "enabled", "budget_tokens": 2048},
        }
        with anthropic.Anthropic(base_url=self.url, api_key=api.TOKEN, max_retries=0) as client:
            if self.stream:
                with client.messages.stream(**kw) as events:
                    reply = events.get_final_message()
            else:
                reply = client.messages.create(**kw)
        blocks = [b.model_dump(exclude_none=True) for b in reply.content]
        self.history.append({"role": "assistant", "content": blocks})
        return Turn(
            "".join(b.get("text", "") for b in blocks if b["type"] == "text"),
            [(b["id"], b["name"]) for b in blocks if b["type"] == "tool_use"],
            reply.model,
            "".join(b.get("thinking", "") for b in blocks if b["type"] == "thinking"),
        )

    def ask(self) -> Turn:
        self.history.append({"role": "user", "content": PROMPT})
        return self._send()

    def answer(self, call_id: str, result: str) -> Turn:
        block = {"type": "tool_result", "tool_use_id": call_id, "content": result}
        self.history.append({"role": "user", "content": [block]})
        return self._send()


class GoogleLoop(Loop):
    def _send(self) -> Turn:
        config = types.GenerateContentConfig(
            tools=[
                types.Tool(
                    function_declarations=[
                        types.FunctionDeclaration(name="get_weather", parameters_json_schema=SCHEMA)
                    ]
                )
            ],
            thinking_config=types.ThinkingConfig(thinking_budget=2048, include_thoughts=True),
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )
        client = genai.Client(api_key=api.TOKEN, http_options=types.HttpOptions(base_url=self.url))
        if self.stream:
            parts: list[types.Part] = []
            model = ""
            for chunk in client.models.generate_content_stream(
                model=self.model, contents=self.history, config=config
            ):
                model = chunk.model_version or model
                for candidate in chunk.candidates or []:
                    parts.extend((candidate.content and candidate.content.parts) or [])
            content = types.Content(role="model", parts=parts)
        else:
            reply = client.models.generate_content(
                model=self.model, contents=self.history, config=config
            )
            content, model = reply.candidates[0].content, reply.model_version or ""
        parts = content.parts or []
        thinking = "".join(p.text or "" for p in parts if p.thought)
        text = "".join(p.text or "" for p in parts if not p.thought)
        if self.standard_only:  # no thoughts, no signatures
            parts = [
                types.Part(function_call=p.function_call) if p.function_call else p
                for p in parts
                if not p.thought
            ]
        self.history.append(types.Content(role="model", parts=parts))
        calls = [
            (p.function_call.id or "", p.function_call.name or "") for p in parts if p.function_call
        ]
        return Turn(text, calls, model, thinking)

    def ask(self) -> Turn:
        self.history.append(types.Content(role="user", parts=[types.Part(text=PROMPT)]))
        return self._send()

    def answer(self, call_id: str, result: str) -> Turn:
        response = types.FunctionResponse(
            name="get_weather", id=call_id, response={"output": result}
        )
        self.history.append(
            types.Content(role="user", parts=[types.Part(function_response=response)])
        )
        return self._send()


LOOPS: dict[str, type[Loop]] = {
    "chat": ChatLoop,
    "responses": ResponsesLoop,
    "messages": MessagesLoop,
    "google": GoogleLoop,
}


def run_loop(loop: Loop, *, between: Any = None) -> list[Turn]:
    """The three turns; `between(loop)` runs after the first (a restart)."""
    first = loop.ask()
    assert [name for _, name in first.calls] == ["get_weather"], first
    if between is not None:
        between(loop)
    second = loop.answer(first.calls[0][0], AGAIN)
    assert [name for _, name in second.calls] == ["get_weather"], second
    third = loop.answer(second.calls[0][0], LAST)
    assert not third.calls and third.text == f"Tool result received: {LAST}", third
    return [first, second, third]


def claude_requests(sim: httpx.Client) -> list[dict[str, Any]]:
    return [entry["body"] for entry in sent(sim, "/v1/messages")]


def assert_thinking_kept(sim: httpx.Client) -> None:
    """ARGO got thinking on in every request, and each tool turn led by its block."""
    bodies = claude_requests(sim)
    assert len(bodies) == 3
    for body in bodies:
        assert body["thinking"]["type"] in ("enabled", "adaptive"), body
        for message in body["messages"]:
            content = message["content"]
            if message["role"] == "assistant" and any(b["type"] == "tool_use" for b in content):
                assert content[0]["type"] == "thinking" and content[0]["signature"], message


@pytest.fixture(scope="module")
def daemon(start_daemon: StartDaemon) -> Process:
    return start_daemon()


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("kind", list(LOOPS))
def test_a_thinking_tool_loop_on_claude_completes(
    daemon: Process, sim: httpx.Client, kind: str, stream: bool
) -> None:
    turns = run_loop(LOOPS[kind](daemon.url, CLAUDE, stream))
    assert all(turn.model == CLAUDE for turn in turns), [t.model for t in turns]
    assert turns[0].thinking, "the client was shown no thinking"
    assert_thinking_kept(sim)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("kind", list(LOOPS))
def test_a_reasoning_tool_loop_on_gpt5_completes(
    daemon: Process, sim: httpx.Client, kind: str, stream: bool
) -> None:
    turns = run_loop(LOOPS[kind](daemon.url, GPT5, stream))
    assert all(turn.model == GPT5 for turn in turns), [t.model for t in turns]
    assert len(sent(sim, "/v1/chat/completions")) == 3


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("kind", ["chat", "responses", "google"])
def test_the_store_restores_thinking_for_clients_that_keep_only_standard_fields(
    daemon: Process, sim: httpx.Client, kind: str, stream: bool
) -> None:
    run_loop(LOOPS[kind](daemon.url, CLAUDE, stream, standard_only=True))
    assert_thinking_kept(sim)


def records(proc: Process) -> list[dict[str, Any]]:
    done = subprocess.run(
        [_EXE, "ctl", "requests", "--json", "--control-socket", str(proc.control_socket)],
        env=clean_env(proc.control_socket.parent.parent),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]  # oldest first


@pytest.mark.parametrize("kind", ["chat", "google"])
def test_after_a_restart_the_loop_completes_with_thinking_off_for_that_turn(
    start_daemon: StartDaemon, sim: httpx.Client, kind: str
) -> None:
    first = start_daemon()
    later: list[Process] = []

    def restart(loop: Loop) -> None:
        first.stop()
        later.append(start_daemon())
        loop.url = later[0].url

    run_loop(LOOPS[kind](first.url, CLAUDE, True, standard_only=True), between=restart)
    # The first tool turn's thinking was lost with the store: thinking off. The second
    # tool turn was made without thinking, and Claude takes no thinking in the middle
    # of such a loop, so it stays off until the loop is over.
    assert ["thinking" in body for body in claude_requests(sim)] == [True, False, False]
    assert [r["thinking_off"] for r in records(later[0])] == [True, True]
