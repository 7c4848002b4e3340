"""The effort table: a client's reasoning ask, in its own API's terms, onto what each ARGO
model accepts (docs/translation.md#reasoning).

Two steps, one table:

- `read_reasoning(format, body)` reads the client's body, before anything converts it,
  into one `Ask`: off, an effort level, a token budget, or adaptive (the model decides);
- `write_reasoning(ask, body, model, upstream)` writes that ask into the body bound for
  ARGO, for the model's family and in the fields that model takes, after llm-rosetta's
  conversion (or on the same-format body) and before ARGO's other rules
  (`workarounds/argo_rules.py`). Whatever the library wrote there is replaced, so every
  client format gets the same answer for the same ask.

Why a module of its own and not a workaround: it is not a defect to retire some day but
the daemon's own translation of one concept across four APIs, on every path; ARGO's
per-model values are data here (`_FAMILIES`), cited to docs/argo.md#parameter-rules, and
the simulator's policy (`daemon/simulator/catalogue.json`) refuses what they leave out.

One rule converts between budgets and efforts (`level_for_budget`, `budget_for_level`):
a budget of up to 2048 tokens is `low`, up to 8192 `medium`, more `high`; an effort
becomes a share of `max_tokens`, at least 1024 and less than `max_tokens`. When
`max_tokens` leaves no room for 1024, thinking is turned off, and the log says so.
"""

from __future__ import annotations

import fnmatch
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from .formats import ClientFormat, UpstreamFormat

__all__ = [
    "LEVELS",
    "Ask",
    "Level",
    "budget_for_level",
    "level_for_budget",
    "read_reasoning",
    "write_reasoning",
]

log = logging.getLogger(__name__)

Body = dict[str, Any]
Level = Literal["minimal", "low", "medium", "high", "xhigh", "max"]
LEVELS: tuple[Level, ...] = get_args(Level)  # lowest first
Kind = Literal["off", "effort", "budget", "adaptive"]


@dataclass(frozen=True, slots=True)
class Ask:
    """What a client asked for, whatever its format.

    `level` is the effort (also an adaptive or budget ask's, when the client gave one);
    `budget` the thinking tokens of a budget ask. `thinking` is False only for an
    Anthropic `output_config.effort` without `thinking`: an effort for the answer as a
    whole, which must not turn Claude's thinking on."""

    kind: Kind
    level: Level | None = None
    budget: int | None = None
    thinking: bool = True


# ------------------------------------------------------------------- the one rule

MIN_BUDGET = 1024  # Anthropic's least `budget_tokens` (docs/argo.md#claude)
_BUDGET_STEPS: tuple[tuple[int, Level], ...] = ((2048, "low"), (8192, "medium"))
_BUDGET_SHARE: dict[Level, float] = {
    "minimal": 0.1,
    "low": 0.25,
    "medium": 0.5,
    "high": 0.8,
    "xhigh": 0.9,
    "max": 0.95,
}


def level_for_budget(budget: int) -> Level:
    """A thinking budget as an effort: up to 2048 tokens low, up to 8192 medium, else high."""
    for most, level in _BUDGET_STEPS:
        if budget <= most:
            return level
    return "high"


def _fit_budget(budget: int, max_tokens: Any) -> int | None:
    """`budget` within 1024 ≤ budget < max_tokens; None when max_tokens leaves no room."""
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
        return max(budget, MIN_BUDGET)  # no max_tokens: ARGO refuses the body anyway
    if max_tokens <= MIN_BUDGET:
        return None
    return min(max(budget, MIN_BUDGET), max_tokens - 1)


def budget_for_level(level: Level, max_tokens: Any) -> int | None:
    """An effort as a thinking budget: its share of `max_tokens` (high: 0.8), fitted."""
    share = int(max_tokens * _BUDGET_SHARE[level]) if isinstance(max_tokens, int) else 0
    return _fit_budget(share, max_tokens)


def _nearest(level: Level, accepted: tuple[Level, ...]) -> Level:
    """The accepted level closest to `level` on the ladder; a tie goes to the higher."""
    rank = LEVELS.index(level)
    return min(accepted, key=lambda a: (abs(LEVELS.index(a) - rank), -LEVELS.index(a)))


# ----------------------------------------------------------------------- reading


def _level(value: Any) -> Level | None:
    if isinstance(value, str) and value.lower() in LEVELS:
        return value.lower()  # type: ignore[return-value]  # checked just above
    return None


def _effort_ask(value: Any) -> Ask | None:
    """An OpenAI effort: `none` is off, a level is an effort, anything else no ask."""
    if isinstance(value, str) and value.lower() == "none":
        return Ask("off")
    level = _level(value)
    return Ask("effort", level) if level is not None else None


