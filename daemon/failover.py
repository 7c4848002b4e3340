"""Fallbacks: the next model of a request's chain when one fails before its answer
starts (docs/configuration.md#fallbacks), and the breakers that skip a failing model.

The request path hands in one attempt function, which sends the request to a given
ARGO model (converting it for that model's family) and returns once the answer has
started: a whole JSON answer, or a stream whose first chunk is in. So everything that
fails here failed before the client had a byte, and the next model may be tried. A
failure after that is the stream's (relay.py) and never falls back.

What falls back is what the upstream client retries (upstream.py), once its retries
are spent: 429, a 5xx, a timeout, no connection. A 4xx other than 429 is about the
request, and would fail the same way on another model: it ends the chain. A chain that
fails gives the first model's error, its message naming every model tried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from .breakers import Breakers
from .config import Config
from .errors import (
    ArgoProxyError,
    UpstreamAuthError,
    UpstreamBusyError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from .exchange import Result
from .observer import Observer

__all__ = ["Attempt", "failover", "falls_back", "outcome_of"]

log = logging.getLogger(__name__)

# (ARGO model, timeout for this try, whether the client's body may be used up) → the
# answer, started. The first try keeps the request's own timeout (None: the default).
Attempt = Callable[[str, float | None, bool], Awaitable[Result]]
_LEAST_TIME = 1.0  # seconds a fallback needs to be worth starting
SKIPPED_OPEN = "skipped: breaker open"


def falls_back(exc: BaseException) -> bool:
    """Whether a failure of one model lets the next model be tried (and counts
    against its breaker): ARGO overloaded, down, slow or unreachable for it."""
    if isinstance(exc, UpstreamStatusError):
        status = exc.upstream_status
        return status == 429 or status >= 500
    if isinstance(exc, UpstreamAuthError | UpstreamBusyError):
        return False  # the same user everywhere; our own pool is full for every model
    return isinstance(exc, UpstreamError)  # a timeout, no connection, a broken answer


def outcome_of(exc: ArgoProxyError) -> str:
    """A failure in a word or two, for the record and the chain's error message."""
    if isinstance(exc, UpstreamStatusError):
        return f"HTTP {exc.upstream_status}"
    if isinstance(exc, UpstreamTimeoutError):
        return "timed out"
    if isinstance(exc, UpstreamError):
        return "failed" if exc.status == 502 else f"HTTP {exc.status}"
    return f"refused ({exc.status})"


async def failover(
    chain: list[str],
    attempt: Attempt,
    breakers: Breakers,
    config: Config,
    observer: Observer,
    timeout: float | None,
) -> Result:
    """The first answer along `chain` (the model chosen, then its fallbacks)."""
    if len(chain) == 1:  # no fallbacks: the one model, its failures counted all the same
        return await _alone(chain[0], attempt, breakers, config, timeout)
    deadline = time.monotonic() + (timeout or config.request_timeout)
    tried: list[dict[str, str]] = []
    first: ArgoProxyError | None = None

    async def one(model: str, position: int) -> Result | None:
        nonlocal first
        remaining = deadline - time.monotonic()
        if position and remaining < _LEAST_TIME:
            tried.append({"model": model, "outcome": "skipped: no time left"})
            return None
        if tried:
            log.warning("falling back to %s (%s)", model, _summary(tried))
        last = position == len(chain) - 1
        settled = False
        try:
            result = await attempt(model, remaining if position else timeout, last)
            settled = True
        except ArgoProxyError as exc:
            settled = True
            tried.append({"model": model, "outcome": outcome_of(exc)})
            first = first or exc
            if falls_back(exc):
                breakers.failed(model, config.breaker_failures, config.breaker_cooldown)
                return None
            if isinstance(exc, UpstreamError):  # ARGO answered for this model
                breakers.succeeded(model)
            raise _chain_error(first, tried) from None
        finally:
            if not settled:  # cancelled: a half-open trial tells nothing
                breakers.release(model)
        breakers.succeeded(model)
        tried.append({"model": model, "outcome": "ok"})
        return result

    try:
        for position, model in enumerate(chain):
            if len(chain) > 1 and not breakers.admit(model):
                tried.append({"model": model, "outcome": SKIPPED_OPEN})
                continue
            result = await one(model, position)
            if result is not None:
                return result
        if first is None:  # every breaker open: the chosen model is tried all the same
            result = await one(chain[0], len(chain) - 1)
            if result is not None:
                return result
        assert first is not None  # every model tried failed, or there was no time left
        raise _chain_error(first, tried)
    finally:
        if len(chain) > 1 or len(tried) > 1:
            observer.tried(tried)


async def _alone(
    model: str, attempt: Attempt, breakers: Breakers, config: Config, timeout: float | None
) -> Result:
    """A model without fallbacks, tried whatever its breaker says; its failures counted."""
    try:
        result = await attempt(model, timeout, True)
    except ArgoProxyError as exc:
        if falls_back(exc):
            breakers.failed(model, config.breaker_failures, config.breaker_cooldown)
        elif isinstance(exc, UpstreamError):
            breakers.succeeded(model)
        raise
    breakers.succeeded(model)
    return result


def _summary(tried: list[dict[str, str]]) -> str:
    return "; ".join(f"{t['model']}: {t['outcome']}" for t in tried)


def _chain_error(first: ArgoProxyError, tried: list[dict[str, str]]) -> ArgoProxyError:
    """The first model's error, its message naming each model tried when there were more."""
    if len(tried) > 1:
        first.message = f"{first.message} (models tried: {_summary(tried)})"
        first.args = (first.message,)
    return first
