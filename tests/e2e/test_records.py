"""Request records (docs/observability.md): every request through the official SDKs
yields one `request.finished` notification and a `requests.list` entry whose fields and
token counts match what was asked and what the simulated ARGO reported."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import openai
import pytest

from . import api, clients
from .conftest import StartStdioDaemon, StdioDaemon
from .helpers import inject

GPT, CLAUDE = "gpt-4o", "claude-sonnet-4-6"
SDK_CLIENT = {
    "openai_chat": "openai-python",
    "openai_responses": "openai-python",
    "anthropic": "anthropic-python",
    "google_v1beta": "google-genai",
}
CLIENT_FORMAT = {"google_v1beta": "google"}
UPSTREAM = {GPT: "openai_chat", CLAUDE: "anthropic"}
SAME_FORMAT = {("openai_chat", GPT), ("anthropic", CLAUDE)}


def expected_tokens(usages: list[dict[str, Any]], upstream: str) -> dict[str, int]:
    """What a record must say for the usage objects ARGO sent (docs/observability.md#tokens)."""
    assert usages, "the simulated ARGO reported no usage"
    if upstream == "anthropic":
        merged: dict[str, Any] = {}
        for usage in usages:  # a stream's start, then its deltas: the later count stands
            merged.update(usage)
        cached = merged.get("cache_read_input_tokens", 0)
        written = merged.get("cache_creation_input_tokens", 0)
        return {
            "input_tokens": merged["input_tokens"] + cached + written,
            "output_tokens": merged["output_tokens"],
            "cached_tokens": cached,
            "cache_write_tokens": written,
        }
    last = usages[-1]
    return {
        "input_tokens": last["prompt_tokens"],
        "output_tokens": last["completion_tokens"],
        "cached_tokens": (last.get("prompt_tokens_details") or {}).get("cached_tokens", 0),
        "cache_write_tokens": 0,
    }


def argo_usage(sim: httpx.Client, marker: str) -> tuple[str, list[dict[str, Any]]]:
    """(path, usage objects) of the one upstream request whose body carries `marker`."""
    found = [
        entry for entry in sim.get("/__sim/log").json()["requests"] if marker in str(entry["body"])
    ]
    assert len(found) == 1, found
    return found[0]["path"], found[0].get("usage", [])


def finished(daemon: StdioDaemon, marker_model: str, stream: bool) -> dict[str, Any]:
    note: dict[str, Any] = daemon.notification(
        "request.finished",
        lambda p: p["model"] == marker_model and p["stream"] is stream,
    )
    return note


@pytest.fixture()
def stdio_daemon(start_stdio_daemon: StartStdioDaemon) -> StdioDaemon:
    daemon = start_stdio_daemon()
    daemon.notification("models.refreshed")
    return daemon


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("kind", list(SDK_CLIENT))
def test_each_sdk_request_is_recorded_with_argos_token_counts(
    stdio_daemon: StdioDaemon, sim: httpx.Client, kind: str, stream: bool
) -> None:
    adapter = clients.make(kind, stdio_daemon.url)
    try:
        for model, cached in ((GPT, 0), (CLAUDE, 0), (GPT, 3), (CLAUDE, 4)):
            sim.post("/__sim/reset")
            cache = f" [[sim:cached={cached},cache_write=2]]" if cached else ""
            marker = f"record {kind} {model} {stream} {cached}"
            answer = adapter.ask(model, marker + cache, stream)
            assert answer.text.startswith("Echo: record")
            record = finished(stdio_daemon, model, stream)
            path, usages = argo_usage(sim, marker)
            upstream = UPSTREAM[model]
            assert path.endswith("/messages" if upstream == "anthropic" else "/chat/completions")
            want = expected_tokens(usages, upstream)
            assert {k: record[k] for k in want} == want, record
            if cached:
                assert record["cached_tokens"] == cached
            fmt = CLIENT_FORMAT.get(kind, kind)
            assert record["client"] == SDK_CLIENT[kind]
            assert record["client_version"]
            assert record["client_format"] == fmt
            assert record["argo_model"] == ("claudesonnet46" if model == CLAUDE else "gpt4o")
            assert record["upstream"] == upstream
            assert record["converted"] is ((fmt, model) not in SAME_FORMAT)
            assert record["status"] == 200 and record["error"] is None
            assert record["estimated"] is False and record["retries"] == 0
            assert record["latency_ms"] > 0
            assert (record["ttft_ms"] is not None) is stream
            if stream:
                assert 0 < record["ttft_ms"] <= record["latency_ms"]
            listed = stdio_daemon.call("requests.list", {"limit": 1})["requests"]
            assert listed == [record]
            assert stdio_daemon.call("requests.get", {"id": record["id"]}) == record
    finally:
        adapter.close()


def test_a_stream_whose_client_did_not_ask_for_usage_is_counted_without_the_usage_chunk(
    stdio_daemon: StdioDaemon, sim: httpx.Client
) -> None:
    client = openai.OpenAI(base_url=f"{stdio_daemon.url}/v1", api_key=api.TOKEN, max_retries=0)
    with client:
        chunks = list(
            client.chat.completions.create(
                model=GPT,
                messages=[{"role": "user", "content": "no usage asked [[sim:cached=2]]"}],
                stream=True,
            )
        )
    assert chunks and all(chunk.usage is None for chunk in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        "Echo: no usage asked"
    )
    record = finished(stdio_daemon, GPT, True)
    assert record["cached_tokens"] == 2
    sim.post("/__sim/reset")
    body = {"model": GPT, "stream": True, "messages": [{"role": "user", "content": "raw"}]}
    with api.stream("POST", f"{stdio_daemon.url}/v1/chat/completions", json=body) as raw:
        text = raw.read().decode()
    assert '"usage"' not in text and text.rstrip().endswith("data: [DONE]")
    record = finished(stdio_daemon, GPT, True)
    (entry,) = sim.get("/__sim/log").json()["requests"]
    assert entry["body"]["stream_options"] == {"include_usage": True}
    assert {k: record[k] for k in ("input_tokens", "output_tokens", "cached_tokens")} == {
        "input_tokens": entry["usage"][-1]["prompt_tokens"],
        "output_tokens": entry["usage"][-1]["completion_tokens"],
        "cached_tokens": 0,
    }


def test_a_stream_without_usage_from_argo_is_recorded_as_an_estimate(
    stdio_daemon: StdioDaemon, sim: httpx.Client
) -> None:
    client = openai.OpenAI(base_url=f"{stdio_daemon.url}/v1", api_key=api.TOKEN, max_retries=0)
    with client:
        text = "".join(
            chunk.choices[0].delta.content or ""
            for chunk in client.chat.completions.create(
                model=GPT,
                messages=[{"role": "user", "content": "count me [[sim:fault=no_usage]]"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            if chunk.choices
        )
    assert text == "Echo: count me"
    record = finished(stdio_daemon, GPT, True)
    assert record["estimated"] is True
    assert record["input_tokens"] > 0 and record["output_tokens"] > 0


def test_failures_are_recorded_with_their_status_class_and_retries(
    stdio_daemon: StdioDaemon, sim: httpx.Client
) -> None:
    url = f"{stdio_daemon.url}/v1/messages"
    body = {"model": CLAUDE, "max_tokens": 20, "messages": [{"role": "user", "content": "x"}]}
    inject(sim, fault="status", code=503, times=3, path="/messages")
    reply = api.post(url, json=body)
    assert reply.status_code == 503, reply.text
    record = finished(stdio_daemon, CLAUDE, False)
    assert record["status"] == 503
    assert record["error"]["type"] == "UpstreamStatusError"
    assert record["error"]["message"] == reply.json()["error"]["message"]
    assert record["retries"] == 2  # the config's default `retries`
    assert record["client"] == "httpx"

    unknown = api.post(url, json={**body, "model": "no-such-model"})
    assert unknown.status_code == 404
    record = finished(stdio_daemon, "no-such-model", False)
    assert record["status"] == 404 and record["error"]["type"] == "ModelNotFoundError"
    assert record["argo_model"] is None and record["upstream"] is None

    inject(sim, fault="stream_error", after=2, kind="overloaded", path="/messages")
    with api.stream("POST", url, json={**body, "stream": True}) as streamed:
        assert streamed.status_code == 200
        text = streamed.read().decode()
    assert "event: error" in text
    record = finished(stdio_daemon, CLAUDE, True)
    assert record["status"] == 502
    assert record["error"]["type"] == "UpstreamStreamError"  # ARGO's, in the stream
    assert record["error"]["message"].startswith("ARGO reported an error: ")

    inject(sim, fault="cut", after=4, path="/messages")  # breaks off after the text began
    with api.stream("POST", url, json={**body, "stream": True}) as streamed:
        text = streamed.read().decode()
    assert "event: error" in text
    record = finished(stdio_daemon, CLAUDE, True)
    assert record["status"] == 502 and record["error"]["type"] == "UpstreamStreamError"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_cached_tokens_reach_each_client_in_its_own_accounting(
    stdio_daemon: StdioDaemon, sim: httpx.Client, stream: bool
) -> None:
    """docs/observability.md#tokens: Anthropic's input count leaves cached tokens out,
    OpenAI's counts them in; a converted answer follows the client's vendor."""
    claude_sdk = anthropic.Anthropic(base_url=stdio_daemon.url, api_key=api.TOKEN, max_retries=0)
    messages: Any = [{"role": "user", "content": "cache me [[sim:cached=5]]"}]
    if stream:
        with claude_sdk.messages.stream(model=GPT, max_tokens=50, messages=messages) as events:
            usage: Any = events.get_final_message().usage
    else:
        usage = claude_sdk.messages.create(model=GPT, max_tokens=50, messages=messages).usage
    record = finished(stdio_daemon, GPT, stream)
    assert usage.cache_read_input_tokens == 5 == record["cached_tokens"]
    assert usage.input_tokens == record["input_tokens"] - 5  # Anthropic: without the cached

    openai_sdk = openai.OpenAI(base_url=f"{stdio_daemon.url}/v1", api_key=api.TOKEN, max_retries=0)
    messages = [{"role": "user", "content": "cache me [[sim:cached=4,cache_write=2]]"}]
    if stream:
        chunks = openai_sdk.chat.completions.create(
            model=CLAUDE, messages=messages, stream=True, stream_options={"include_usage": True}
        )
        (usage,) = [chunk.usage for chunk in chunks if chunk.usage]
    else:
        usage = openai_sdk.chat.completions.create(model=CLAUDE, messages=messages).usage
    record = finished(stdio_daemon, CLAUDE, stream)
    _, usages = argo_usage(sim, "cache me [[sim:cached=4")
    argo_input = next(u["input_tokens"] for u in usages if "input_tokens" in u)
    assert usage.prompt_tokens_details.cached_tokens == 4 == record["cached_tokens"]
    assert usage.prompt_tokens == argo_input + 4 + 2 == record["input_tokens"]
    assert record["cache_write_tokens"] == 2
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
