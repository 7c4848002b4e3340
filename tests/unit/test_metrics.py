"""daemon/metrics.py on its own: which failures count as ARGO's, label values that stay
few whatever a client sends, and one registry per daemon (docs/observability.md#metrics).
The end-to-end test (tests/e2e/test_metrics.py) checks the totals against real requests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from argo_proxy.daemon.config import Config
from argo_proxy.daemon.errors import (
    ModelNotFoundError,
    UpstreamAuthError,
    UpstreamBusyError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from argo_proxy.daemon.metrics import DaemonMetrics
from argo_proxy.daemon.records import CANCELLED, INTERRUPTED, STREAM_FAILED, RequestRecord
from argo_proxy.daemon.state import DaemonState

Samples = dict[tuple[tuple[str, str], ...], float]


@pytest.fixture()
async def state() -> AsyncIterator[DaemonState]:
    daemon = DaemonState(Config(user="jdoe", argo_base_url="http://127.0.0.1:9", auth="none"))
    yield daemon
    await daemon.aclose()


def samples(metrics: DaemonMetrics, name: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(metrics.scrape().decode()):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def finish(
    state: DaemonState,
    *,
    error: str | None = None,
    status: int = 200,
    user_agent: str = "curl/8.5.0",
    argo_model: str | None = "gpt4o",
) -> None:
    record = RequestRecord.open("/v1/chat/completions", "openai_chat", user_agent)
    record.argo_model = argo_model
    if error is not None:
        record.fail(status, error, "it failed")
    record.close()
    state.requests.add(record)


async def test_only_failures_that_came_from_argo_count_as_upstream_errors(
    state: DaemonState,
) -> None:
    metrics = DaemonMetrics(state)
    ours = (
        (ModelNotFoundError.__name__, 404),
        (UpstreamBusyError.__name__, 503),  # the daemon's own pool: ARGO was not asked
        (INTERRUPTED, 503),  # a stop cut the stream
        (CANCELLED, 499),  # the client hung up
        ("KeyError", 500),  # a bug of ours
    )
    argos = (
        (UpstreamStatusError.__name__, 429, "status"),
        (UpstreamTimeoutError.__name__, 504, "timeout"),
        (UpstreamAuthError.__name__, 403, "auth"),
        (UpstreamError.__name__, 502, "failed"),
        (STREAM_FAILED, 502, "stream"),
    )
    for error, status in ours:
        finish(state, error=error, status=status)
    for error, status, _ in argos:
        finish(state, error=error, status=status)
    assert samples(metrics, "argo_proxy_upstream_errors_total") == {
        (("kind", kind), ("model", "gpt4o"), ("status", str(status))): 1
        for _, status, kind in argos
    }
    assert sum(samples(metrics, "argo_proxy_requests_total").values()) == len(ours) + len(argos)


async def test_label_values_stay_few_whatever_clients_send(state: DaemonState) -> None:
    metrics = DaemonMetrics(state)
    for n in range(5):  # five made-up clients asking for models ARGO does not have
        finish(state, error=ModelNotFoundError.__name__, status=404, user_agent=f"tool{n}/1",
               argo_model=None)  # fmt: skip
    finish(state, user_agent="")
    assert samples(metrics, "argo_proxy_requests_total") == {
        (("client", "other"), ("client_format", "openai_chat"), ("model", "unknown"),
         ("status", "404")): 5,
        (("client", "unknown"), ("client_format", "openai_chat"), ("model", "gpt4o"),
         ("status", "200")): 1,
    }  # fmt: skip


async def test_each_daemon_counts_its_own_requests_until_closed(state: DaemonState) -> None:
    other = DaemonState(Config(user="jdoe", argo_base_url="http://127.0.0.1:9", auth="none"))
    try:
        mine, theirs = DaemonMetrics(state), DaemonMetrics(other)
        finish(state)
        finish(state)
        finish(other)
        mine.close()
        finish(state)  # no longer heard
        total = "argo_proxy_requests_total"
        assert sum(samples(mine, total).values()) == 2
        assert sum(samples(theirs, total).values()) == 1
    finally:
        await other.aclose()


async def test_latency_falls_in_the_buckets_prometheus_would_put_it_in(state: DaemonState) -> None:
    metrics = DaemonMetrics(state)
    for latency_ms, ttft_ms in ((70.0, 40.0), (100.0, None), (400_000.0, 100.0)):
        record = RequestRecord.open("/v1/messages", "anthropic", "curl/8.5.0")
        record.argo_model, record.stream = "claudesonnet46", ttft_ms is not None
        record.close()
        record.latency_ms, record.ttft_ms = latency_ms, ttft_ms
        state.requests.add(record)
    buckets = samples(metrics, "argo_proxy_request_duration_seconds_bucket")
    streamed = (("model", "claudesonnet46"), ("stream", "true"))
    plain = (("model", "claudesonnet46"), ("stream", "false"))
    assert buckets[(("le", "0.05"), *streamed)] == 0
    assert buckets[(("le", "0.1"), *streamed)] == 1  # 0.07 s
    assert buckets[(("le", "300.0"), *streamed)] == 1  # 400 s is above every bound
    assert buckets[(("le", "+Inf"), *streamed)] == 2
    assert buckets[(("le", "0.1"), *plain)] == 1  # a bound is "less than or equal"
    assert samples(metrics, "argo_proxy_request_duration_seconds_sum") == {
        streamed: pytest.approx(400.07),
        plain: pytest.approx(0.1),
    }
    ttft = samples(metrics, "argo_proxy_time_to_first_token_seconds_bucket")
    assert ttft[(("le", "0.05"), ("model", "claudesonnet46"))] == 1
    assert ttft[(("le", "0.1"), ("model", "claudesonnet46"))] == 2
    assert samples(metrics, "argo_proxy_time_to_first_token_seconds_count") == {
        (("model", "claudesonnet46"),): 2
    }
