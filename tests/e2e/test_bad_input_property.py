"""No 5xx on bad input: property-based requests against a real daemon and the simulated ARGO.

Each example starts from a valid request of one client format and changes it at random:
any field, at any depth, swapped for a value of another JSON type, removed, or joined by
an extra field. Whatever the daemon makes of it, it never answers 5xx, every error comes
in the client's own envelope, and a stream that started ends with its format's terminal
event or error event, not a truncated body. Afterwards the daemon still serves a good
request. Examples are derandomized, so every run sends the same requests.

A second pair of properties sends what JSON and HTTP headers have no room for: lone
UTF-16 surrogates (as JSON escapes) and bytes that are not UTF-8 in any string or field
name, `NaN`, `Infinity` and numbers too large for a float anywhere, and header values
(User-Agent, anthropic-version, the API key headers) with bytes outside ASCII or
control characters (docs/translation.md#bad-requests,
docs/security.md#odd-bytes-in-headers).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import api
from .conftest import Process, StartDaemon

# 5 × 150 + 6 × 50 requests, and 11 × 60 with odd bytes (ODD_SETTINGS): about 15 s on a
# loaded 2-core machine.
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


def call(
    http: httpx.Client,
    daemon: Process,
    path: str,
    body: Any,
    headers: Mapping[str, str | bytes] | None = None,
) -> httpx.Response:
    """The one way this module talks to the daemon (bytes are sent as they are; so are
    header values given as bytes, which `headers` adds or replaces)."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.post(
        daemon.url + path,
        content=content,
        headers={**api.headers({"content-type": "application/json"}), **(headers or {})},
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


# ---------------------------------------------------------------- bytes JSON has no room for

# Stand-ins, in the value tree, for what json.dumps cannot write; each is replaced in the
# body's bytes (json.dumps writes them as these ASCII escapes).
_BYTES_MARK = "\ue000"  # inside a string: bytes that are not UTF-8
_LITERAL_MARK = "\ue001"  # a whole value: a number literal a float cannot hold
_NOT_UTF8 = (
    b"\xed\xa0\x80",
    b"\xed\xbf\xbf",
    b"\xff",
    b"\xc3",
    b"\x80",
    b"\xf4\x90\x80\x80",
    b"\xc0\xaf",
)
_OVERFLOWS = ("1e400", "-1e999", "1" + "0" * 400 + ".5", "2.5E+309")
_HALVES = st.sampled_from(("\ud83d", "\ude00", "\udbff", "\udc00", "\ud800"))
_ODD_TEXT = st.builds(
    lambda before, odd, after: before + odd + after,
    _TEXT,
    _HALVES | st.just(_BYTES_MARK) | (_HALVES.map(lambda h: h + h)),
    _TEXT,
)
_ODD_VALUE = st.one_of(
    _ODD_TEXT,
    st.sampled_from((float("nan"), float("inf"), float("-inf"), _LITERAL_MARK)),
    st.lists(_ODD_TEXT, min_size=1, max_size=2),
    st.dictionaries(_ODD_TEXT, _LEAF, min_size=1, max_size=1),  # in a field name
)


@st.composite
def with_odd_values(draw: st.DrawFn, base: dict[str, Any]) -> bytes:
    """`base` with one or two values JSON has no room for, anywhere, as request bytes."""
    body = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=2))):
        paths = list(_paths(body))
        if not paths or draw(st.booleans()):  # a new field, in any object
            where = _at(body, draw(st.sampled_from(list(_containers(body)))))
            where[draw(st.one_of(st.sampled_from(_FIELD_NAMES), _TEXT, _ODD_TEXT))] = draw(
                _ODD_VALUE
            )
        else:  # in place of any value
            path = draw(st.sampled_from(paths))
            _at(body, path[:-1])[path[-1]] = draw(_ODD_VALUE)
    raw = json.dumps(body).encode()  # ASCII: surrogates as escapes, NaN and Infinity bare
    raw = raw.replace(b'"\\ue001"', draw(st.sampled_from(_OVERFLOWS)).encode())
    return raw.replace(b"\\ue000", draw(st.sampled_from(_NOT_UTF8)))


