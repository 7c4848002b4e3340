"""ARGO's transient failures as clients expect them (docs/security.md, "Upstream
faults"): retried while nothing has reached the client, with backoff that honours
`Retry-After`; never retried once a byte went out; `Retry-After` passed on when the
daemon gives up; a malformed event never relayed."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import openai
import pytest

from . import api
from .conftest import Process, StartDaemon
from .helpers import inject, sent

CHAT = {"model": "argo:gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {"model": "claude-haiku-4-5", "max_tokens": 50, "messages": CHAT["messages"]}


@pytest.mark.parametrize("code", [429, 502, 503, 504])
@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
@pytest.mark.parametrize(
    ("path", "body"), [("/v1/chat/completions", CHAT), ("/v1/messages", MESSAGES)]
)
def test_failures_before_any_byte_are_retried(
    daemon: Process, sim: httpx.Client, code: int, stream: bool, path: str, body: dict
) -> None:
    inject(sim, fault="status", code=code, times=2, path=path)  # fail twice, then answer
    response = api.post(daemon.url + path, json={**body, "stream": stream}, timeout=60)
    assert response.status_code == 200, response.text
    assert "Echo" in response.text
    assert len(sent(sim, path)) == 3  # the call and two retries


def test_when_retries_run_out_the_clients_sdk_sees_the_status_and_retry_after(
    daemon: Process, sim: httpx.Client
) -> None:
    inject(sim, fault="status", code=429, retry_after=1, times=-1, path="/v1/chat")
    started = time.monotonic()
    with openai.OpenAI(base_url=f"{daemon.url}/v1", api_key=api.TOKEN, max_retries=0) as client:
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    took = time.monotonic() - started
    sim.post("/__sim/reset")
    assert caught.value.response.headers["retry-after"] == "1"
    assert took >= 2.0  # each of the two retries waited the second ARGO asked for


def test_a_long_retry_after_is_left_to_the_client(daemon: Process, sim: httpx.Client) -> None:
    inject(
        sim,
        fault="status",
        code=429,
        retry_after=120,
        ratelimit=100,
        times=-1,
        path="/v1/messages",
    )
    response = api.post(f"{daemon.url}/v1/messages", json=MESSAGES, timeout=30)
    calls = len(sent(sim, "/v1/messages"))
    sim.post("/__sim/reset")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "120"
    # the rate-limit headers reach the client's SDK too
    assert response.headers["x-ratelimit-limit-requests"] == "100"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert calls == 1  # not retried: waiting two minutes is the client's call


def test_a_stream_that_broke_after_bytes_went_out_is_not_retried(
    daemon: Process, sim: httpx.Client
) -> None:
    inject(sim, fault="cut", after=4, path="/v1/chat")
    with api.stream(
        "POST", f"{daemon.url}/v1/chat/completions", json={**CHAT, "stream": True}
    ) as response:
        assert response.status_code == 200
        text = response.read().decode()
    assert '"error"' in text  # the client hears the stream broke ...
    assert len(sent(sim, "/v1/chat")) == 1  # ... and ARGO was not asked twice


def test_an_unreachable_argo_is_retried_then_reported(start_daemon: StartDaemon) -> None:
    daemon = start_daemon("argo_base_url: http://127.0.0.1:9\nretries: 1\n")
    response = api.post(f"{daemon.url}/v1/chat/completions", json=CHAT, timeout=60)
    assert response.status_code == 502
    assert "Cannot reach ARGO" in response.json()["error"]["message"]
    assert "retry 1" in daemon.wait_for_line("cannot connect to ARGO")


def test_retries_zero_turns_retrying_off(start_daemon: StartDaemon, sim: httpx.Client) -> None:
    daemon = start_daemon("retries: 0\n")
    inject(sim, fault="status", code=503, times=1, path="/v1/chat")
    response = api.post(f"{daemon.url}/v1/chat/completions", json=CHAT, timeout=30)
    assert response.status_code == 503
    assert len(sent(sim, "/v1/chat")) == 1


def test_a_malformed_event_on_a_passthrough_stream_is_not_relayed(
    daemon: Process, sim: httpx.Client
) -> None:
    inject(sim, fault="malformed", after=3, path="/v1/chat", times=2)  # SDK, then raw
    with openai.OpenAI(base_url=f"{daemon.url}/v1", api_key=api.TOKEN, max_retries=0) as client:
        chunks = list(
            client.chat.completions.create(
                model="argo:gpt-4o",
                messages=[{"role": "user", "content": "one two three four five"}],
                stream=True,
            )
        )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("Echo:")
    with api.stream(
        "POST",
        f"{daemon.url}/v1/chat/completions",
        json={**CHAT, "stream": True},
    ) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    for line in lines:
        if line != "data: [DONE]":
            json.loads(line[len("data: ") :])  # every event the client gets is whole


def test_a_full_upstream_pool_is_said_as_such(start_daemon: StartDaemon, sim: httpx.Client) -> None:
    daemon = start_daemon("upstream_pool_size: 2\nconnect_timeout: 1\n")
    inject(sim, fault="hang", ms=60_000, times=2, path="/v1/chat")
    url = f"{daemon.url}/v1/chat/completions"

    async def scenario() -> httpx.Response:
        async with httpx.AsyncClient(headers=api.headers(), timeout=90) as client:
            # two calls ARGO does not answer hold both slots ...
            held = [asyncio.ensure_future(client.post(url, json=CHAT)) for _ in range(2)]
            while len(sent(sim, "/v1/chat")) < 2:
                await asyncio.sleep(0.02)
            try:
                return await client.post(url, json=CHAT)  # ... so the third waits, then hears why
            finally:
                for call in held:
                    call.cancel()  # the client hangs up: the daemon frees their slots
                await asyncio.gather(*held, return_exceptions=True)

    third = asyncio.run(scenario())
    assert third.status_code == 503
    message = third.json()["error"]["message"]
    assert "All 2 connections to ARGO are in use" in message
    assert "upstream_pool_size" in message and "VPN" not in message
    assert third.headers["retry-after"] == "1"
    assert api.post(url, json=CHAT, timeout=30).status_code == 200
