"""Routes, fallbacks and breakers (docs/configuration.md#routes), end to end: the
official SDKs against a daemon in front of the simulated ARGO, whose fault markers
with `model=` fail one model and not another; what ARGO was sent is read from the
simulator's log, what the daemon recorded from its control socket."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from argo_proxy.control.client import call_daemon

from . import api
from .clients import PNG_B64
from .conftest import _EXE, Process, StartDaemon, clean_env
from .helpers import WEATHER_TOOL_ANTHROPIC, inject, sent
from .test_control_reload import rewrite
from .test_metrics import labels, scrape

ROUTES = """\
retries: 1
breaker_failures: 0
routes:
  - {name: background, background: true, to: gpt41nano}
  - {name: team, model: "team-*", to: claudesonnet46}
  - {name: codex, client: codex, to: gpt41}
  - {name: thinking, thinking: true, to: claudeopus45}
  - {name: pictures, images: true, model: "gpt-*", to: gemini25flash}
  - {name: long, tokens_over: 3000, to: gpt5mini}
fallbacks:
  claude-opus-4-6: [claudesonnet46, gpt5]
  gpt41mini: [claudehaiku45]
"""
CLAUDE_CODE = "claude-cli/2.1.197 (external, cli)"
CODEX = "codex_cli_rs/0.50.0 (Linux 6.8; x86_64) xterm"


def rpc(daemon: Process, method: str, params: Any = None) -> Any:
    assert daemon.control_socket is not None
    return asyncio.run(call_daemon(daemon.control_socket, method, params))


def record_of(daemon: Process, model: str) -> dict[str, Any]:
    """The record of the newest request for `model` (as asked for): the one a test has
    just made, its JSON answer being sent after its record was kept."""
    records = rpc(daemon, "requests.list", {"model": model, "limit": 1})["requests"]
    assert records, f"no record of {model}"
    return records[0]


def models_sent(sim: httpx.Client, marker: str) -> list[str]:
    """The model of each call to ARGO whose body carries `marker`, in order."""
    return [
        entry["body"]["model"]
        for entry in sim.get("/__sim/log").json()["requests"]
        if marker in json.dumps(entry["body"])
    ]


def sdk_anthropic(url: str, user_agent: str | None = None) -> anthropic.Anthropic:
    headers = {"user-agent": user_agent} if user_agent else None
    return anthropic.Anthropic(
        base_url=url, api_key=api.TOKEN, max_retries=0, default_headers=headers
    )


def sdk_openai(url: str, user_agent: str | None = None) -> openai.OpenAI:
    headers = {"user-agent": user_agent} if user_agent else None
    return openai.OpenAI(
        base_url=f"{url}/v1", api_key=api.TOKEN, max_retries=0, default_headers=headers
    )


@pytest.fixture(scope="module")
def routed(start_daemon: StartDaemon) -> Process:
    return start_daemon(ROUTES)


# ------------------------------------------------------------------------- routes


def test_claude_codes_background_requests_go_to_the_small_model(
    routed: Process, sim: httpx.Client
) -> None:
    with sdk_anthropic(routed.url, CLAUDE_CODE) as client:
        answer = client.messages.create(
            model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "bg1"}]
        )
    assert answer.type == "message" and answer.content[0].type == "text"
    assert answer.content[0].text.startswith("Echo: bg1")
    assert answer.model == "claude-haiku-4-5"  # the client's name for it, as ever
    assert models_sent(sim, "bg1") == ["gpt41nano"]
    record = record_of(routed, "claude-haiku-4-5")
    assert (record["route"], record["argo_model"], record["converted"]) == (
        "background",
        "gpt41nano",
        True,
    )
    # the same model from another client is not a background request
    with sdk_anthropic(routed.url) as client:
        client.messages.create(
            model="claude-haiku-4.5", max_tokens=50, messages=[{"role": "user", "content": "bg2"}]
        )
    assert models_sent(sim, "bg2") == ["claudehaiku45"]
    assert record_of(routed, "claude-haiku-4.5")["route"] is None


def test_a_model_glob_a_client_and_thinking_each_choose_a_route(
    routed: Process, sim: httpx.Client
) -> None:
    with sdk_openai(routed.url) as client:
        answer = client.chat.completions.create(
            model="team-fast", messages=[{"role": "user", "content": "glob1"}]
        )
    assert answer.choices[0].message.content.startswith("Echo: glob1")  # type: ignore[union-attr]
    assert models_sent(sim, "glob1") == ["claudesonnet46"]
    assert record_of(routed, "team-fast")["route"] == "team"
    with sdk_openai(routed.url, CODEX) as client:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "client1"}]
        )
    assert models_sent(sim, "client1") == ["gpt41"]
    assert record_of(routed, "gpt-4o-mini")["route"] == "codex"
    with sdk_anthropic(routed.url) as client:
        thought = client.messages.create(
            model="claude-sonnet-4.5",
            max_tokens=4000,
            thinking={"type": "enabled", "budget_tokens": 2000},
            messages=[{"role": "user", "content": "think1"}],
        )
    assert [block.type for block in thought.content] == ["thinking", "text"]
    assert models_sent(sim, "think1") == ["claudeopus45"]
    assert record_of(routed, "claude-sonnet-4.5")["route"] == "thinking"


def test_images_and_size_each_choose_a_route(routed: Process, sim: httpx.Client) -> None:
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}}
    with sdk_openai(routed.url) as client:
        client.chat.completions.create(
            model="gpt-4.1",
            messages=[{"role": "user", "content": [{"type": "text", "text": "eyes1"}, image]}],
        )
        client.chat.completions.create(
            model="gpt-4.1-nano", messages=[{"role": "user", "content": "long1 " + "word " * 4000}]
        )
        client.chat.completions.create(
            model="o3", messages=[{"role": "user", "content": "short1 " + "word " * 100}]
        )
    assert models_sent(sim, "eyes1") == ["gemini25flash"]
    assert record_of(routed, "gpt-4.1")["route"] == "pictures"
    assert models_sent(sim, "long1") == ["gpt5mini"]
    assert record_of(routed, "gpt-4.1-nano")["route"] == "long"
    assert models_sent(sim, "short1") == ["gpto3"]
    assert record_of(routed, "o3")["route"] is None


# ---------------------------------------------------------------------- fallbacks


@pytest.mark.parametrize("code", [429, 503])
def test_after_its_retries_a_claude_request_falls_back_within_the_family(
    routed: Process, sim: httpx.Client, code: int
) -> None:
    marker = f"same{code} [[sim:fault=status,code={code},model=claudeopus46]]"
    with sdk_anthropic(routed.url) as client:
        answer = client.messages.create(
            model="claude-opus-4-6", max_tokens=50, messages=[{"role": "user", "content": marker}]
        )
    assert answer.content[0].text.startswith(f"Echo: same{code}")  # type: ignore[union-attr]
    # the call and its one retry (`retries: 1`), then the next model
    assert models_sent(sim, f"same{code}") == ["claudeopus46", "claudeopus46", "claudesonnet46"]


CHAIN_DOWN = (
    "[[sim:fault=status,code=503,model=claudeopus46]] "
    "[[sim:fault=status,code=429,model=claudesonnet46]]"
)


def test_an_anthropic_client_falling_back_from_claude_to_gpt_gets_a_proper_answer(
    routed: Process, sim: httpx.Client
) -> None:
    history: list[Any] = [
        {"role": "user", "content": "earlier"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Claude's own thought", "signature": "c2ln"},
                {"type": "text", "text": "before"},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
                },
                {"type": "text", "text": f"cross1 {CHAIN_DOWN}"},
            ],
        },
    ]
    with sdk_anthropic(routed.url) as client:
        answer = client.messages.create(
            model="claude-opus-4-6",
            max_tokens=200,
            tools=[WEATHER_TOOL_ANTHROPIC],  # type: ignore[list-item]
            messages=history,
        )
    assert answer.type == "message" and answer.role == "assistant"
    assert answer.model == "claude-opus-4-6"
    assert answer.stop_reason == "end_turn"
    assert answer.content[0].text.startswith("Echo: cross1")  # type: ignore[union-attr]
    assert models_sent(sim, "cross1") == ["claudeopus46"] * 2 + ["claudesonnet46"] * 2 + ["gpt5"]
    (to_gpt,) = [
        e["body"]
        for e in sim.get("/__sim/log").json()["requests"]
        if "cross1" in json.dumps(e["body"]) and e["body"]["model"] == "gpt5"
    ]
    assert to_gpt["tools"][0]["function"]["name"] == "get_weather"  # tools kept
    parts = to_gpt["messages"][-1]["content"]
    assert any(part.get("type") == "image_url" for part in parts)  # the image kept
    assert "Claude's own thought" not in json.dumps(to_gpt)  # Claude's thinking left out
    record = record_of(routed, "claude-opus-4-6")
    assert record["argo_model"] == "gpt5" and record["upstream"] == "openai_chat"
    assert record["attempts"] == [
        {"model": "claudeopus46", "outcome": "HTTP 503"},
        {"model": "claudesonnet46", "outcome": "HTTP 429"},
        {"model": "gpt5", "outcome": "ok"},
    ]


def test_a_stream_falls_back_from_claude_to_gpt_as_an_anthropic_stream(
    routed: Process, sim: httpx.Client
) -> None:
    with sdk_anthropic(routed.url) as client:
        with client.messages.stream(
            model="claude-opus-4-6",
            max_tokens=200,
            messages=[{"role": "user", "content": f"crossstream {CHAIN_DOWN} [[sim:deltas=5]]"}],
        ) as stream:
            events = [event.type for event in stream]
            final = stream.get_final_message()
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert events.count("content_block_delta") >= 5
    assert final.content[0].text.startswith("Echo: crossstream")  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0
    assert models_sent(sim, "crossstream")[-1] == "gpt5"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_an_openai_client_falls_back_from_gpt_to_claude(
    routed: Process, sim: httpx.Client, stream: bool
) -> None:
    marker = f"gptdown{stream} [[sim:fault=status,code=503,model=gpt41mini]]"
    messages: list[Any] = [
        {"role": "user", "content": "before"},
        {"role": "assistant", "content": "ok", "reasoning_content": "GPT's own reasoning"},
        {"role": "user", "content": marker},
    ]
    with sdk_openai(routed.url) as client:
        if stream:
            chunks = list(
                client.chat.completions.create(model="gpt41mini", messages=messages, stream=True)
            )
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            assert chunks[-1].choices[0].finish_reason == "stop"
        else:
            reply = client.chat.completions.create(model="gpt41mini", messages=messages)
            text = reply.choices[0].message.content or ""
            assert reply.model == "gpt41mini"
    assert text.startswith(f"Echo: gptdown{stream}")
    assert models_sent(sim, f"gptdown{stream}") == ["gpt41mini", "gpt41mini", "claudehaiku45"]
    to_claude = sent(sim, "/v1/messages")[-1]["body"]
    assert "GPT's own reasoning" not in json.dumps(to_claude)  # not a Claude thinking block


def test_a_whole_chain_failing_gives_the_first_models_error_naming_each(
    routed: Process, sim: httpx.Client
) -> None:
    marker = f"alldown {CHAIN_DOWN} [[sim:fault=status,code=503,model=gpt5]]"
    with sdk_anthropic(routed.url) as client:
        with pytest.raises(anthropic.APIStatusError) as caught:
            client.messages.create(
                model="claude-opus-4-6",
                max_tokens=50,
                messages=[{"role": "user", "content": marker}],
            )
    error = caught.value
    assert error.status_code == 503  # the first model's
    assert error.body["type"] == "error"  # type: ignore[index]
    message = error.body["error"]["message"]  # type: ignore[index]
    assert (
        "models tried: claudeopus46: HTTP 503; claudesonnet46: HTTP 429; gpt5: HTTP 503" in message
    )
    assert models_sent(sim, "alldown") == [
        "claudeopus46",
        "claudeopus46",
        "claudesonnet46",
        "claudesonnet46",
        "gpt5",
        "gpt5",
    ]


def test_a_client_error_never_falls_back(routed: Process, sim: httpx.Client) -> None:
    marker = "bad400 [[sim:fault=status,code=400,model=claudeopus46]]"
    with sdk_anthropic(routed.url) as client:
        with pytest.raises(anthropic.BadRequestError):
            client.messages.create(
                model="claude-opus-4-6",
                max_tokens=50,
                messages=[{"role": "user", "content": marker}],
            )
    assert models_sent(sim, "bad400") == ["claudeopus46"]


def test_no_fallback_once_the_stream_has_started(routed: Process, sim: httpx.Client) -> None:
    marker = "midway [[sim:fault=stream_error,after=3,model=claudeopus46]] [[sim:deltas=10]]"
    seen: list[str] = []
    with sdk_anthropic(routed.url) as client:
        with pytest.raises(anthropic.APIStatusError) as caught:
            with client.messages.stream(
                model="claude-opus-4-6",
                max_tokens=200,
                messages=[{"role": "user", "content": marker}],
            ) as stream:
                for event in stream:
                    seen.append(event.type)
    assert seen and seen[0] == "message_start"  # the client had bytes: no second model
    assert "overloaded" in str(caught.value.body)
    assert models_sent(sim, "midway") == ["claudeopus46"]


# ------------------------------------------------------------------------ breaker


BREAKER = """\
retries: 0
breaker_failures: 2
breaker_cooldown: 6
fallbacks:
  claudeopus46: [claudesonnet46]
