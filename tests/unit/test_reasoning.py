"""The effort table (docs/translation.md#reasoning): every client's reasoning ask onto
every ARGO family, through the request path's own steps (read the ask, convert, write
it, ARGO's rules), and the budget ↔ effort rule."""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from argo_proxy.daemon.convert import Conversion
from argo_proxy.daemon.formats import ClientFormat, UpstreamFormat
from argo_proxy.daemon.models import family_of
from argo_proxy.daemon.reasoning import (
    Ask,
    budget_for_level,
    level_for_budget,
    read_reasoning,
    write_reasoning,
)
from argo_proxy.daemon.workarounds.argo_rules import apply_model_rules

USER = [{"role": "user", "content": "hi"}]
UPSTREAM: dict[str, UpstreamFormat] = {"claude": "anthropic"}
REASONING_KEYS = ("reasoning_effort", "reasoning", "thinking", "output_config")


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    # The library reports the fields it drops as warnings; pytest would make them errors.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def sent(source: ClientFormat, body: dict[str, Any], model: str) -> dict[str, Any]:
    """The reasoning fields of what the request path sends ARGO for `body` (`_chat`)."""
    upstream: UpstreamFormat = "anthropic" if model.startswith("claude") else "openai_chat"
    body = copy.deepcopy(body)
    ask = read_reasoning(source, body)
    out = Conversion(source, upstream, model, family_of(model)).request(body)
    write_reasoning(ask, out, model, upstream)
    apply_model_rules(out, model, upstream)
    return {k: out[k] for k in REASONING_KEYS if k in out}


def chat(effort: str, max_tokens: int = 4000) -> dict[str, Any]:
    return {"messages": USER, "reasoning_effort": effort, "max_tokens": max_tokens}


def responses(effort: str) -> dict[str, Any]:
    return {"input": "hi", "reasoning": {"effort": effort}, "max_output_tokens": 4000}


def anthropic(max_tokens: int = 4000, **fields: Any) -> dict[str, Any]:
    return {"messages": USER, "max_tokens": max_tokens, **fields}


