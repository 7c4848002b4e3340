"""A circuit breaker per ARGO model (docs/configuration.md#breaker).

A model whose calls fail `breaker_failures` times in a row (the failures a fallback
follows: 429, 5xx, timeouts, connection errors) is *open*: requests skip it for
`breaker_cooldown` seconds, so a session does not pay the failing model's timeout on
every turn. Then one request is let through as a trial (*half-open*); its success
closes the breaker, its failure opens it for another cool-down. The keys are read at
each call, so a reload changes them live; the states live in memory, in the daemon's
state, and outlast a reload (not a restart).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["BreakerState", "Breakers"]

BreakerState = Literal["closed", "open", "half_open"]
STATE_NUMBERS: dict[BreakerState, int] = {"closed": 0, "half_open": 1, "open": 2}
_RECENT = 600.0  # seconds a closed breaker's last failure keeps it in the status


@dataclass
class _Breaker:
    failures: int = 0  # in a row
    retry_at: float | None = None  # monotonic: when an open breaker lets a trial through
    trial: bool = False  # a half-open trial is in flight
    failed_at: float = 0.0  # monotonic: the last failure


class Breakers:
    """Every model's breaker; `clock` is monotonic seconds, `wall` Unix time (tests
    hand in their own, so no test sleeps)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._wall = wall
        self._models: dict[str, _Breaker] = {}

    def state(self, model: str) -> BreakerState:
        breaker = self._models.get(model)
        if breaker is None or breaker.retry_at is None:
            return "closed"
        if breaker.trial or self._clock() >= breaker.retry_at:
            return "half_open"
        return "open"

    def admit(self, model: str) -> bool:
        """Whether a request may try `model` now; a half-open breaker admits one trial."""
        breaker = self._models.get(model)
        if breaker is None or breaker.retry_at is None:
            return True
        if breaker.trial or self._clock() < breaker.retry_at:
            return False
        breaker.trial = True
        return True

    def failed(self, model: str, threshold: int, cooldown: float) -> None:
        """A call to `model` failed; opens its breaker at `threshold` in a row (0: never)."""
        breaker = self._models.setdefault(model, _Breaker())
        breaker.failures += 1
        breaker.failed_at = self._clock()
        reopen = breaker.trial or breaker.retry_at is not None
        breaker.trial = False
        if threshold > 0 and cooldown > 0 and (reopen or breaker.failures >= threshold):
            breaker.retry_at = breaker.failed_at + cooldown
        else:
            breaker.retry_at = None

    def succeeded(self, model: str) -> None:
        """`model` answered: its breaker closes, its count of failures starts again."""
        breaker = self._models.get(model)
        if breaker is not None:
            breaker.failures, breaker.retry_at, breaker.trial = 0, None, False

    def release(self, model: str) -> None:
        """A trial ended without telling anything (the client left, a bad request): the
        next request may try instead."""
        breaker = self._models.get(model)
        if breaker is not None:
            breaker.trial = False

    def snapshot(self) -> list[dict[str, Any]]:
        """The breakers worth showing (`ctl status`, the RPC `status`): those not closed,
        or with failures, or that failed in the last ten minutes."""
        now, wall = self._clock(), self._wall()
        shown = []
        for model, breaker in sorted(self._models.items()):
            state = self.state(model)
            recent = breaker.failed_at and now - breaker.failed_at < _RECENT
            if state == "closed" and not breaker.failures and not recent:
                continue
            retry_at = None
            if breaker.retry_at is not None:
                when = wall + max(0.0, breaker.retry_at - now)
                retry_at = datetime.datetime.fromtimestamp(when, datetime.UTC).isoformat(
                    timespec="seconds"
                )
            shown.append(
                {"model": model, "state": state, "failures": breaker.failures, "retry_at": retry_at}
            )
        return shown

    def states(self) -> dict[str, BreakerState]:
        """Every model with a breaker and its state (the /metrics gauge)."""
        return {model: self.state(model) for model in self._models}
