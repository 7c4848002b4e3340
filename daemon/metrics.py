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

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

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


# One request's series: its count, latency, time to first token, and tokens by kind.
_Series = tuple[Counter, Histogram, Histogram, tuple[Counter, ...]]


class DaemonMetrics:
    """One daemon's metrics; listens to its state from creation until `close()`."""

    def __init__(self, state: DaemonState) -> None:
        self._state = state
        registry = self.registry = CollectorRegistry()

        def counter(name: str, doc: str, labels: tuple[str, ...]) -> Counter:
            return Counter(f"argo_proxy_{name}", doc, labels, registry=registry)

        def histogram(name: str, doc: str, labels: tuple[str, ...]) -> Histogram:
            return Histogram(
                f"argo_proxy_{name}", doc, labels, buckets=LATENCY_BUCKETS, registry=registry
            )

        def gauge(name: str, doc: str, read: Callable[[], float]) -> None:
            Gauge(f"argo_proxy_{name}", doc, registry=registry).set_function(read)

        self.requests = counter(
            "requests",
            "API requests by client format, ARGO model, status and client",
            ("client_format", "model", "status", "client"),
        )
        self.latency = histogram(
            "request_duration_seconds",
            "From a request's arrival to its answer's last byte",
            ("model", "stream"),
        )
        self.ttft = histogram(
            "time_to_first_token_seconds",
            "Streams: from a request's arrival to the first content sent to the client",
            ("model",),
        )
        self.tokens = counter(
            "tokens",
            "Tokens by ARGO model and kind (input includes cached and cache_write, "
            "output includes reasoning)",
            ("model", "kind"),
        )
        self.upstream_errors = counter(
            "upstream_errors",
            "Requests that failed because of ARGO, by kind and the status the client got",
            ("model", "kind", "status"),
        )
        self.retries = counter(
            "upstream_retries", "Calls to ARGO the daemon made again after a failure", ("model",)
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
        self._series: dict[tuple[str, str, str, str, bool], _Series] = {}
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
        """One finished request, from the request log: in every request's path, so each
        series' child is looked up once (labels() validates and locks every call)."""
        model = record.argo_model or UNKNOWN_MODEL
        client = record.client if record.client in KNOWN_CLIENTS else OTHER_CLIENT
        status = str(record.status)
        key = (record.client_format, model, status, client, record.stream)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = self._children(*key)
        requests, latency, ttft, tokens = series
        requests.inc()
        latency.observe(record.latency_ms / 1000)
        if record.ttft_ms is not None:
            ttft.observe(record.ttft_ms / 1000)
        for child, count in zip(
            tokens,
            (
                record.input_tokens,
                record.output_tokens,
                record.cached_tokens,
                record.cache_write_tokens,
                record.reasoning_tokens,
            ),
            strict=True,
        ):
            if count:
                child.inc(count)
        if record.retries:
            self.retries.labels(model).inc(record.retries)
        if record.error is not None:
            kind = UPSTREAM_ERROR_KINDS.get(record.error["type"])
            if kind is not None:
                self.upstream_errors.labels(model, kind, status).inc()

    def _children(
        self, client_format: str, model: str, status: str, client: str, stream: bool
    ) -> _Series:
        return (
            self.requests.labels(client_format, model, status, client),
            self.latency.labels(model, "true" if stream else "false"),
            self.ttft.labels(model),
            tuple(self.tokens.labels(model, kind) for kind in TOKEN_KINDS),
        )

    def on_state_event(self, event: StateEvent) -> None:
        if isinstance(event, ModelsRefreshed):
            self.refreshes.labels("ok" if event.result.ok else "error").inc()
        elif isinstance(event, ConfigReloaded):
            self.reloads.labels("ok" if event.ok else "error", event.trigger).inc()
