"""Fault injection: the fault vocabulary, the admin queue of rules, and per-request selection.

Faults come from two places (docs/simulator.md#fault-injection): rules queued through
`POST /__sim/faults` (consumed in order, each `times` times, optionally restricted to a
path substring, a model, streaming or not, and a probability drawn from a seeded RNG),
and `[[sim:fault=...]]` markers in the prompt (`markers.py`), which fire on every request
that carries them. A request gets at most one queued rule plus its marker faults; a fault
that makes no sense for an endpoint (e.g. `no_done` on embeddings) is ignored there and a
queued rule waits for a request it fits.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .markers import Markers

__all__ = [
    "FAULT_NAMES",
    "NO_FAULTS",
    "STATUS_CODES",
    "Fault",
    "FaultBook",
    "FaultSet",
    "Kind",
    "select_faults",
]

Kind = Literal[
    "chat", "messages", "embeddings", "legacy_chat", "legacy_stream", "legacy_embed", "models"
]

_ALL: frozenset[str] = frozenset(
    ("chat", "messages", "embeddings", "legacy_chat", "legacy_stream", "legacy_embed", "models")
)
_ANSWERS = frozenset(("chat", "messages", "legacy_chat", "legacy_stream"))

# Which endpoint kinds each fault means something on.
_APPLIES: dict[str, frozenset[str]] = {
    "latency": _ALL,
    "hang": _ALL,
    "status": _ALL,
    "cut": _ALL,
    "malformed": _ALL,
    "split": _ALL,
    "streaming_required": _ANSWERS,
    "stream_error": frozenset(("chat", "messages", "legacy_stream")),
    "auth_notice": _ANSWERS,
    "api_error_200": _ALL - {"models"},
    "openai_shape": frozenset(("messages",)),
    "leak_tools": frozenset(("chat",)),
    "refuse_stream_tools": frozenset(("chat", "messages")),
    "no_usage": frozenset(("chat",)),
    "no_done": frozenset(("chat",)),
    "no_input_tokens": frozenset(("messages",)),
    "reply": _ANSWERS,
    "invalid_json": frozenset(("models",)),
    "empty": frozenset(("models",)),
    "old_format": frozenset(("models",)),
    "bad_claude_name": frozenset(("models",)),
}
log = logging.getLogger(__name__)

_STREAM_ONLY = frozenset(("stream_error", "no_done", "no_input_tokens", "refuse_stream_tools"))
_TOOLS_ONLY = frozenset(("refuse_stream_tools", "leak_tools"))
_BODY_ONLY = frozenset(("openai_shape", "streaming_required"))

FAULT_NAMES: frozenset[str] = frozenset(_APPLIES)
STATUS_CODES: frozenset[int] = frozenset(
    (400, 401, 403, 404, 408, 413, 422, 429, 500, 502, 503, 504, 529)
)


@dataclass(frozen=True)
class Fault:
    """One fault and its parameters (strings from markers, JSON values from the admin API)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def number(self, key: str, default: float) -> float:
        """A numeric parameter; `default` when absent or unreadable."""
        raw = self.params.get(key)
        if raw is None:
            return default
        try:
            return float(raw)
        except (TypeError, ValueError):
            return default

    def integer(self, key: str, default: int) -> int:
        """An integer parameter; `default` when absent or unreadable."""
        return int(self.number(key, default))

    def text(self, key: str, default: str = "") -> str:
        """A string parameter."""
        raw = self.params.get(key)
        return default if raw is None else str(raw)

    def fits(self, kind: str, stream: bool, tools: bool = False) -> bool:
        """Whether this fault means something on a `kind` request (streamed, with tools)."""
        if kind not in _APPLIES.get(self.name, frozenset()):
            return False
        if self.name in _STREAM_ONLY and not stream:
            return False
        if self.name in _TOOLS_ONLY and not tools:
            return False
        return not (self.name in _BODY_ONLY and stream)


@dataclass(frozen=True)
class FaultSet:
    """The faults chosen for one request, by name (first one of a name wins)."""

    by_name: Mapping[str, Fault] = field(default_factory=dict)

    def get(self, name: str) -> Fault | None:
        """The fault called `name`, if chosen."""
        return self.by_name.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def __bool__(self) -> bool:
        return bool(self.by_name)


NO_FAULTS = FaultSet()


