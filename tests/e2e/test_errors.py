"""Bad input and upstream failures: each answered in the client's own error envelope
with the right status, and the daemon keeps serving (issue: Errors)."""

from __future__ import annotations

import time
from typing import Any

import anthropic
import httpx
import openai
import pytest

from . import api
from .conftest import Process, StartDaemon
from .helpers import inject

CHAT = {"model": "argo:gpt-4o", "messages": [{"role": "user", "content": "still there?"}]}
MESSAGES = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 50,
    "messages": [{"role": "user", "content": "still there?"}],
}


def openai_error(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"} and body["error"]["type"], body
    return str(body["error"]["message"])


def anthropic_error(response: httpx.Response) -> str:
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"], body
    return str(body["error"]["message"])


def still_serving(url: str) -> None:
    """The daemon answers a good request after the bad one."""
    good = api.post(f"{url}/v1/chat/completions", json=CHAT, timeout=10)
    assert good.status_code == 200
    assert good.json()["choices"][0]["message"]["content"] == "Echo: still there?"


CASES: list[tuple[str, Any, int, str]] = [
    ("invalid json", b"{not json", 400, "Invalid JSON"),
    ("empty body", b"", 400, "empty"),
    ("array body", b"[1, 2]", 400, "JSON object"),
    ("missing model", {"messages": CHAT["messages"]}, 400, "'model'"),
    ("model not a string", {**CHAT, "model": 42}, 400, "'model' must be a string"),
    ("missing messages", {"model": "argo:gpt-4o"}, 400, "'messages'"),
    ("messages not a list", {**CHAT, "messages": "hi"}, 400, "'messages' must be a list"),
    ("max_tokens wrong type", {**CHAT, "max_tokens": "many"}, 400, "'max_tokens'"),
    ("stream wrong type", {**CHAT, "stream": "yes"}, 400, "'stream'"),
    ("timeout wrong type", {**CHAT, "timeout": "soon"}, 400, "'timeout'"),
]


@pytest.mark.parametrize(("name", "body", "status", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_chat_requests(
    daemon: Process, name: str, body: Any, status: int, fragment: str
) -> None:
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    response = api.post(f"{daemon.url}/v1/chat/completions", **kwargs)
    assert response.status_code == status
    assert fragment in openai_error(response)
    still_serving(daemon.url)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{", "Invalid JSON"),
        ({k: v for k, v in MESSAGES.items() if k != "max_tokens"}, "'max_tokens'"),
        ({**MESSAGES, "max_tokens": 1.5}, "'max_tokens' must be a positive integer"),
        ({**MESSAGES, "messages": {}}, "'messages'"),
    ],
)
def test_bad_messages_requests_use_the_anthropic_envelope(
    daemon: Process, body: Any, fragment: str
) -> None:
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    response = api.post(f"{daemon.url}/v1/messages", **kwargs)
    assert response.status_code == 400
    assert fragment in anthropic_error(response)
    still_serving(daemon.url)


def test_oversized_body_is_413(start_daemon: StartDaemon) -> None:
    daemon = start_daemon("max_body_mb: 1\n")
    big = {**MESSAGES, "messages": [{"role": "user", "content": "x" * (2 * 1024 * 1024)}]}
    response = api.post(f"{daemon.url}/v1/messages", json=big)
    assert response.status_code == 413
    assert "max_body_mb" in anthropic_error(response)
    still_serving(daemon.url)


def test_oversized_headers_are_431_naming_the_header_limit(daemon: Process) -> None:
    response = api.post(
        f"{daemon.url}/v1/chat/completions", json=CHAT, headers={"x-padding": "p" * 100_000}
    )
    assert response.status_code == 431
    message = openai_error(response)
    assert "headers are larger than 16 KiB" in message and "body" not in message
    still_serving(daemon.url)


def test_unreachable_upstream_is_502(start_daemon: StartDaemon) -> None:
    daemon = start_daemon("argo_base_url: http://127.0.0.1:9\n")
    with openai.OpenAI(base_url=f"{daemon.url}/v1", api_key=api.TOKEN, max_retries=0) as client:
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(**CHAT)
    assert caught.value.status_code == 502
    assert "Cannot reach ARGO" in caught.value.message
    assert api.get(f"{daemon.url}/health").json()["status"] == "healthy"


def test_upstream_timeout_is_504_and_body_timeout_overrides(
    daemon: Process, sim: httpx.Client
) -> None:
    inject(sim, fault="latency", ms=3000)
    started = time.monotonic()
    response = api.post(
        f"{daemon.url}/v1/chat/completions", json={**CHAT, "timeout": 0.5}, timeout=10
    )
    assert response.status_code == 504
    assert "Timed out after 0.5s" in openai_error(response)
    assert time.monotonic() - started < 2.5
    sent_body = sim.get("/__sim/log", params={"path": "/v1/chat"}).json()["requests"][-1]["body"]
    assert "timeout" not in sent_body  # our field, not ARGO's
    still_serving(daemon.url)


@pytest.mark.parametrize(("code", "ours"), [(400, 400), (429, 429), (500, 502), (503, 503)])
def test_upstream_error_status_is_carried_in_our_envelope(
    daemon: Process, sim: httpx.Client, code: int, ours: int
) -> None:
    inject(sim, fault="status", code=code, times=-1, path="/v1/messages")
    response = api.post(f"{daemon.url}/v1/messages", json=MESSAGES)
    sim.post("/__sim/reset")
    assert response.status_code == ours
    message = anthropic_error(response)
    assert message.startswith(f"ARGO returned HTTP {code}:")
    assert response.json()["error"]["upstream_status"] == code
    still_serving(daemon.url)


def test_nginx_html_error_page_is_not_relayed_raw(daemon: Process, sim: httpx.Client) -> None:
    inject(sim, fault="status", code=502, times=3)  # the first call and both retries
    response = api.post(f"{daemon.url}/v1/chat/completions", json=CHAT)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("application/json")
    assert "<html" not in openai_error(response)


def test_error_inside_a_200_is_an_error(daemon: Process, sim: httpx.Client) -> None:
    inject(sim, fault="api_error_200")
    response = api.post(f"{daemon.url}/v1/messages", json=MESSAGES)
    assert response.status_code == 502
    assert "ARGO reported an error" in anthropic_error(response)


@pytest.mark.parametrize("stream", [False, True])
def test_auth_notice_becomes_403_in_each_format(start_daemon: StartDaemon, stream: bool) -> None:
    daemon = start_daemon(user="sim-denied")
    with openai.OpenAI(base_url=f"{daemon.url}/v1", api_key=api.TOKEN, max_retries=0) as client:
        with pytest.raises(openai.PermissionDeniedError, match="not registered in ARGO"):
            client.chat.completions.create(**CHAT, stream=stream)
    with anthropic.Anthropic(base_url=daemon.url, api_key=api.TOKEN, max_retries=0) as client:
        with pytest.raises(anthropic.PermissionDeniedError, match="not registered in ARGO"):
            if stream:
                with client.messages.stream(**MESSAGES) as events:
                    events.get_final_message()
            else:
                client.messages.create(**MESSAGES)


def test_auth_notice_after_a_preflight_chunk_is_still_caught(
    daemon: Process, sim: httpx.Client
) -> None:
    inject(sim, fault="auth_notice", variant=2, later=1)
    response = api.post(f"{daemon.url}/v1/chat/completions", json={**CHAT, "stream": True})
    assert response.status_code == 403
    assert "not registered in ARGO" in openai_error(response)


def test_stream_cut_by_the_upstream_ends_with_an_error_event(
    daemon: Process, sim: httpx.Client
) -> None:
    inject(sim, fault="cut", after=4)
    with anthropic.Anthropic(base_url=daemon.url, api_key=api.TOKEN, max_retries=0) as client:
        with pytest.raises(anthropic.APIStatusError, match="broke off|ended the stream"):
            with client.messages.stream(
                **{**MESSAGES, "messages": [{"role": "user", "content": "long [[sim:deltas=20]]"}]}
            ) as events:
                events.get_final_message()
    still_serving(daemon.url)


def test_client_disconnect_closes_the_upstream_stream(daemon: Process) -> None:
    body = {
        **CHAT,
        "stream": True,
        "messages": [
            {
                "role": "user",
                "content": "slow [[sim:deltas=100]] [[sim:fault=latency,chunk_ms=100]]",
            }
        ],
    }
    with api.stream("POST", f"{daemon.url}/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert api.get(f"{daemon.url}/health").json()["active_streams"] == 1
        next(response.iter_raw())
    # The 100 deltas would take ~10 s; the daemon lets go of the stream at once.
    deadline = time.monotonic() + 3
    while api.get(f"{daemon.url}/health").json()["active_streams"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert api.get(f"{daemon.url}/health").json()["active_streams"] == 0
    still_serving(daemon.url)


def test_stream_without_its_final_event_ends_with_an_error(
    daemon: Process, sim: httpx.Client
) -> None:
    inject(sim, fault="no_done")
    with openai.OpenAI(base_url=f"{daemon.url}/v1", api_key=api.TOKEN, max_retries=0) as client:
        with pytest.raises(openai.APIError, match="ended the stream before it was complete"):
            for _ in client.chat.completions.create(**CHAT, stream=True):
                pass


def test_client_values_cannot_forge_log_lines(daemon: Process) -> None:
    forged = "gpt-9\n03:00:00 WARNING argo_proxy: forged line"
    response = api.post(
        f"{daemon.url}/v1/chat/completions",
        json={"model": forged, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 404
    line = daemon.wait_for_line("Model 'gpt-9")
    assert "gpt-9\\n03:00:00 WARNING argo_proxy: forged line" in line
    assert not any(entry.startswith("03:00:00 WARNING") for entry in daemon.lines)
