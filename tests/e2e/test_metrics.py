"""Prometheus metrics and the health probes (docs/observability.md#metrics, #health): after
requests through the official SDKs, `GET /metrics` adds up to the same totals as the
records `requests.list` returns; it needs the access token, the probes do not; the
daemon is ready once ARGO's model list is in and ARGO answered the last check."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import anthropic
import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from . import api, clients
from .conftest import Process, StartStdioDaemon, StdioDaemon
from .helpers import inject
from .test_control_reload import rewrite

GPT, CLAUDE = "gpt-4o", "claude-sonnet-4-6"
TOKEN_KINDS = ("input", "output", "cached", "cache_write", "reasoning")

Samples = dict[tuple[tuple[str, str], ...], float]


def scrape(url: str) -> dict[str, Samples]:
    """Every sample of `GET /metrics`, by sample name, then by its labels."""
    reply = api.get(f"{url}/metrics")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain; version=")
    out: dict[str, Samples] = defaultdict(dict)
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            out[sample.name][tuple(sorted(sample.labels.items()))] = sample.value
    return out


def labels(**values: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(values.items()))


def nonzero(samples: Samples) -> Samples:
    return {key: value for key, value in samples.items() if value}


def wait_for_records(daemon: StdioDaemon, count: int) -> list[dict[str, Any]]:
    """The records of the last `count` requests, once each one's notification came."""
    for _ in range(count):
        daemon.notification("request.finished", timeout=30)
    records: list[dict[str, Any]] = daemon.call("requests.list", {"limit": 1000})["requests"]
    assert len(records) == count, records
    return records


@pytest.fixture()
def stdio_daemon(start_stdio_daemon: StartStdioDaemon) -> StdioDaemon:
    daemon = start_stdio_daemon("", "--no-watch")
    assert daemon.notification("models.refreshed", timeout=30)["status"] == "ok"
    return daemon


def test_metrics_add_up_to_the_request_records(
    stdio_daemon: StdioDaemon, sim: httpx.Client
) -> None:
    url = stdio_daemon.url
    asked = 0
    for kind in ("openai_chat", "openai_responses", "anthropic", "google_v1beta"):
        adapter = clients.make(kind, url)
        try:
            for model in (GPT, CLAUDE):
                for stream in (False, True):
                    cache = " [[sim:cached=3,cache_write=2]]" if model == CLAUDE else ""
                    answer = adapter.ask(model, f"metrics {kind}{cache}", stream)
                    assert answer.text.startswith("Echo: metrics")
                    asked += 1
        finally:
            adapter.close()
    oai = openai.OpenAI(base_url=f"{url}/v1", api_key=api.TOKEN, max_retries=0)
    with oai, pytest.raises(openai.RateLimitError):  # ARGO says 429, every retry too
        oai.chat.completions.create(
            model=GPT, messages=[{"role": "user", "content": "[[sim:fault=status,code=429]]"}]
        )
    ant = anthropic.Anthropic(base_url=url, api_key=api.TOKEN, max_retries=0)
    with ant, pytest.raises(anthropic.NotFoundError):  # no such model: ARGO is not asked
        ant.messages.create(
            model="no-such-model", max_tokens=20, messages=[{"role": "user", "content": "x"}]
        )
    inject(sim, fault="stream_error", after=2, kind="overloaded", path="/messages")
    body = {"model": CLAUDE, "max_tokens": 20, "stream": True}
    body["messages"] = [{"role": "user", "content": "broken stream"}]
    # A client no table knows, by a name of its own choosing.
    with api.stream(
        "POST", f"{url}/v1/messages", json=body, headers={"user-agent": "my-own-tool/1.0"}
    ) as streamed:
        assert streamed.status_code == 200 and "event: error" in streamed.read().decode()
    records = wait_for_records(stdio_daemon, asked + 3)

    metrics = scrape(url)
    requests: Counter[tuple[tuple[str, str], ...]] = Counter()
    tokens: Counter[tuple[tuple[str, str], ...]] = Counter()
    durations: Counter[tuple[tuple[str, str], ...]] = Counter()
    for record in records:
        model = record["argo_model"] or "unknown"
        client = "other" if record["client"] == "my-own-tool" else record["client"]
        requests[
            labels(
                client_format=record["client_format"],
                model=model,
                status=str(record["status"]),
                client=client,
            )
        ] += 1
        for kind in TOKEN_KINDS:
            tokens[labels(model=model, kind=kind)] += record[f"{kind}_tokens"]
        durations[labels(model=model, stream=str(record["stream"]).lower())] += 1
    assert metrics["argo_proxy_requests_total"] == dict(requests)
    assert metrics["argo_proxy_tokens_total"] == dict(tokens)
    assert sum(tokens.values()) > 0
    assert tokens[labels(model="claudesonnet46", kind="cached")] > 0
    assert metrics["argo_proxy_request_duration_seconds_count"] == dict(durations)
    streams = [r for r in records if r["ttft_ms"] is not None]
    assert sum(metrics["argo_proxy_time_to_first_token_seconds_count"].values()) == len(streams)
    assert sum(metrics["argo_proxy_request_duration_seconds_sum"].values()) == pytest.approx(
        sum(r["latency_ms"] for r in records) / 1000
    )

    # ARGO's failures: the 429 (retried, then passed on) and the stream's error event;
    # the unknown model was the client's mistake.
    assert metrics["argo_proxy_upstream_errors_total"] == {
        labels(model="gpt4o", kind="status", status="429"): 1,
        labels(model="claudesonnet46", kind="stream", status="502"): 1,
    }
    retries = sum(r["retries"] for r in records)
    assert retries > 0
    assert metrics["argo_proxy_upstream_retries_total"] == {labels(model="gpt4o"): retries}
    assert metrics["argo_proxy_active_streams"] == {(): 0}
    assert metrics["argo_proxy_ready"] == {(): 1}
    assert metrics["argo_proxy_model_refreshes_total"][labels(result="ok")] == 1


