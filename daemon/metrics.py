"""The daemon's Prometheus metrics, served at `GET /metrics` (docs/observability.md#metrics).

Every figure about requests comes from their records, the one place a request is
recorded (`pipeline.py`): the metrics listen to the request log, so they add up to
the same totals as `requests.list`. Model refreshes and config reloads come from the
state's events; active streams and readiness are read when scraped.

Each daemon has its own registry, never prometheus_client's global one: tests run
several daemons in one process. Label values stay few whatever clients send: a model
is ARGO's id from its catalogue (or `unknown` when the request named none ARGO has),
a client one of the known products (or `other`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from .breakers import STATE_NUMBERS, Breakers
from .errors import UpstreamAuthError, UpstreamError, UpstreamStatusError, UpstreamTimeoutError
from .health import readiness
from .records import KNOWN_CLIENTS, STREAM_FAILED, RequestRecord
from .state import ConfigReloaded, DaemonState, ModelsRefreshed, StateEvent

__all__ = ["CONTENT_TYPE", "LATENCY_BUCKETS", "UPSTREAM_ERROR_KINDS", "DaemonMetrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST  # Prometheus' text format

# From a short cached answer (tens of ms) to a long reasoning stream (minutes).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
UNKNOWN_MODEL = "unknown"
# The record fields of argo_proxy_tokens_total's kinds: `<kind>_tokens`.
TOKEN_KINDS = ("input", "output", "cached", "cache_write", "reasoning")
OTHER_CLIENT = "other"

# A record's error type → the kind of ARGO failure it was. Only errors that came from
# ARGO: not the daemon's own refusals, nor UpstreamBusyError (every connection of the
# daemon's pool in use: ARGO was not asked), a stop's cut or a client hanging up.
UPSTREAM_ERROR_KINDS: dict[str, str] = {
    UpstreamStatusError.__name__: "status",  # ARGO answered an error status
    UpstreamTimeoutError.__name__: "timeout",  # no answer in time
    UpstreamAuthError.__name__: "auth",  # ARGO's authentication notice
    UpstreamError.__name__: "failed",  # unreachable, the connection broke, an unreadable answer
    STREAM_FAILED: "stream",  # a stream already started: an error event, a break, no end
}


REQUEST_LABELS = ("client_format", "model", "status", "client")


def _buckets() -> list[int]:
    return [0] * (len(LATENCY_BUCKETS) + 1)  # the last one: above the largest bound


@dataclass(slots=True)
class _Tally:
    """The running figures of one label set, as plain numbers: a request adds to a few
    of them, where prometheus_client's children would take a lock per figure. They are
    turned into Prometheus' metric families when scraped (`_RequestCollector`)."""

    count: int = 0
    latency: list[int] = field(default_factory=_buckets)  # per bucket, not cumulative
    latency_sum: float = 0.0
    ttft: list[int] = field(default_factory=_buckets)
    ttft_sum: float = 0.0
    tokens: list[int] = field(default_factory=lambda: [0] * len(TOKEN_KINDS))


# (client_format, model, status, client, stream) -> its tally
Tallies = dict[tuple[str, str, str, str, bool], _Tally]


class _RequestCollector(Collector):
    """Requests, latency, time to first token and tokens, from the tallies."""

    def __init__(self, tallies: Tallies) -> None:
        self._tallies = tallies

    def collect(self) -> Iterator[Metric]:
        requests: defaultdict[tuple[str, ...], int] = defaultdict(int)
        latency: dict[tuple[str, ...], tuple[list[int], float]] = {}
        ttft: dict[tuple[str, ...], tuple[list[int], float]] = {}
        tokens: defaultdict[tuple[str, ...], int] = defaultdict(int)
        for (client_format, model, status, client, stream), tally in self._tallies.items():
            requests[client_format, model, status, client] += tally.count
            _merge(
                latency, (model, "true" if stream else "false"), tally.latency, tally.latency_sum
            )
            if stream:
                _merge(ttft, (model,), tally.ttft, tally.ttft_sum)
            for kind, count in zip(TOKEN_KINDS, tally.tokens, strict=True):
                tokens[model, kind] += count
        family = CounterMetricFamily(
            "argo_proxy_requests",
            "API requests by client format, ARGO model, status and client",
            labels=REQUEST_LABELS,
        )
        for labels, count in requests.items():
            family.add_metric(labels, count)
        yield family
        yield _histogram(
            "argo_proxy_request_duration_seconds",
            "From a request's arrival to its answer's last byte",
            ("model", "stream"),
            latency,
        )
        yield _histogram(
            "argo_proxy_time_to_first_token_seconds",
            "Streams: from a request's arrival to the first content sent to the client",
            ("model",),
            ttft,
        )
        family = CounterMetricFamily(
            "argo_proxy_tokens",
            "Tokens by ARGO model and kind (input includes cached and cache_write, "
            "output includes reasoning)",
            labels=("model", "kind"),
        )
        for labels, count in tokens.items():
            family.add_metric(labels, count)
        yield family


def _merge(
    into: dict[tuple[str, ...], tuple[list[int], float]],
    labels: tuple[str, ...],
    buckets: list[int],
    total: float,
) -> None:
    known = into.get(labels)
    if known is None:
        into[labels] = (list(buckets), total)
    else:
        into[labels] = ([a + b for a, b in zip(known[0], buckets, strict=True)], known[1] + total)


