"""Routes, fallbacks and breakers, one module at a time: rule matching (routes.py), the
config's reading of `routes` and `fallbacks` and its errors (keys.py), the breaker with
a clock the test moves (breakers.py), and the fallback loop with scripted attempts
(failover.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from argo_proxy.daemon.breakers import Breakers
from argo_proxy.daemon.config import Config, load_config
from argo_proxy.daemon.errors import (
    ArgoProxyError,
    ClientRequestError,
    ConfigError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from argo_proxy.daemon.exchange import JSONResult, Result
from argo_proxy.daemon.failover import failover, falls_back
from argo_proxy.daemon.formats import FORMATS
from argo_proxy.daemon.records import RequestRecord
from argo_proxy.daemon.routes import RequestFacts, RouteRule, choose

ANTHROPIC = FORMATS["anthropic"]
CHAT = FORMATS["openai_chat"]


def rules(*items: dict[str, Any]) -> tuple[RouteRule, ...]:
    return tuple(RouteRule.from_config(item, n) for n, item in enumerate(items, 1))


def facts(body: dict[str, Any], client: str = "anthropic-python", spec: Any = ANTHROPIC) -> Any:
    raw = len(str(body))
    return RequestFacts(spec, body, body["model"], client, raw)


def chosen(routes: tuple[RouteRule, ...], f: RequestFacts) -> tuple[str, str | None]:
    choice = choose(routes, f, lambda name: f"argo:{name}")
    return choice.model, choice.label


TEXT = [{"role": "user", "content": "hi"}]


# ----------------------------------------------------------------------- matching


def test_the_first_matching_rule_wins_and_no_match_keeps_the_model() -> None:
    table = rules(
        {"name": "haiku", "model": "claude-*haiku*", "to": "gpt5mini"},
        {"model": "claude-*", "to": "claudesonnet46"},
    )
    haiku = facts({"model": "Claude-Haiku-4-5", "messages": TEXT})
    assert chosen(table, haiku) == ("argo:gpt5mini", "haiku")
    opus = facts({"model": "claude-opus-4-6", "messages": TEXT})
    assert chosen(table, opus) == ("argo:claudesonnet46", "rule 2")
    gpt = facts({"model": "gpt-4o", "messages": TEXT})
    assert chosen(table, gpt) == ("argo:gpt-4o", None)


def test_client_thinking_images_and_background_each_decide() -> None:
    table = rules(
        {"name": "bg", "background": True, "to": "gpt5nano"},
        {"name": "codex", "client": "codex", "to": "gpt5"},
        {"name": "think", "thinking": True, "to": "claudeopus46"},
        {"name": "eyes", "images": True, "to": "gemini25pro"},
    )
    haiku = {"model": "claude-haiku-4-5", "messages": TEXT}
    assert chosen(table, facts(haiku, "claude-code"))[1] == "bg"
    assert chosen(table, facts(haiku, "anthropic-python"))[1] is None  # not Claude Code's
    assert chosen(table, facts({"model": "x", "messages": TEXT}, "codex"))[1] == "codex"
    thinking = {"model": "x", "messages": TEXT, "thinking": {"type": "adaptive"}}
    assert chosen(table, facts(thinking))[1] == "think"
    off = {"model": "x", "messages": TEXT, "thinking": {"type": "disabled"}}
    assert chosen(table, facts(off))[1] is None
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "A"}}
    pictured = {"model": "x", "messages": [{"role": "user", "content": [image]}]}
    assert chosen(table, facts(pictured))[1] == "eyes"
    url = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}
    chat = {"model": "x", "messages": [{"role": "user", "content": [url]}]}
    assert chosen(table, facts(chat, spec=CHAT))[1] == "eyes"
    effort = {"model": "x", "messages": TEXT, "reasoning_effort": "high"}
    assert chosen(table, facts(effort, spec=CHAT))[1] == "think"


def test_tokens_over_counts_only_when_a_rule_asks() -> None:
    table = rules({"name": "long", "tokens_over": 1000, "to": "claudesonnet46"})
    short = facts({"model": "x", "messages": TEXT})
    assert chosen(table, short)[1] is None
    assert "tokens" not in vars(short)  # a small body is not counted at all
    long = facts({"model": "x", "messages": [{"role": "user", "content": "word " * 3000}]})
    assert chosen(table, long)[1] == "long"
    assert long.tokens > 1000
    plain = facts({"model": "x", "messages": [{"role": "user", "content": "word " * 3000}]})
    chosen(rules({"model": "y*", "tokens_over": 10, "to": "z"}), plain)
    assert "tokens" not in vars(plain)  # the model did not match: no count


# ------------------------------------------------------------------------- config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_routes_and_fallbacks_load_from_yaml(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "routes:\n"
            "  - {name: background, background: true, to: gpt5mini}\n"
            "  - {model: 'claude-*', tokens_over: 150000, to: claudesonnet46}\n"
            "fallbacks:\n  claudeopus46: [claudesonnet46, gpt5]\n"
            "breaker_failures: 5\nbreaker_cooldown: 30\n",
        ),
        environ={},
    )
    assert [rule.label for rule in config.routes] == ["background", "rule 2"]
    assert config.routes[1].tokens_over == 150000
    assert config.fallbacks == {"claudeopus46": ("claudesonnet46", "gpt5")}
    assert (config.breaker_failures, config.breaker_cooldown) == (5, 30.0)
    shown = config.public_dict()
    assert shown["routes"][0] == {"name": "background", "background": True, "to": "gpt5mini"}
    assert shown["fallbacks"] == {"claudeopus46": ["claudesonnet46", "gpt5"]}


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("routes:\n  - {model: x}\n", ["rule 1", "`to`"]),
        (
            "routes:\n  - {to: a}\n  - {name: slow, tokens_over: lots, to: b}\n",
            ["rule 2", "'slow'", "`tokens_over`"],
        ),
        ("routes:\n  - {modle: x, to: y}\n", ["rule 1", "unknown field `modle`"]),
        ("routes:\n  - {thinking: maybe, to: y}\n", ["rule 1", "`thinking`", "true or false"]),
        ("routes:\n  - {to: ''}\n", ["rule 1", "`to`"]),
        ("routes:\n  - gpt5\n", ["rule 1", "mapping"]),
        ("routes: {to: gpt5}\n", ["`routes`", "a list"]),
        ("fallbacks:\n  claudeopus46: gpt5\n", ["`fallbacks`", "claudeopus46"]),
        ("fallbacks:\n  claudeopus46: []\n", ["`fallbacks`", "empty"]),
        ("fallbacks:\n  claudeopus46: [{a: 1}]\n", ["`fallbacks`", "claudeopus46"]),
        ("breaker_failures: -1\n", ["`breaker_failures`"]),
    ],
)
def test_a_bad_rule_is_a_config_error_naming_it(
    tmp_path: Path, text: str, names: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), environ={})
    message = caught.value.message
    assert "config.yaml:1" in message
    for name in names:
        assert name in message, message


# ------------------------------------------------------------------------ breaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_skips_lets_one_trial_through_and_closes() -> None:
    clock = Clock()
    breakers = Breakers(clock, wall=lambda: 1_700_000_000.0)
    for _ in range(2):
        breakers.failed("opus", threshold=3, cooldown=60)
        assert breakers.state("opus") == "closed" and breakers.admit("opus")
    breakers.failed("opus", threshold=3, cooldown=60)
    assert breakers.state("opus") == "open" and not breakers.admit("opus")
    assert breakers.snapshot() == [
        {"model": "opus", "state": "open", "failures": 3, "retry_at": "2023-11-14T22:14:20+00:00"}
    ]
    clock.now += 59.9
    assert not breakers.admit("opus")
    clock.now += 0.2
    assert breakers.state("opus") == "half_open"
    assert breakers.admit("opus")  # the one trial
    assert not breakers.admit("opus")  # ... and no second while it runs
    breakers.failed("opus", threshold=3, cooldown=60)  # the trial failed: open again
    assert breakers.state("opus") == "open"
    clock.now += 60
    assert breakers.admit("opus")
    breakers.succeeded("opus")
    assert breakers.state("opus") == "closed" and breakers.admit("opus")
    assert breakers.snapshot()[0]["state"] == "closed"  # failed lately: still shown
    clock.now += 601
    assert breakers.snapshot() == []


def test_a_released_trial_lets_the_next_request_try_and_zero_disables() -> None:
    clock = Clock()
    breakers = Breakers(clock)
    breakers.failed("gpt5", threshold=1, cooldown=10)
    clock.now += 10
    assert breakers.admit("gpt5")
    breakers.release("gpt5")  # the client hung up during the trial
    assert breakers.admit("gpt5")
    for _ in range(5):
        breakers.failed("sonnet", threshold=0, cooldown=10)
    assert breakers.state("sonnet") == "closed"
    breakers.failed("haiku", threshold=2, cooldown=0)
    breakers.failed("haiku", threshold=2, cooldown=0)
    assert breakers.state("haiku") == "closed"


# ------------------------------------------------------------------------ failover


def test_which_failures_fall_back() -> None:
    assert falls_back(UpstreamStatusError("busy", 429))
    assert falls_back(UpstreamStatusError("down", 503))
    assert falls_back(UpstreamStatusError("bug", 500))
    assert falls_back(UpstreamTimeoutError("slow"))
    assert falls_back(UpstreamError("Cannot reach ARGO"))
    assert not falls_back(UpstreamStatusError("bad", 400))
    assert not falls_back(UpstreamStatusError("too big", 413))
    assert not falls_back(ClientRequestError("bad"))


class Script:
    """Attempts that fail or answer as a test says, remembering the models tried."""

    def __init__(self, **outcomes: ArgoProxyError | None) -> None:
        self.outcomes = outcomes
        self.tried: list[tuple[str, bool]] = []

    async def __call__(self, model: str, timeout: float | None, last: bool) -> Result:
        self.tried.append((model, last))
        failure = self.outcomes.get(model)
        if failure is not None:
            raise failure
        return JSONResult(200, {"model": model})


def run(chain: list[str], script: Script, breakers: Breakers, **config: Any) -> Any:
    record = RequestRecord.open("/v1/messages", "anthropic", None)
    settings = Config(**{"breaker_failures": 2, "breaker_cooldown": 60.0, **config})
    try:
        result = asyncio.run(failover(chain, script, breakers, settings, record, None))
    except ArgoProxyError as exc:
        return exc, record
    return result, record


def test_a_failure_falls_back_and_the_record_lists_each_model() -> None:
    script = Script(opus=UpstreamStatusError("rate limited", 429))
    result, record = run(["opus", "sonnet", "gpt5"], script, Breakers())
    assert result.body == {"model": "sonnet"}
    assert script.tried == [("opus", False), ("sonnet", False)]
    assert record.attempts == [
        {"model": "opus", "outcome": "HTTP 429"},
        {"model": "sonnet", "outcome": "ok"},
    ]


def test_a_whole_chain_failing_gives_the_first_error_naming_each_model() -> None:
    first = UpstreamStatusError("ARGO says: rate limited", 429)
    script = Script(
        opus=first, sonnet=UpstreamStatusError("down", 503), gpt5=UpstreamTimeoutError("slow")
    )
    error, record = run(["opus", "sonnet", "gpt5"], script, Breakers())
    assert error is first and error.status == 429
    assert error.message == (
        "ARGO says: rate limited (models tried: opus: HTTP 429; sonnet: HTTP 503; gpt5: timed out)"
    )
    assert [m for m, _ in script.tried] == ["opus", "sonnet", "gpt5"]
    assert script.tried[-1] == ("gpt5", True)  # only the last try may use up the body
    assert len(record.attempts) == 3


def test_a_client_error_never_falls_back() -> None:
    script = Script(opus=UpstreamStatusError("bad request", 400))
    error, record = run(["opus", "sonnet"], script, Breakers())
    assert error.status == 400 and error.message == "bad request"
    assert [m for m, _ in script.tried] == ["opus"]


def test_an_open_breaker_skips_its_model_and_without_another_it_is_tried_anyway() -> None:
    clock = Clock()
    breakers = Breakers(clock)
    script = Script(opus=UpstreamStatusError("down", 503))
    for _ in range(2):
        run(["opus", "sonnet"], script, breakers)
    assert breakers.state("opus") == "open"
    script.tried.clear()
    result, record = run(["opus", "sonnet"], script, breakers)
    assert script.tried == [("sonnet", True)]  # straight to the fallback
    assert record.attempts[0] == {"model": "opus", "outcome": "skipped: breaker open"}
    # alone, or with every fallback open too, the model is tried all the same
    script.tried.clear()
    error, _ = run(["opus"], script, breakers)
    assert script.tried == [("opus", True)] and error.status == 503
    script.outcomes["sonnet"] = UpstreamStatusError("down", 503)
    for _ in range(2):
        run(["sonnet", "gpt5"], Script(sonnet=UpstreamStatusError("down", 503)), breakers)
    assert breakers.state("sonnet") == "open"
    script.tried.clear()
    error, record = run(["opus", "sonnet"], script, breakers)
    assert [m for m, _ in script.tried] == ["opus"] and error.status == 503
    # the cool-down over, a trial that succeeds closes the breaker
    clock.now += 61
    script.outcomes.pop("opus")
    result, record = run(["opus", "sonnet"], script, breakers)
    assert result.body == {"model": "opus"} and breakers.state("opus") == "closed"


def test_a_fallback_needs_time_left_in_the_requests_deadline() -> None:
    script = Script(opus=UpstreamTimeoutError("slow"))  # in a request of half a second
    record = RequestRecord.open("/v1/messages", "anthropic", None)
    with pytest.raises(UpstreamTimeoutError) as caught:
        asyncio.run(failover(["opus", "sonnet"], script, Breakers(), Config(), record, 0.5))
    assert [m for m, _ in script.tried] == ["opus"]
    assert record.attempts == [
        {"model": "opus", "outcome": "timed out"},
        {"model": "sonnet", "outcome": "skipped: no time left"},
    ]
    assert "sonnet: skipped: no time left" in caught.value.message


def test_a_fallback_gets_what_is_left_of_the_requests_time() -> None:
    timeouts: list[float | None] = []

    class Timed(Script):
        async def __call__(self, model: str, timeout: float | None, last: bool) -> Result:
            timeouts.append(timeout)
            return await super().__call__(model, timeout, last)

    script = Timed(opus=UpstreamStatusError("busy", 429))
    record = RequestRecord.open("/v1/messages", "anthropic", None)
    asyncio.run(failover(["opus", "sonnet"], script, Breakers(), Config(), record, 30.0))
    first, second = timeouts
    assert first == 30.0 and second is not None and 25.0 < second <= 30.0
