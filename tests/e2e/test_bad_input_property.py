"""No 5xx on bad input: property-based requests against a real daemon and the simulated ARGO.

Each example starts from a valid request of one client format and changes it at random:
any field, at any depth, swapped for a value of another JSON type, removed, or joined by
an extra field. Whatever the daemon makes of it, it never answers 5xx, every error comes
in the client's own envelope, and a stream that started ends with its format's terminal
event or error event, not a truncated body. Afterwards the daemon still serves a good
request. Examples are derandomized, so every run sends the same requests.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import api
from .conftest import Process, StartDaemon

# 5 × 150 + 6 × 50 requests: under 10 s on a loaded 2-core machine.
SETTINGS = settings(
    derandomize=True,  # the same requests on every run: CI must not flake
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
LEGACY_SETTINGS = settings(SETTINGS, max_examples=50)

MODELS = ("argo:gpt-4o", "claude-sonnet-4-6", "gemini-2.5-flash")
EMBED_MODEL = "argo:text-embedding-3-small"
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def call(http: httpx.Client, daemon: Process, path: str, body: Any) -> httpx.Response:
    """The one way this module talks to the daemon (bytes are sent as they are)."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.post(
        daemon.url + path,
        content=content,
        headers=api.headers({"content-type": "application/json"}),
    )


# ---------------------------------------------------------------- valid requests


def _openai_chat(stream: bool) -> dict[str, Any]:
    return {
        "model": MODELS[0],
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "weather in Paris?"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "user", "content": "thanks, and Rome?"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Weather",
                    "parameters": WEATHER,
                },
            }
        ],
        "tool_choice": "auto",
        "max_tokens": 60,
        "temperature": 0.5,
        "stop": ["\n\n"],
        "stream": stream,
        "stream_options": {"include_usage": True},
        "response_format": {"type": "text"},
    }


def _responses(stream: bool) -> dict[str, Any]:
    return {
        "model": MODELS[0],
        "instructions": "Be brief.",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "weather in Paris?"}]},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": '{"city":"Paris"}',
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
            {"role": "user", "content": "thanks, and Rome?"},
        ],
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "description": "Weather",
                "parameters": WEATHER,
            }
        ],
        "tool_choice": "auto",
        "max_output_tokens": 60,
        "temperature": 0.5,
        "reasoning": {"effort": "low"},
        "text": {"format": {"type": "text"}},
        "store": False,
        "stream": stream,
    }


def _anthropic(stream: bool) -> dict[str, Any]:
    return {
        "model": MODELS[1],
        "max_tokens": 60,
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "weather in Paris?"}]},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    }
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}],
            },
            {"role": "assistant", "content": "It is sunny."},
            {"role": "user", "content": "thanks, and Rome?"},
        ],
        "tools": [{"name": "get_weather", "description": "Weather", "input_schema": WEATHER}],
        "tool_choice": {"type": "auto"},
        "temperature": 0.5,
        "stop_sequences": ["\n\n"],
        "metadata": {"user_id": "someone"},
        "stream": stream,
    }


def _google(stream: bool) -> dict[str, Any]:
    return {
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "weather in Paris?"}]},
            {
                "role": "model",
                "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}],
            },
            {
                "role": "user",
                "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp": 21}}}],
            },
            {"role": "user", "parts": [{"text": "thanks, and Rome?"}]},
        ],
        "tools": [
            {
                "functionDeclarations": [
                    {"name": "get_weather", "description": "Weather", "parameters": WEATHER}
                ]
            }
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
        "generationConfig": {"maxOutputTokens": 60, "temperature": 0.5, "topP": 0.9},
    }


def _embeddings(stream: bool) -> dict[str, Any]:
    return {"model": EMBED_MODEL, "input": ["hello", "world"], "encoding_format": "float"}


def _completions(stream: bool) -> dict[str, Any]:
    return {
        "model": MODELS[0],
        "prompt": "Say hello",
        "max_tokens": 60,
        "temperature": 0.5,
        "stop": ["\n\n"],
        "stream": stream,
        "stream_options": {"include_usage": True},
    }


def _gateway_chat(stream: bool) -> dict[str, Any]:
    return {
        "model": MODELS[0],
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello"},
        ],
        "temperature": 0.5,
        "max_tokens": 60,
        "stream": stream,
    }


def _gateway_embed(stream: bool) -> dict[str, Any]:
    return {"model": EMBED_MODEL, "prompt": ["hello", "world"]}