def google(max_tokens: int = 4000, **thinking: Any) -> dict[str, Any]:
    config = {"maxOutputTokens": max_tokens, "thinkingConfig": thinking}
    return {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": config}


def effort(level: str) -> dict[str, Any]:
    return {"reasoning_effort": level}


def adaptive(level: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"thinking": {"type": "adaptive"}}
    if level is not None:
        out["output_config"] = {"effort": level}
    return out


def enabled(budget: int, level: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"thinking": {"type": "enabled", "budget_tokens": budget}}
    if level is not None:
        out["output_config"] = {"effort": level}
    return out


OFF = {"thinking": {"type": "disabled"}}
NOTHING: dict[str, Any] = {}

# One row per client ask: what each ARGO family gets. `max_tokens` is 4000 unless the ask
# sets it: an effort on Claude 4.5 is a budget of its share of 4000 (high: 0.8 → 3200).
MODELS = ("gpt5", "gpt51", "gpto3", "gpt4o", "gemini25pro", "claudesonnet45", "claudeopus46")
MODELS += ("claudeopus47",)
TABLE: list[tuple[str, ClientFormat, dict[str, Any], tuple[dict[str, Any], ...]]] = [
    (
        "chat none",
        "openai_chat",
        chat("none"),
        (effort("minimal"), effort("none"), effort("low"), NOTHING, effort("low"), OFF, OFF, OFF),
    ),
    (
        "chat minimal",
        "openai_chat",
        chat("minimal"),
        (
            effort("minimal"),
            effort("low"),
            effort("low"),
            NOTHING,
            effort("low"),
            enabled(1024, "low"),
            adaptive("low"),
            adaptive("low"),
        ),
    ),
    (
        "chat medium",
        "openai_chat",
        chat("medium"),
        (
            effort("medium"),
            effort("medium"),
            effort("medium"),
            NOTHING,
            effort("medium"),
            enabled(2000, "medium"),
            adaptive("medium"),
            adaptive("medium"),
        ),
    ),
    (
        "chat xhigh",
        "openai_chat",
        chat("xhigh"),
        (
            effort("high"),
            effort("high"),
            effort("high"),
            NOTHING,
            effort("high"),
            enabled(3600, "high"),
            adaptive("high"),
            adaptive("xhigh"),
        ),
    ),
    (
        "responses high",
        "openai_responses",
        responses("high"),
        (
            effort("high"),
            effort("high"),
            effort("high"),
            NOTHING,
            effort("high"),
            enabled(3200, "high"),
            adaptive("high"),
            adaptive("high"),
        ),
    ),
    (
        "responses none",
        "openai_responses",
        responses("none"),
        (effort("minimal"), effort("none"), effort("low"), NOTHING, effort("low"), OFF, OFF, OFF),
    ),
    (
        "Claude Code: enabled 31999 of 32000",
        "anthropic",
        anthropic(32000, thinking={"type": "enabled", "budget_tokens": 31999}),
        (
            effort("high"),
            effort("high"),
            effort("high"),
            NOTHING,
            effort("high"),
            {"thinking": {"type": "enabled", "budget_tokens": 31999}},
            {"thinking": {"type": "enabled", "budget_tokens": 31999}},
            adaptive("high"),
        ),
    ),
    (
        "anthropic enabled 2000",
        "anthropic",
        anthropic(thinking={"type": "enabled", "budget_tokens": 2000}),
        (
            effort("low"),
            effort("low"),
            effort("low"),
            NOTHING,
            effort("low"),
            enabled(2000),
            enabled(2000),
            adaptive("low"),
        ),
    ),
    (
        "anthropic adaptive",
        "anthropic",
        anthropic(thinking={"type": "adaptive"}),
        (NOTHING, NOTHING, NOTHING, NOTHING, NOTHING, enabled(3200), adaptive(), adaptive()),
    ),
    (
        "anthropic adaptive, effort max",
        "anthropic",
        anthropic(thinking={"type": "adaptive"}, output_config={"effort": "max"}),
        (
            effort("high"),
            effort("high"),
            effort("high"),
            NOTHING,
            effort("high"),
            enabled(3800, "high"),
            adaptive("high"),
            adaptive("max"),
        ),
    ),
    (
        "anthropic disabled",
        "anthropic",
        anthropic(thinking={"type": "disabled"}),
        (effort("minimal"), effort("none"), effort("low"), NOTHING, effort("low"), OFF, OFF, OFF),
    ),
    (
        "anthropic effort without thinking",
        "anthropic",
        anthropic(output_config={"effort": "low"}),
        (
            effort("low"),
            effort("low"),
            effort("low"),
            NOTHING,
            effort("low"),
            {"output_config": {"effort": "low"}},
            {"output_config": {"effort": "low"}},
            {"output_config": {"effort": "low"}},
        ),
    ),
    (
        "google dynamic (-1)",
        "google",
        google(thinkingBudget=-1),
        (NOTHING, NOTHING, NOTHING, NOTHING, NOTHING, enabled(3200), adaptive(), adaptive()),
    ),
    (
        "google off (0)",
        "google",
        google(thinkingBudget=0),
        (effort("minimal"), effort("none"), effort("low"), NOTHING, effort("low"), OFF, OFF, OFF),
    ),
    (
        "google budget 5000",
        "google",
        google(thinkingBudget=5000),
        (
            effort("medium"),
            effort("medium"),
            effort("medium"),
            NOTHING,
            effort("medium"),
            enabled(3999),
            enabled(3999),
            adaptive("medium"),
        ),
    ),
    (
        "google level high, thoughts shown",
        "google",
        google(thinkingLevel="HIGH", includeThoughts=True),
        (
            effort("high"),
            effort("high"),
            effort("high"),
            NOTHING,
            effort("high"),
            enabled(3200, "high"),
            adaptive("high"),
            adaptive("high"),
        ),
    ),
]


def _cases() -> Iterator[Any]:
    for name, source, body, wanted in TABLE:
        assert len(wanted) == len(MODELS), name
        for model, want in zip(MODELS, wanted, strict=True):
            yield pytest.param(source, body, model, want, id=f"{name} → {model}")


@pytest.mark.parametrize(("source", "body", "model", "want"), list(_cases()))
def test_every_clients_ask_reaches_every_family_as_it_takes_it(
    source: ClientFormat, body: dict[str, Any], model: str, want: dict[str, Any]
) -> None:
    got = sent(source, body, model)
    # Google's includeThoughts and Responses' summary become Claude's `display`, kept.
    if isinstance(got.get("thinking"), dict):
        got["thinking"] = {k: v for k, v in got["thinking"].items() if k != "display"}
    assert got == want


def test_a_chat_client_on_gpt5_passthrough_gets_a_value_gpt5_takes() -> None:
    """Same format: the body is ARGO's format already, and still written by the table."""
    assert sent("openai_chat", chat("xhigh"), "gpt5") == effort("high")
    assert sent("openai_chat", chat("none"), "gpto3") == effort("low")
    assert sent("openai_chat", chat("high"), "gpt4o") == NOTHING
    other = {"messages": USER, "reasoning": {"effort": "low"}}  # OpenAI-compatible clients
    assert sent("openai_chat", other, "gpt5") == effort("low")


def test_responses_summary_is_no_chat_field_but_becomes_claudes_display() -> None:
    body = {"input": "hi", "reasoning": {"effort": "low", "summary": "auto"}}
    assert sent("openai_responses", body, "gpt5") == effort("low")
    assert sent("openai_responses", body, "claudeopus46")["thinking"] == {
        "type": "adaptive",
        "display": "summarized",
    }


def test_budgets_are_fitted_between_1024_and_max_tokens() -> None:
    small = anthropic(thinking={"type": "enabled", "budget_tokens": 500})
    assert sent("anthropic", small, "claudesonnet45") == enabled(1024)
    big = anthropic(2000, thinking={"type": "enabled", "budget_tokens": 5000})
    assert sent("anthropic", big, "claudeopus46") == enabled(1999)


def test_too_few_max_tokens_for_a_budget_turn_thinking_off_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "argo_proxy.daemon.reasoning")
    assert sent("openai_chat", chat("high", 1000), "claudesonnet45") == {
        **OFF,
        "output_config": {"effort": "high"},
    }
    assert "max_tokens 1000 leaves no room for a budget of 1024" in caplog.text
    tiny = google(800, thinkingBudget=2000)
    assert sent("google", tiny, "claudeopus46") == OFF
    # adaptive needs no budget: Opus 4.7 thinks within any max_tokens
    assert sent("openai_chat", chat("high", 1000), "claudeopus47") == adaptive("high")