def _histogram(
    name: str,
    doc: str,
    label_names: tuple[str, ...],
    series: dict[tuple[str, ...], tuple[list[int], float]],
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=label_names)
    bounds = [str(bound) for bound in LATENCY_BUCKETS] + ["+Inf"]  # "0.05", "1.0": as Go prints
    for labels, (buckets, total) in series.items():
        cumulative, running = [], 0
        for bound, count in zip(bounds, buckets, strict=True):
            running += count
            cumulative.append((bound, float(running)))
        family.add_metric(labels, cumulative, total)
    return family


class _BreakerCollector(Collector):
    """Each model's breaker state when scraped (breakers.py): 0 closed, 1 half-open, 2 open."""

    def __init__(self, breakers: Breakers) -> None:
        self._breakers = breakers

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "argo_proxy_breaker_state",
            "Each ARGO model's circuit breaker: 0 closed, 1 half-open, 2 open",
            labels=("model",),
        )
        for model, state in sorted(self._breakers.states().items()):
            family.add_metric((model,), STATE_NUMBERS[state])
        yield family


class DaemonMetrics:
    """One daemon's metrics; listens to its state from creation until `close()`."""

    def __init__(self, state: DaemonState) -> None:
        self._state = state
        registry = self.registry = CollectorRegistry()

        def counter(name: str, doc: str, labels: tuple[str, ...]) -> Counter:
            return Counter(f"argo_proxy_{name}", doc, labels, registry=registry)

        def gauge(name: str, doc: str, read: Callable[[], float]) -> None:
            Gauge(f"argo_proxy_{name}", doc, registry=registry).set_function(read)

        self.upstream_errors = counter(
            "upstream_errors",
            "Requests that failed because of ARGO, by kind and the status the client got",
            ("model", "kind", "status"),
        )
        self.retries = counter(
            "upstream_retries", "Calls to ARGO the daemon made again after a failure", ("model",)
        )
        self.fallbacks = counter(
            "fallbacks",
            "Requests passed on from one ARGO model to the next of their fallbacks",
            ("from_model", "to_model"),
        )
        self.refreshes = counter(
            "model_refreshes", "Fetches of ARGO's model list, by result", ("result",)
        )
        self.reloads = counter(
            "config_reloads",
            "Reloads of the config file, by result and trigger",
            ("result", "trigger"),
        )
        for result in ("ok", "error"):  # known values start at 0, so a rate has a start
            self.refreshes.labels(result)
            for trigger in ("watch", "rpc"):
                self.reloads.labels(result, trigger)
        gauge(
            "active_streams",
            "Streamed answers being sent now",
            lambda: state.counters.active_streams,
        )
        gauge(
            "ready",
            "1 when ARGO's model list is loaded and ARGO answered the last check (/health/ready)",
            lambda: 1.0 if readiness(state)[0] else 0.0,
        )
        ProcessCollector(registry=registry)  # process_*: CPU, memory, open files (Linux)
        self._tallies: Tallies = {}
        registry.register(_RequestCollector(self._tallies))
        registry.register(_BreakerCollector(state.breakers))
        self._unsubscribe = (
            state.requests.subscribe(self.observe),
            state.subscribe(self.on_state_event),
        )

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    def scrape(self) -> bytes:
        """The metrics in Prometheus' text format (its content type: CONTENT_TYPE)."""
        return generate_latest(self.registry)

    # --------------------------------------------------------------------- listeners

    def observe(self, record: RequestRecord) -> None:
        """One finished request, from the request log (in every request's path)."""
        model = record.argo_model or UNKNOWN_MODEL
        client = record.client if record.client in KNOWN_CLIENTS else OTHER_CLIENT
        status = str(record.status)
        key = (record.client_format, model, status, client, record.stream)
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = _Tally()
        tally.count += 1
        seconds = record.latency_ms / 1000
        tally.latency[bisect_left(LATENCY_BUCKETS, seconds)] += 1  # bounds are "<="
        tally.latency_sum += seconds
        if record.ttft_ms is not None:
            seconds = record.ttft_ms / 1000
            tally.ttft[bisect_left(LATENCY_BUCKETS, seconds)] += 1
            tally.ttft_sum += seconds
        tokens = tally.tokens  # in TOKEN_KINDS' order
        tokens[0] += record.input_tokens
        tokens[1] += record.output_tokens
        tokens[2] += record.cached_tokens
        tokens[3] += record.cache_write_tokens
        tokens[4] += record.reasoning_tokens
        if record.retries:
            self.retries.labels(model).inc(record.retries)
        if record.attempts is not None:  # docs/configuration.md#fallbacks
            for tried, then in pairwise(record.attempts):
                if tried["outcome"] != "ok":
                    self.fallbacks.labels(tried["model"], then["model"]).inc()
        if record.error is not None:
            kind = UPSTREAM_ERROR_KINDS.get(record.error["type"])
            if kind is not None:
                self.upstream_errors.labels(model, kind, status).inc()

    def on_state_event(self, event: StateEvent) -> None:
        if isinstance(event, ModelsRefreshed):
            self.refreshes.labels("ok" if event.result.ok else "error").inc()
        elif isinstance(event, ConfigReloaded):
            self.reloads.labels("ok" if event.ok else "error", event.trigger).inc()