def _dict(body: Body, *names: str) -> dict[str, Any]:
    for name in names:
        value = body.get(name)
        if isinstance(value, dict):
            return value
    return {}


def _read_chat(body: Body) -> Ask | None:
    """`reasoning_effort`; also the `reasoning.effort` some OpenAI-compatible clients send."""
    if "reasoning_effort" in body:
        return _effort_ask(body["reasoning_effort"])
    return _effort_ask(_dict(body, "reasoning").get("effort"))


def _read_responses(body: Body) -> Ask | None:
    return _effort_ask(_dict(body, "reasoning").get("effort"))


def _read_anthropic(body: Body) -> Ask | None:
    level = _level(_dict(body, "output_config").get("effort"))
    thinking = body.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind == "disabled":
        return Ask("off", level)
    if kind == "enabled":
        budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
        if isinstance(budget, int) and not isinstance(budget, bool) and budget > 0:
            return Ask("budget", level, budget)
        return Ask("adaptive", level)
    if kind == "adaptive":
        return Ask("adaptive", level)
    return Ask("effort", level, thinking=False) if level is not None else None


def _read_google(body: Body) -> Ask | None:
    generation = _dict(body, "generationConfig", "generation_config")
    config = _dict(generation, "thinkingConfig", "thinking_config")
    budget = config.get("thinkingBudget", config.get("thinking_budget"))
    level = _level(config.get("thinkingLevel", config.get("thinking_level")))
    if isinstance(budget, int) and not isinstance(budget, bool):
        if budget == 0:
            return Ask("off")
        if budget < 0:  # -1: dynamic, the model decides
            return Ask("adaptive", level)
        return Ask("budget", level, budget)
    if level is not None:
        return Ask("effort", level)
    # Gemini CLI sends only `includeThoughts`: thinking as the model sees fit
    return (
        Ask("adaptive") if config.get("includeThoughts", config.get("include_thoughts")) else None
    )


_READERS: dict[ClientFormat, Callable[[Body], Ask | None]] = {
    "openai_chat": _read_chat,
    "openai_responses": _read_responses,
    "anthropic": _read_anthropic,
    "google": _read_google,
}


def read_reasoning(fmt: ClientFormat, body: Body) -> Ask | None:
    """The client's reasoning ask, from its own body; None if it asked for nothing (or
    for something no API defines: that reaches ARGO as sent, and ARGO answers it)."""
    return _READERS[fmt](body)


# ----------------------------------------------------------------------- the table


@dataclass(frozen=True)
class _Family:
    """What one group of ARGO models takes (docs/argo.md#reasoning-settings)."""

    upstream: UpstreamFormat
    models: tuple[str, ...]  # fnmatch patterns on the ARGO internal id; first match wins
    levels: tuple[Level, ...]  # the efforts it takes, lowest first; () none at all
    off: str | None = None  # chat: the `reasoning_effort` that turns reasoning off, if any
    thinking: tuple[str, ...] = ()  # Claude: the `thinking.type`s it takes besides disabled


_LOW_TO_HIGH: tuple[Level, ...] = ("low", "medium", "high")
_FAMILIES: tuple[_Family, ...] = (
    # ARGO's OpenAI API: `reasoning_effort`
    _Family("openai_chat", ("gpt5", "gpt5mini", "gpt5nano"), ("minimal", *_LOW_TO_HIGH), "minimal"),
    _Family("openai_chat", ("gpt5*",), _LOW_TO_HIGH, "none"),  # GPT-5.1 and later
    _Family("openai_chat", ("gpto*",), _LOW_TO_HIGH),  # o-series: reasoning cannot be off
    _Family("openai_chat", ("gpt4*", "gpt3*"), ()),  # not reasoning models
    _Family("openai_chat", ("gemini*",), _LOW_TO_HIGH),  # ARGO maps it onto Gemini's thinking
    # ARGO's Anthropic API: `thinking` and `output_config.effort`
    _Family(
        "anthropic",
        ("claudeopus47*", "claudeopus48*"),
        ("low", "medium", "high", "xhigh", "max"),
        thinking=("adaptive",),
    ),
    _Family(
        "anthropic",
        ("claudeopus46*", "claudesonnet46*"),
        _LOW_TO_HIGH,
        thinking=("adaptive", "enabled"),
    ),
    _Family(
        "anthropic",
        ("claudeopus45*", "claudesonnet45*", "claudehaiku45*"),
        _LOW_TO_HIGH,
        thinking=("enabled",),
    ),
    _Family("anthropic", ("claudeopus41*", "claudesonnet4"), (), thinking=("enabled",)),
)


