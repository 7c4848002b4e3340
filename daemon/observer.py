"""What one request tells about itself as it goes through the request path.

Every stage (intake, the backend, the upstream client, the relay, the recording stage
in `pipeline.py`) is handed the request's `Observer` and tells it what happened, in
the order it happens; none of them keeps or writes a record itself. The request's
record (`records.RequestRecord`) and, with `dump_requests` on, its dump
(`dumps.RequestDump`) are observers; `Observers` hands each event to both.

Every method does nothing here: an observer overrides the events it needs. The
events, in a request's order (docs/architecture.md#the-observer):

    asked       intake read the body: the model the client named, whether it streams
    chose       the ARGO model chosen for it, the ARGO API (upstream) that serves it,
                and the `routes:` rule that chose it; again for each fallback tried
    prepared    the body the backend sends ARGO (a dict, read only) and what was done to it
    sending     the upstream client sends bytes to ARGO (once per call, not per retry)
    retried     ... and tries again after a refused connection or a 429/5xx
    answered    ARGO's status and content type
    received    ARGO's bytes: the whole body, or each chunk of a stream
    completed   ARGO's whole answer, parsed: its usage and the model it names
    event       one event of ARGO's stream, parsed
    usage_estimated  the offline token estimate stands in for ARGO's usage (legacy gateway)
    streaming   the client's stream starts (its content type)
    streamed    a chunk of the client's stream goes out (the first one is the first byte)
    tried       with fallbacks: each model of the chain and how it went (failover.py)
    failed      the request failed; (status, error type, message); the first one counts
    ended       the answer is out (the JSON answer, or None after a stream or an error)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["NO_OBSERVER", "Observer", "Observers"]


class Observer:
    """Is told each event of one request; every event is ignored unless overridden."""

    __slots__ = ()

    def asked(self, model: str, stream: bool) -> None:
        pass

    def chose(self, model: str, upstream: str, rule: str | None = None) -> None:
        pass

    def prepared(self, body: dict[str, Any] | None, *, converted: bool, thinking_off: bool) -> None:
        pass

    def sending(self, url: str, headers: Mapping[str, str], body: bytes) -> None:
        pass

    def retried(self) -> None:
        pass

    def answered(self, status: int, content_type: str) -> None:
        pass

    def received(self, data: bytes) -> None:
        pass

    def completed(self, upstream: str, body: Any) -> None:
        pass

    def event(self, event: dict[str, Any]) -> None:
        pass

    def usage_estimated(self, input_tokens: int, output_tokens: int) -> None:
        pass

    def streaming(self, content_type: str) -> None:
        pass

    def streamed(self, chunk: bytes) -> None:
        pass

    def tried(self, attempts: list[dict[str, str]]) -> None:
        pass

    def failed(self, status: int, kind: str, message: str) -> None:
        pass

    def ended(self, answer: Any = None) -> None:
        pass


NO_OBSERVER = Observer()  # for calls made outside a request (the model list, tests)


class Observers(Observer):
    """Hands every event to each of `observers`, in order (the record, then the dump)."""

    __slots__ = ("_all",)

    def __init__(self, *observers: Observer) -> None:
        self._all = observers

    def asked(self, model: str, stream: bool) -> None:
        for o in self._all:
            o.asked(model, stream)

    def chose(self, model: str, upstream: str, rule: str | None = None) -> None:
        for o in self._all:
            o.chose(model, upstream, rule)

    def prepared(self, body: dict[str, Any] | None, *, converted: bool, thinking_off: bool) -> None:
        for o in self._all:
            o.prepared(body, converted=converted, thinking_off=thinking_off)

    def sending(self, url: str, headers: Mapping[str, str], body: bytes) -> None:
        for o in self._all:
            o.sending(url, headers, body)

    def retried(self) -> None:
        for o in self._all:
            o.retried()

    def answered(self, status: int, content_type: str) -> None:
        for o in self._all:
            o.answered(status, content_type)

    def received(self, data: bytes) -> None:
        for o in self._all:
            o.received(data)

    def completed(self, upstream: str, body: Any) -> None:
        for o in self._all:
            o.completed(upstream, body)

    def event(self, event: dict[str, Any]) -> None:
        for o in self._all:
            o.event(event)

    def usage_estimated(self, input_tokens: int, output_tokens: int) -> None:
        for o in self._all:
            o.usage_estimated(input_tokens, output_tokens)

    def streaming(self, content_type: str) -> None:
        for o in self._all:
            o.streaming(content_type)

    def streamed(self, chunk: bytes) -> None:
        for o in self._all:
            o.streamed(chunk)

    def tried(self, attempts: list[dict[str, str]]) -> None:
        for o in self._all:
            o.tried(attempts)

    def failed(self, status: int, kind: str, message: str) -> None:
        for o in self._all:
            o.failed(status, kind, message)

    def ended(self, answer: Any = None) -> None:
        for o in self._all:
            o.ended(answer)