@dataclass
class _Rule:
    fault: Fault
    remaining: int | None  # None = unlimited
    path: str | None
    model: str | None
    stream: bool | None
    probability: float

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"fault": self.fault.name, **self.fault.params}
        out["times"] = -1 if self.remaining is None else self.remaining
        for key in ("path", "model", "stream"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.probability < 1.0:
            out["probability"] = self.probability
        return out


_RULE_KEYS = frozenset(("fault", "times", "path", "model", "stream", "probability"))


def _parse_rule(raw: Any) -> _Rule:
    if not isinstance(raw, Mapping):
        raise ValueError("each rule must be a JSON object")
    name = raw.get("fault")
    if name not in FAULT_NAMES:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(FAULT_NAMES))}")
    params = {k: v for k, v in raw.items() if k not in _RULE_KEYS}
    if name == "status":
        code = params.get("code", 500)
        if not isinstance(code, int) or code not in STATUS_CODES:
            raise ValueError(f"status fault: code must be one of {sorted(STATUS_CODES)}")
        for key in ("ratelimit", "ratelimit_tokens"):
            limit = params.get(key)
            if limit is not None and (type(limit) is not int or limit < 1):
                raise ValueError(f"status fault: {key} must be a positive integer")
        reset = params.get("ratelimit_reset")
        if reset is not None and (type(reset) not in (int, float) or reset < 0):
            raise ValueError("status fault: ratelimit_reset must be a number of seconds >= 0")
    times = raw.get("times", 1)
    if times is not None and (not isinstance(times, int) or times == 0 or times < -1):
        raise ValueError("times must be a positive integer, or -1 / null for unlimited")
    stream = raw.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise ValueError("stream must be true or false")
    probability = raw.get("probability", 1.0)
    if not isinstance(probability, (int, float)) or not 0.0 <= probability <= 1.0:
        raise ValueError("probability must be a number between 0 and 1")
    return _Rule(
        fault=Fault(str(name), params),
        remaining=None if times in (None, -1) else times,
        path=None if raw.get("path") is None else str(raw["path"]),
        model=None if raw.get("model") is None else str(raw["model"]),
        stream=stream,
        probability=float(probability),
    )


class FaultBook:
    """The admin API's queue of fault rules."""

    def __init__(self, seed: int = 0) -> None:
        self._rules: list[_Rule] = []
        self._rng = random.Random(seed)
        self._seed = seed

    def add(self, raw_rules: Any) -> int:
        """Validate and queue rules; raise ValueError (nothing queued) on a bad one."""
        if not isinstance(raw_rules, list):
            raise ValueError('body must be {"rules": [...]}')
        parsed = [_parse_rule(raw) for raw in raw_rules]
        self._rules.extend(parsed)
        return len(parsed)

    def clear(self) -> None:
        """Forget every queued rule and restart the probability RNG."""
        self._rules.clear()
        self._rng = random.Random(self._seed)

    def pending(self) -> list[dict[str, Any]]:
        """The queued rules as JSON objects, in queue order."""
        return [rule.describe() for rule in self._rules]

    def take(
        self, kind: str, path: str, models: Iterable[str], stream: bool, tools: bool = False
    ) -> Fault | None:
        """Consume one use of the first queued rule that fits this request."""
        if not self._rules:
            return None
        names = set(models)
        for index, rule in enumerate(self._rules):
            if rule.path is not None and rule.path not in path:
                continue
            if rule.model is not None and rule.model not in names:
                continue
            if rule.stream is not None and rule.stream != stream:
                continue
            if not rule.fault.fits(kind, stream, tools):
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining == 0:
                    del self._rules[index]
            return rule.fault
        return None


def select_faults(
    book: FaultBook,
    kind: Kind,
    path: str,
    models: Iterable[str],
    stream: bool,
    markers: Markers,
    tools: bool = False,
) -> FaultSet:
    """The faults of one request: its marker faults, then one queued rule. A marker with
    `model=ID` fires only on requests for that model (by the name the request gives, or
    the internal id it stands for): the same prompt then fails on one model and is
    answered by another, as a fallback needs."""
    names = tuple(models)
    chosen: dict[str, Fault] = {}
    for pairs in markers.faults:
        params = {k: v for k, v in pairs.items() if k not in ("fault", "model")}
        fault = Fault(pairs["fault"], params)
        if fault.name not in FAULT_NAMES:
            log.warning("ignoring unknown fault marker %r", fault.name)
        elif "model" in pairs and pairs["model"] not in names:
            continue
        elif fault.fits(kind, stream, tools):
            chosen.setdefault(fault.name, fault)
    queued = book.take(kind, path, names, stream, tools)
    if queued is not None:
        chosen.setdefault(queued.name, queued)
    return FaultSet(chosen) if chosen else NO_FAULTS