# Header values with bytes outside printable ASCII, as httpx (h11) sends them: without
# NUL, CR, LF, vertical tab or form feed, and no white space at either end
# (test_bad_bytes.py sends the others over a raw socket).
def _header_value(raw: bytes) -> bytes:
    return raw.translate(None, b"\x00\r\n\x0b\x0c").strip() or b"x"


_ODD_HEADER = st.one_of(
    st.binary(min_size=1, max_size=12).map(lambda b: b"MyTool/1.0 " + b),
    st.sampled_from(
        ("Müller".encode(), "Müller".encode("latin-1"), b"\x01\x7f", b"2023-06-01\xff")
    ),
    st.binary(min_size=1, max_size=12),
).map(_header_value)


@st.composite
def odd_headers(draw: st.DrawFn) -> dict[str, str | bytes]:
    """Header values with bytes outside printable ASCII; sometimes in place of the token."""
    names = ("user-agent", "anthropic-version", "x-api-key", "x-goog-api-key", "api-key")
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    headers: dict[str, str | bytes] = {name: draw(_ODD_HEADER) for name in chosen}
    if draw(st.sampled_from((False,) * 4 + (True,))):  # the token itself: a 401
        headers["authorization"] = b"Bearer " + draw(_ODD_HEADER)
    return headers


@st.composite
def odd_requests(draw: st.DrawFn, case: Case) -> tuple[str, bytes, dict[str, str | bytes]]:
    """(path, body, headers): a valid request of `case`, perhaps damaged, with values JSON
    has no room for, or header values with odd bytes, or both."""
    model = draw(st.sampled_from(case.models))
    base = case.make(draw(st.booleans()))
    if case.model_in_body:
        base["model"] = model
    path = draw(st.sampled_from(case.paths)).replace("{model}", model)
    if draw(st.booleans()):
        base = draw(damaged(base))
    odd = draw(st.sampled_from(("body", "headers", "both")))
    headers = draw(odd_headers()) if odd != "body" else {}
    body = draw(with_odd_values(base)) if odd != "headers" else json.dumps(base).encode()
    return path, body, headers


ODD_SETTINGS = settings(SETTINGS, max_examples=60)


@pytest.mark.parametrize("name", list(CASES))
@ODD_SETTINGS
@given(data=st.data())
def test_bytes_json_has_no_room_for_never_break_the_daemon(
    http: httpx.Client, daemon: Process, name: str, data: st.DataObject
) -> None:
    case = CASES[name]
    path, body, headers = data.draw(odd_requests(case), label="request")
    check_answer(case.format, call(http, daemon, path, body, headers))


@pytest.mark.parametrize("name", list(LEGACY_CASES))
@ODD_SETTINGS
@given(data=st.data())
def test_bytes_json_has_no_room_for_never_break_legacy_mode(
    http: httpx.Client, legacy_daemon: Process, name: str, data: st.DataObject
) -> None:
    case = LEGACY_CASES[name]
    path, body, headers = data.draw(odd_requests(case), label="request")
    check_answer(case.format, call(http, legacy_daemon, path, body, headers))


@pytest.mark.parametrize("which", ["daemon", "legacy_daemon"])
def test_daemon_still_serves_after_bad_input(
    http: httpx.Client, request: pytest.FixtureRequest, which: str
) -> None:
    daemon = request.getfixturevalue(which)
    good = {"model": MODELS[0], "messages": [{"role": "user", "content": "still there?"}]}
    response = call(http, daemon, "/v1/chat/completions", good)
    assert response.status_code == 200, response.text
    assert "still there?" in response.json()["choices"][0]["message"]["content"]
