"""Fields of the wrong type, nulls and absurdly deep bodies: a 400 in the client's own
envelope that names the field, never a 500 (issue: no 5xx on bad input)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from . import api
from .conftest import Process, StartDaemon
from .helpers import last_sent, sent
from .test_errors import CHAT, MESSAGES, anthropic_error, openai_error, still_serving

RESPONSES = {"model": "argo:gpt-4o", "input": "still there?"}
GOOGLE = {"contents": [{"role": "user", "parts": [{"text": "still there?"}]}]}
DEEP = b'{"model": "argo:gpt-4o", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def google_error(response: httpx.Response) -> str:
    error = response.json()["error"]
    assert error["code"] == response.status_code and error["status"], error
    return str(error["message"])


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/responses"])
def test_stream_options_not_an_object(daemon: Process, path: str) -> None:
    body = {**(CHAT if path == "/v1/chat/completions" else RESPONSES), "stream_options": 5}
    response = api.post(f"{daemon.url}{path}", json=body)
    assert response.status_code == 400
    assert openai_error(response) == "'stream_options' must be an object; got 5."
    still_serving(daemon.url)


def test_messages_metadata_not_an_object(daemon: Process) -> None:
    response = api.post(f"{daemon.url}/v1/messages", json={**MESSAGES, "metadata": "x"})
    assert response.status_code == 400
    assert anthropic_error(response) == """'metadata' must be an object; got "x"."""
    still_serving(daemon.url)


def test_nested_field_is_named_with_its_path(daemon: Process) -> None:
    body = {**MESSAGES, "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}
    response = api.post(f"{daemon.url}/v1/messages", json=body)
    assert response.status_code == 400
    assert anthropic_error(response) == "'messages[0].content[0].text' must be a string; got 5."


def test_google_wrong_type_in_googles_envelope(daemon: Process) -> None:
    url = f"{daemon.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    response = api.post(url, json={**GOOGLE, "generationConfig": "hot"})
    assert response.status_code == 400
    assert "'generationConfig' must be an object" in google_error(response)


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/v1/chat/completions", openai_error),
        ("/v1/messages", anthropic_error),
        ("/v1beta/models/gemini-2.5-flash:generateContent", google_error),
        ("/v1/embeddings", openai_error),
    ],
)
def test_json_nested_100000_deep_is_a_400_naming_the_limit(
    daemon: Process, path: str, error: Any
) -> None:
    response = api.post(f"{daemon.url}{path}", content=DEEP)
    assert response.status_code == 400
    assert "more than 100 levels deep" in error(response)
    still_serving(daemon.url)


def test_responses_tools_null_is_as_if_not_sent(daemon: Process, sim: httpx.Client) -> None:
    response = api.post(f"{daemon.url}/v1/responses", json={**RESPONSES, "tools": None})
    assert response.status_code == 200
    assert response.json()["output"][0]["content"][0]["text"] == "Echo: still there?"
    assert "tools" not in last_sent(sim, "/v1/chat/completions")["body"]


def test_a_wrong_type_never_reaches_argo(daemon: Process, sim: httpx.Client) -> None:
    body = {**CHAT, "messages": [{"role": "user", "content": "hi", "tool_calls": "none"}]}
    response = api.post(f"{daemon.url}/v1/chat/completions", json=body)
    assert response.status_code == 400
    assert "'messages[0].tool_calls' must be a list" in openai_error(response)
    assert not sent(sim, "/v1/chat/completions")


@pytest.fixture(scope="module")
def legacy_daemon(start_daemon: StartDaemon) -> Process:
    return start_daemon("use_legacy_argo: true\n")


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/v1/chat/completions", {**CHAT, "stream_options": 5}, "'stream_options' must be"),
        ("/v1/responses", {**RESPONSES, "stream_options": 5}, "'stream_options' must be"),
        ("/v1/completions", {"model": "argo:gpt-4o", "prompt": 5}, "'prompt' must be"),
        ("/v1/chat", {"model": "argo:gpt-4o", "system": 5, "prompt": "hi"}, "'system' must be"),
        ("/v1/embed", {"model": "argo:text-embedding-3-small", "prompt": {}}, "'prompt' must be"),
        ("/v1/embeddings", {"model": "argo:text-embedding-3-small", "input": 1.5}, "'input'"),
        ("/v1/chat", DEEP, "more than 100 levels deep"),
    ],
)
def test_legacy_mode_is_protected_too(
    legacy_daemon: Process, path: str, body: Any, message: str
) -> None:
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    response = api.post(f"{legacy_daemon.url}{path}", **kwargs)
    assert response.status_code == 400
    assert message in openai_error(response)
    still_serving(legacy_daemon.url)