"""


def ask_opus(url: str, text: str) -> str:
    with sdk_anthropic(url) as client:
        answer = client.messages.create(
            model="claude-opus-4-6", max_tokens=50, messages=[{"role": "user", "content": text}]
        )
    return answer.content[0].text  # type: ignore[union-attr]


def breaker_of(daemon: Process, model: str) -> dict[str, Any] | None:
    breakers = rpc(daemon, "status")["breakers"]
    return next((b for b in breakers if b["model"] == model), None)


def test_the_breaker_opens_skips_the_model_and_closes_after_a_good_trial(
    start_daemon: StartDaemon, sim: httpx.Client
) -> None:
    daemon = start_daemon(BREAKER)
    inject(sim, fault="status", code=503, times=2, model="claudeopus46")  # then it recovers
    for n in (1, 2):
        assert ask_opus(daemon.url, f"breaker{n}").startswith(f"Echo: breaker{n}")
        assert models_sent(sim, f"breaker{n}") == ["claudeopus46", "claudesonnet46"]
    opened = breaker_of(daemon, "claudeopus46")
    assert opened is not None and opened["state"] == "open" and opened["failures"] == 2
    assert opened["retry_at"].endswith("+00:00")
    status = ctl(daemon, "status").stdout
    assert "fallbacks       claudeopus46 → claudesonnet46" in status
    assert "breaker         claudeopus46 open, 2 failures, retry at " in status
    # while open, Opus is not asked at all, though it would answer now
    assert ask_opus(daemon.url, "breaker3").startswith("Echo: breaker3")
    assert models_sent(sim, "breaker3") == ["claudesonnet46"]
    explained = rpc(
        daemon,
        "route.explain",
        {"body": {"model": "claude-opus-4-6", "messages": []}, "format": "anthropic"},
    )
    assert explained["breaker"] == "open" and explained["fallbacks"][0]["breaker"] == "closed"
    # a reload (of the breaker's own keys, even) keeps the breakers' states
    config = Path(daemon.control_socket).parent / "config.yaml"  # type: ignore[arg-type]
    rewrite(config, config.read_text().replace("breaker_cooldown: 6", "breaker_cooldown: 5"))
    assert rpc(daemon, "config.reload")["ok"]
    assert breaker_of(daemon, "claudeopus46")["state"] == "open"  # type: ignore[index]
    metrics = scrape(daemon.url)
    assert metrics["argo_proxy_breaker_state"][labels(model="claudeopus46")] == 2
    fallbacks = metrics["argo_proxy_fallbacks_total"]
    assert fallbacks[labels(from_model="claudeopus46", to_model="claudesonnet46")] == 3
    # after the cool-down: one trial, which succeeds and closes the breaker
    deadline = time.monotonic() + 30
    while breaker_of(daemon, "claudeopus46")["state"] != "half_open":  # type: ignore[index]
        assert time.monotonic() < deadline, "the breaker never became half-open"
        time.sleep(0.1)
    assert ask_opus(daemon.url, "breaker4").startswith("Echo: breaker4")
    assert models_sent(sim, "breaker4") == ["claudeopus46"]
    closed = breaker_of(daemon, "claudeopus46")
    assert closed == {"model": "claudeopus46", "state": "closed", "failures": 0, "retry_at": None}
    assert scrape(daemon.url)["argo_proxy_breaker_state"][labels(model="claudeopus46")] == 0


def test_an_open_breaker_without_a_fallback_still_lets_the_request_through(
    start_daemon: StartDaemon, sim: httpx.Client
) -> None:
    daemon = start_daemon("retries: 0\nbreaker_failures: 1\nbreaker_cooldown: 600\n")
    inject(sim, fault="status", code=503, times=1, model="claudeopus46")
    with pytest.raises(anthropic.InternalServerError):
        ask_opus(daemon.url, "alone1")
    assert breaker_of(daemon, "claudeopus46")["state"] == "open"  # type: ignore[index]
    assert ask_opus(daemon.url, "alone2").startswith("Echo: alone2")


# -------------------------------------------------------------- explain, reload


def ctl(daemon: Process, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(Path(daemon.control_socket).parent)  # type: ignore[arg-type]
    env["ARGO_PROXY_CONTROL_SOCKET"] = str(daemon.control_socket)
    return subprocess.run([_EXE, "ctl", *args], env=env, capture_output=True, text=True, timeout=60)


def test_ctl_route_explains_without_sending_anything(routed: Process, sim: httpx.Client) -> None:
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "x"}],
    }
    shown = ctl(
        routed, "route", json.dumps(body), "--client", "claude-code", "--format", "anthropic"
    )
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "claude-haiku-4-5 from claude-code (anthropic) → route `background`"
    assert lines[1].split()[:4] == ["sent", "to", "gpt41nano", "(openai_chat"]
    assert lines[1].endswith("/v1/chat/completions")
    opus = {"model": "claude-opus-4-6", "messages": [{"role": "user", "content": "x"}]}
    as_json = ctl(routed, "route", json.dumps(opus), "--format", "anthropic", "--json")
    result = json.loads(as_json.stdout)
    assert result["rule"] is None and result["model"] == "claudeopus46"
    assert (result["upstream"], result["converted"], result["breaker"]) == (
        "anthropic",
        False,
        "closed",
    )
    assert result["url"].endswith("/v1/messages")
    assert [(leg["model"], leg["converted"]) for leg in result["fallbacks"]] == [
        ("claudesonnet46", False),
        ("gpt5", True),
    ]
    posted = [e for e in sim.get("/__sim/log").json()["requests"] if e["method"] == "POST"]
    assert posted == []  # nothing went to ARGO
    bad = ctl(routed, "route", json.dumps({"model": "nope-9", "messages": []}))
    assert bad.returncode == 1 and "nope-9" in bad.stderr
    unreadable = ctl(routed, "route", "{not json")
    assert unreadable.returncode == 2 and "JSON" in unreadable.stderr


def test_a_reload_changes_the_routes_and_a_bad_rule_keeps_the_last_good_ones(
    start_daemon: StartDaemon, sim: httpx.Client
) -> None:
    daemon = start_daemon("routes:\n  - {model: 'swap-*', to: gpt41}\n")
    config = Path(daemon.control_socket).parent / "config.yaml"  # type: ignore[arg-type]
    base = config.read_text()

    def ask(marker: str) -> list[str]:
        with sdk_openai(daemon.url) as client:
            client.chat.completions.create(
                model="swap-me", messages=[{"role": "user", "content": marker}]
            )
        return models_sent(sim, marker)

    assert ask("reload1") == ["gpt41"]
    rewrite(config, base.replace("to: gpt41", "to: claudesonnet46"))
    report = rpc(daemon, "config.reload")
    assert report["ok"] and [c["key"] for c in report["changes"]] == ["routes"]
    assert report["changes"][0]["new"] == [{"model": "swap-*", "to": "claudesonnet46"}]
    assert ask("reload2") == ["claudesonnet46"]
    rewrite(config, base.replace("to: gpt41", "tokens_over: many, to: gpt41"))
    refused = rpc(daemon, "config.reload")
    assert not refused["ok"] and "rule 1" in refused["message"]
    assert "`tokens_over`" in refused["message"]
    assert ask("reload3") == ["claudesonnet46"]  # the last good routes still run


def test_an_unreachable_model_falls_back(start_daemon: StartDaemon, sim: httpx.Client) -> None:
    """ARGO's Anthropic API out of reach (nothing listens where the config points it):
    the request goes on to GPT-4.1, on the OpenAI API that answers."""
    daemon = start_daemon(
        "native_anthropic_base_url: http://127.0.0.1:9\nretries: 0\n"
        "fallbacks:\n  claudeopus46: [gpt41]\n"
    )
    assert ask_opus(daemon.url, "unreachable1").startswith("Echo: unreachable1")
    assert models_sent(sim, "unreachable1") == ["gpt41"]
    record = record_of(daemon, "claude-opus-4-6")
    assert record["attempts"] == [
        {"model": "claudeopus46", "outcome": "failed"},
        {"model": "gpt41", "outcome": "ok"},
    ]