def test_disabled_is_sent_to_every_claude() -> None:
    for model in ("claudeopus41", "claudehaiku45", "claudesonnet46", "claudeopus47"):
        assert sent("anthropic", anthropic(thinking={"type": "disabled"}), model) == OFF


def test_efforts_a_model_lacks_become_its_nearest() -> None:
    body = anthropic(thinking={"type": "adaptive"}, output_config={"effort": "xhigh"})
    assert sent("anthropic", body, "claudesonnet46") == adaptive("high")
    assert sent("anthropic", body, "claudeopus47") == adaptive("xhigh")
    # Opus 4.1 takes no effort at all (docs/argo.md#claude): left out, its budget kept
    budget = anthropic(thinking={"type": "enabled", "budget_tokens": 2000})
    budget["output_config"] = {"effort": "high", "format": {"type": "json_schema"}}
    assert sent("anthropic", budget, "claudeopus41") == {
        **enabled(2000),
        "output_config": {"format": {"type": "json_schema"}},
    }
    assert sent("openai_chat", chat("minimal"), "gpto3") == effort("low")


def test_models_the_table_does_not_know_are_left_as_asked() -> None:
    assert sent("openai_chat", chat("xhigh"), "mistral7b") == effort("xhigh")
    body = anthropic(thinking={"type": "enabled", "budget_tokens": 2000})
    assert sent("anthropic", body, "claudeopus5") == enabled(2000)


def test_no_ask_changes_nothing() -> None:
    assert read_reasoning("openai_chat", {"messages": USER}) is None
    assert read_reasoning("openai_chat", chat("banana")) is None  # ARGO answers that one
    assert sent("anthropic", anthropic(), "claudeopus47") == NOTHING
    odd = anthropic(thinking={"type": "adaptive"}, output_config={"effort": "banana"})
    assert sent("anthropic", odd, "claudeopus46") == {
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "banana"},
    }
    assert sent("google", google(includeThoughts=True), "gpt5") == NOTHING


@pytest.mark.parametrize(
    ("source", "body", "ask"),
    [
        ("openai_chat", chat("NONE"), Ask("off")),
        ("openai_responses", responses("xhigh"), Ask("effort", "xhigh")),
        ("anthropic", anthropic(**enabled(3000, "low")), Ask("budget", "low", 3000)),
        ("anthropic", anthropic(thinking={"type": "enabled"}), Ask("adaptive")),
        (
            "anthropic",
            anthropic(output_config={"effort": "max"}),
            Ask("effort", "max", thinking=False),
        ),
        ("google", google(thinkingBudget=-1, thinkingLevel="low"), Ask("adaptive", "low")),
        (
            "google",
            {"contents": [], "generation_config": {"thinking_config": {"thinking_budget": 0}}},
            Ask("off"),
        ),
    ],
)
def test_each_format_is_read_into_one_ask(
    source: ClientFormat, body: dict[str, Any], ask: Ask
) -> None:
    assert read_reasoning(source, body) == ask


def test_one_rule_turns_budgets_into_efforts_and_back() -> None:
    assert [level_for_budget(b) for b in (1024, 2048, 2049, 8192, 8193, 31999)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]
    assert budget_for_level("high", 10000) == 8000
    assert budget_for_level("medium", 10000) == 5000
    assert budget_for_level("low", 2000) == 1024  # at least 1024
    assert budget_for_level("max", 1025) == 1024  # and less than max_tokens
    assert budget_for_level("high", 1024) is None  # no room
    assert budget_for_level("low", None) == 1024


@pytest.mark.parametrize(
    ("source", "body"),
    [
        ("openai_chat", chat("high")),
        ("openai_chat", chat("low")),
        ("openai_responses", responses("medium")),
        ("google", google(thinkingLevel="high")),
    ],
)
@pytest.mark.parametrize("model", ["claudeopus46", "claudesonnet46", "claudeopus47"])
def test_where_the_library_maps_right_the_table_agrees(
    source: ClientFormat, body: dict[str, Any], model: str
) -> None:
    """llm-rosetta's own mapping for adaptive Claude models is kept as it is."""
    library = Conversion(source, "anthropic", model, "anthropic").request(copy.deepcopy(body))
    assert sent(source, body, model) == {k: library[k] for k in REASONING_KEYS if k in library}