@dataclass(frozen=True)
class Case:
    """One endpoint: its path(s), a valid body to start from, and its client format."""

    paths: tuple[str, ...]  # `{model}` is filled in
    make: Callable[[bool], dict[str, Any]]  # a valid body, streamed or not
    format: str
    models: tuple[str, ...] = MODELS
    model_in_body: bool = True


_GOOGLE_PATHS = (
    "/v1beta/models/{model}:generateContent",
    "/v1beta/models/{model}:streamGenerateContent?alt=sse",
    "/v1beta/models/{model}:streamGenerateContent",  # one JSON array
    "/v1beta/models/{model}:countTokens",
    "/v1/models/{model}:generateContent",
)
CASES = {
    "openai_chat": Case(("/v1/chat/completions",), _openai_chat, "openai_chat"),
    "openai_responses": Case(
        ("/v1/responses", "/v1/responses/input_tokens"), _responses, "openai_responses"
    ),
    "anthropic": Case(("/v1/messages", "/v1/messages/count_tokens"), _anthropic, "anthropic"),
    "google": Case(_GOOGLE_PATHS, _google, "google", model_in_body=False),
    "embeddings": Case(("/v1/embeddings",), _embeddings, "openai_chat", (EMBED_MODEL,)),
}
LEGACY_CASES = {
    "openai_chat": CASES["openai_chat"],
    "openai_responses": CASES["openai_responses"],
    "completions": Case(("/v1/completions",), _completions, "openai_chat"),
    "gateway_chat": Case(("/v1/chat",), _gateway_chat, "gateway"),
    "gateway_embed": Case(("/v1/embed",), _gateway_embed, "openai_chat", (EMBED_MODEL,)),
    "embeddings": CASES["embeddings"],
}


# ---------------------------------------------------------------- what a client accepts


def _openai_envelope(body: Any) -> bool:
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and isinstance(error.get("message"), str) and "type" in error


def _anthropic_envelope(body: Any) -> bool:
    error = body.get("error") if isinstance(body, dict) else None
    return (
        body.get("type") == "error"
        and isinstance(error, dict)
        and isinstance(error.get("type"), str)
        and isinstance(error.get("message"), str)
    )


def _google_envelope(body: Any) -> bool:
    error = body.get("error") if isinstance(body, dict) else None
    return (
        isinstance(error, dict)
        and isinstance(error.get("code"), int)
        and isinstance(error.get("message"), str)
        and isinstance(error.get("status"), str)
    )


def _sse(raw: bytes) -> list[tuple[str, Any]]:
    """[(event name, parsed data or '[DONE]')]; fails on a partial last event."""
    text = raw.decode()
    assert text.endswith("\n\n"), f"the stream was cut: {text[-300:]!r}"
    events = []
    for block in text.split("\n\n")[:-1]:
        name, data = "", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        joined = "\n".join(data)
        events.append((name, joined if joined == "[DONE]" else json.loads(joined)))
    assert events, "an empty stream"
    return events


def _openai_chat_end(name: str, data: Any) -> bool:
    return data == "[DONE]" or _openai_envelope(data)


def _responses_end(name: str, data: Any) -> bool:
    return name in ("response.completed", "response.incomplete", "response.failed")


def _anthropic_end(name: str, data: Any) -> bool:
    return name == "message_stop" or (name == "error" and _anthropic_envelope(data))


def _google_end(name: str, data: Any) -> bool:
    if _google_envelope(data):
        return True
    candidates = data.get("candidates") if isinstance(data, dict) else None
    return (
        bool(candidates)
        and any(c.get("finishReason") for c in candidates)
        or (isinstance(data, dict) and "usageMetadata" in data)
    )


@dataclass(frozen=True)
class Format:
    envelope: Callable[[Any], bool]
    stream_end: Callable[[str, Any], bool]


FORMATS = {
    "openai_chat": Format(_openai_envelope, _openai_chat_end),
    "openai_responses": Format(_openai_envelope, _responses_end),
    "anthropic": Format(_anthropic_envelope, _anthropic_end),
    "google": Format(_google_envelope, _google_end),
    # ARGO's gateway API (/v1/chat in legacy mode) streams plain text: no events to check
    "gateway": Format(_openai_envelope, lambda name, data: True),
}