@functools.lru_cache(maxsize=256)
def _family_of(model: str, upstream: UpstreamFormat) -> _Family | None:
    """The row for one model (looked up once: this runs on every request); None for a
    model the table does not know, whose body is left as the client and library made it."""
    for family in _FAMILIES:
        if family.upstream == upstream and any(
            fnmatch.fnmatchcase(model, p) for p in family.models
        ):
            return family
    return None


# ----------------------------------------------------------------------- writing


def _chat_effort(ask: Ask, family: _Family) -> str | None:
    """The `reasoning_effort` for `ask`; None: leave it out (the model's default)."""
    if ask.kind == "off":
        return family.off or family.levels[0]
    level = ask.level
    if level is None and ask.kind == "budget" and ask.budget is not None:
        level = level_for_budget(ask.budget)
    return _nearest(level, family.levels) if level is not None else None


def _write_chat(ask: Ask | None, body: Body, family: _Family | None) -> list[str]:
    notes = []
    if body.pop("reasoning", None) is not None:
        notes.append("dropped `reasoning` (Chat Completions has no such field)")
    if ask is None or family is None:
        return notes
    old = body.pop("reasoning_effort", None)
    effort = _chat_effort(ask, family) if family.levels else None
    if effort is not None:
        body["reasoning_effort"] = effort
    if effort != old:
        shown = "left out" if effort is None else repr(effort)
        notes.append(f"reasoning_effort {old!r} → {shown} (asked: {_shown(ask)})")
    return notes


def _claude_thinking(
    ask: Ask, family: _Family, max_tokens: Any
) -> tuple[dict[str, Any] | None, Level | None, str | None]:
    """(the `thinking` to send or None to leave it, the effort, a note when the ask had
    to be turned off)."""
    level = ask.level
    if ask.kind == "off":
        return {"type": "disabled"}, level, None
    if not ask.thinking:
        return None, level, None
    if ask.kind == "budget" and ask.budget is not None:
        if "enabled" not in family.thinking:
            return {"type": "adaptive"}, level or level_for_budget(ask.budget), None
        budget = _fit_budget(ask.budget, max_tokens)
    elif "adaptive" in family.thinking:
        return {"type": "adaptive"}, level, None
    else:
        budget = budget_for_level(level or "high", max_tokens)
    if budget is None:
        note = f"thinking off: max_tokens {max_tokens} leaves no room for a budget of 1024"
        return {"type": "disabled"}, level, note
    return {"type": "enabled", "budget_tokens": budget}, level, None


def _write_claude(ask: Ask | None, body: Body, family: _Family | None) -> list[str]:
    if family is None:
        return []
    if ask is None:
        old = body.get("thinking")
        kind = old.get("type") if isinstance(old, dict) else None
        if kind is None or kind == "disabled" or kind in family.thinking:
            return []
        ask = Ask("adaptive")  # thinking the library wrote in a kind this model refuses
    notes = []
    old = body.get("thinking")
    thinking, level, note = _claude_thinking(ask, family, body.get("max_tokens"))
    if note is not None:
        notes.append(note)
    if thinking is not None:
        display = old.get("display") if isinstance(old, dict) else None
        if display is not None and thinking["type"] != "disabled":
            thinking["display"] = display  # the client's (or library's) visibility, kept
        if thinking != old:
            body["thinking"] = thinking  # a new object: never change the library's (B8)
            notes.append(f"thinking {old!r} → {thinking!r} (asked: {_shown(ask)})")
    if level is None and family.levels:
        return notes  # no effort asked: one the body has stays (ARGO's to judge)
    config = body.get("output_config")
    config = dict(config) if isinstance(config, dict) else {}
    old_effort = config.pop("effort", None)
    effort = _nearest(level, family.levels) if level is not None and family.levels else None
    if effort is not None:
        config["effort"] = effort
    if effort != old_effort:
        if config:
            body["output_config"] = config
        else:
            body.pop("output_config", None)
        notes.append(f"output_config.effort {old_effort!r} → {effort!r}")
    return notes


def _shown(ask: Ask) -> str:
    parts = [ask.kind, ask.level, None if ask.budget is None else f"budget {ask.budget}"]
    return " ".join(p for p in parts if p)


_WRITERS: dict[UpstreamFormat, Callable[[Ask | None, Body, _Family | None], list[str]]] = {
    "openai_chat": _write_chat,
    "anthropic": _write_claude,
}


def write_reasoning(ask: Ask | None, body: Body, model: str, upstream: UpstreamFormat) -> None:
    """Write `ask` into `body` (ours to change at the top level) as `model` takes it."""
    for note in _WRITERS[upstream](ask, body, _family_of(model, upstream)):
        log.info("%s: %s", model, note)