def test_metrics_need_the_access_token_and_the_probes_do_not(daemon: Process) -> None:
    refused = httpx.get(f"{daemon.url}/metrics")
    assert refused.status_code == 401
    assert "access token" in refused.json()["error"]["message"]
    wrong = httpx.get(f"{daemon.url}/metrics", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "argo_proxy_" not in wrong.text
    assert "argo_proxy_requests" in api.get(f"{daemon.url}/metrics").text
    live = httpx.get(f"{daemon.url}/health/live")
    assert live.status_code == 200 and live.json() == {"status": "healthy"}
    ready = httpx.get(f"{daemon.url}/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready" and ready.json()["models"] == "upstream"


def test_ready_once_argos_models_are_in_and_argo_answered_the_last_check(
    start_stdio_daemon: StartStdioDaemon, sim: httpx.Client, simulator: Process
) -> None:
    # Nothing listens on port 9: the first fetch of ARGO's model list fails.
    daemon = start_stdio_daemon("argo_base_url: http://127.0.0.1:9\n", "--no-watch")
    url = daemon.url
    early = httpx.get(f"{url}/health/ready")
    assert early.status_code == 503 and early.json()["status"] == "not_ready"
    assert daemon.notification("models.refreshed", timeout=60)["status"] == "error"
    down = httpx.get(f"{url}/health/ready")
    assert down.status_code == 503
    assert down.json()["reason"].startswith("ARGO's model list could not be fetched")
    assert down.json()["models"] == "builtin" and down.json()["last_refresh"]["ok"] is False
    assert httpx.get(f"{url}/health/live").status_code == 200
    assert scrape(url)["argo_proxy_ready"] == {(): 0}

    # ARGO where it is: the reload fetches the list again.
    config = daemon.config.read_text().replace("http://127.0.0.1:9", simulator.url)
    rewrite(daemon.config, config)
    assert daemon.call("config.reload")["ok"] is True
    assert daemon.notification("models.refreshed", timeout=30)["status"] == "ok"
    up = httpx.get(f"{url}/health/ready")
    assert up.status_code == 200, up.text
    assert up.json()["status"] == "ready" and up.json()["unique_models"] > 0

    # ARGO's list fails at the next check: the last good list is served, not ready.
    inject(sim, fault="status", code=500, path="/v1/models", times=-1)
    assert daemon.call("refresh")["status"] == "error"
    stale = httpx.get(f"{url}/health/ready")
    assert stale.status_code == 503 and stale.json()["models"] == "upstream"
    assert stale.json()["reason"].startswith("ARGO did not answer the last model list check")
    sim.post("/__sim/reset")
    assert daemon.call("refresh")["status"] == "ok"
    assert httpx.get(f"{url}/health/ready").status_code == 200

    rewrite(daemon.config, config + "default_model: [unclosed\n")  # refused whole
    assert daemon.call("config.reload")["ok"] is False
    metrics = scrape(url)
    assert nonzero(metrics["argo_proxy_model_refreshes_total"]) == {
        labels(result="error"): 2,
        labels(result="ok"): 2,
    }
    assert nonzero(metrics["argo_proxy_config_reloads_total"]) == {
        labels(result="ok", trigger="rpc"): 1,
        labels(result="error", trigger="rpc"): 1,
    }
    assert metrics["argo_proxy_ready"] == {(): 1}