def check_answer(fmt: str, response: httpx.Response) -> None:
    """No 5xx; an error in `fmt`'s envelope; a whole body, or a stream that ended properly."""
    spec = FORMATS[fmt]
    status, kind = response.status_code, response.headers.get("content-type", "")
    assert status < 500, response.text[:1000]
    if status >= 400:
        assert kind.startswith("application/json"), kind
        assert spec.envelope(response.json()), response.text[:1000]
        return
    assert status == 200, status
    if kind.startswith("text/event-stream"):
        name, data = _sse(response.content)[-1]
        assert spec.stream_end(name, data), (name, data)
    elif kind.startswith("text/plain"):
        assert fmt == "gateway", kind
    else:
        body = response.json()  # a whole body (Google's JSON-array stream too)
        if isinstance(body, list):
            assert body and spec.stream_end("", body[-1]), body[-2:]
        else:
            assert isinstance(body, dict), body


# ---------------------------------------------------------------- random damage

_TEXT = st.text(alphabet="abcXYZ 019_-.", max_size=8)
_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    _TEXT,
)
_VALUE = st.one_of(
    _LEAF,
    st.lists(_LEAF, max_size=3),
    st.dictionaries(_TEXT, _LEAF, max_size=3),
)
# Names clients really send, so that extra fields hit the ones the daemon reads. Not
# `timeout`: the daemon's own field, where a tiny value rightly ends in a 504.
_FIELD_NAMES = (
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "metadata",
    "max_tokens",
    "max_completion_tokens",
    "max_output_tokens",
    "temperature",
    "top_p",
    "top_k",
    "thinking",
    "reasoning",
    "system",
    "instructions",
    "previous_response_id",
    "parallel_tool_calls",
    "response_format",
    "n",
    "user",
    "content",
    "role",
    "type",
    "text",
    "parts",
    "generationConfig",
    "systemInstruction",
    "toolConfig",
    "safetySettings",
    "cache_control",
    "image_url",
    "source",
    "input",
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every position in a JSON value, the root's children first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*path, index)
            yield from _paths(item, (*path, index))


def _containers(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every object in a JSON value: where a field can be added."""
    if isinstance(value, dict):
        yield path
    if isinstance(value, (dict, list)):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            yield from _containers(item, (*path, key))


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


@st.composite
def damaged(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """`base` with one to three random changes."""
    body = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        action = draw(st.sampled_from(("retype", "retype", "drop", "add")))
        if action == "add":
            where = _at(body, draw(st.sampled_from(list(_containers(body)))))
            name = draw(st.one_of(st.sampled_from(_FIELD_NAMES), _TEXT))
            where[name] = draw(_VALUE)
            continue
        # Half the changes hit a top-level field: most of what the daemon reads is there.
        top = draw(st.booleans())
        paths = [(key,) for key in body] if top else list(_paths(body))
        if not paths:
            continue
        path = draw(st.sampled_from(paths))
        parent = _at(body, path[:-1])
        if action == "drop":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(_VALUE)
    return body


# ---------------------------------------------------------------- the properties


@st.composite
def requests(draw: st.DrawFn, case: Case) -> tuple[str, dict[str, Any]]:
    """(path, body): a valid request of `case`, damaged."""
    model = draw(st.sampled_from(case.models))
    base = case.make(draw(st.booleans()))
    if case.model_in_body:
        base["model"] = model
    path = draw(st.sampled_from(case.paths)).replace("{model}", model)
    return path, draw(damaged(base))


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def legacy_daemon(start_daemon: StartDaemon) -> Process:
    return start_daemon("use_legacy_argo: true\n")


@pytest.mark.parametrize("name", list(CASES))
@SETTINGS
@given(data=st.data())
def test_bad_input_never_breaks_the_daemon(
    http: httpx.Client, daemon: Process, name: str, data: st.DataObject
) -> None:
    case = CASES[name]
    path, body = data.draw(requests(case), label="request")
    check_answer(case.format, call(http, daemon, path, body))


@pytest.mark.parametrize("name", list(LEGACY_CASES))
@LEGACY_SETTINGS
@given(data=st.data())
def test_bad_input_never_breaks_legacy_mode(
    http: httpx.Client, legacy_daemon: Process, name: str, data: st.DataObject
) -> None:
    case = LEGACY_CASES[name]
    path, body = data.draw(requests(case), label="request")
    check_answer(case.format, call(http, legacy_daemon, path, body))


@pytest.mark.parametrize("which", ["daemon", "legacy_daemon"])
def test_daemon_still_serves_after_bad_input(
    http: httpx.Client, request: pytest.FixtureRequest, which: str
) -> None:
    daemon = request.getfixturevalue(which)
    good = {"model": MODELS[0], "messages": [{"role": "user", "content": "still there?"}]}
    response = call(http, daemon, "/v1/chat/completions", good)
    assert response.status_code == 200, response.text
    assert "still there?" in response.json()["choices"][0]["message"]["content"]
