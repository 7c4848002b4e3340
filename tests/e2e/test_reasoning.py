"""Reasoning end to end (docs/translation.md#reasoning): each official SDK asks for
reasoning in its own terms of a Claude 4.5, a Claude 4.6, a Claude 4.7 and a GPT-5
model; the simulated ARGO refuses what a model does not take (its policy,
docs/argo.md#reasoning-settings), and what reached it carries the mapped setting.
Reasoning tokens ARGO reports (GPT-5), or that the daemon estimates (Claude's thinking),
show in each client's usage and in the request records."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types

from argo_proxy.daemon.tokens import estimate_text_tokens

from . import api
from .conftest import Process, StartStdioDaemon, StdioDaemon
from .helpers import last_sent

PROMPT = "Think about it"
REASONING_KEYS = ("reasoning_effort", "reasoning", "thinking", "output_config")
CHAT, MESSAGES = "/v1/chat/completions", "/v1/messages"


def _openai(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=api.TOKEN, max_retries=0)


def _anthropic(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key=api.TOKEN, max_retries=0)


def _google(url: str) -> genai.Client:
    return genai.Client(
        api_key=api.TOKEN, http_options=types.HttpOptions(base_url=url, api_version="v1beta")
    )


# ------------------------------------------------------- what each client asks for


def ask_chat(url: str, model: str) -> str:
    with _openai(url) as client:
        reply = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": PROMPT}],
            reasoning_effort="high",
            max_tokens=4000,
        )
    return reply.choices[0].message.content or ""


def ask_responses(url: str, model: str) -> str:
    with _openai(url) as client:
        reply = client.responses.create(
            model=model,
            input=PROMPT,
            reasoning={"effort": "minimal", "summary": "auto"},
            max_output_tokens=4000,
            store=False,
        )
    return reply.output_text


def ask_anthropic(url: str, model: str) -> str:
    """Claude Code's ask: thinking with a budget of all but one of max_tokens (streamed,
    as Claude Code does, and as the SDK insists on for so many tokens)."""
    with (
        _anthropic(url) as client,
        client.messages.stream(
            model=model,
            max_tokens=32000,
            thinking={"type": "enabled", "budget_tokens": 31999},
            messages=[{"role": "user", "content": PROMPT}],
        ) as stream,
    ):
        reply = stream.get_final_message()
    return "".join(b.text for b in reply.content if b.type == "text")


def ask_google_level(url: str, model: str) -> str:
    """google-genai sends the level as its enum's name, "HIGH" (B16)."""
    config = types.GenerateContentConfig(
        max_output_tokens=4000,
        thinking_config=types.ThinkingConfig(
            thinking_level=types.ThinkingLevel.HIGH, include_thoughts=True
        ),
    )
    with _google(url) as google:
        reply = google.models.generate_content(model=model, contents=PROMPT, config=config)
    return reply.text or ""


def ask_google_budget(url: str, model: str) -> str:
    config = types.GenerateContentConfig(
        max_output_tokens=8000, thinking_config=types.ThinkingConfig(thinking_budget=5000)
    )
    with _google(url) as google:
        reply = google.models.generate_content(model=model, contents=PROMPT, config=config)
    return reply.text or ""


def enabled(budget: int, effort: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"thinking": {"type": "enabled", "budget_tokens": budget, **extra}}
    if effort:
        out["output_config"] = {"effort": effort}
    return out


def adaptive(effort: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"thinking": {"type": "adaptive", **extra}}
    if effort:
        out["output_config"] = {"effort": effort}
    return out


SHOWN = {"display": "summarized"}  # Responses' summary, Google's includeThoughts
MODELS = ("claudesonnet45", "claudeopus46", "claudeopus47", "gpt5")
# client → (its ask, what ARGO gets for each of MODELS); max_tokens as each ask sets it
ASKS: dict[str, tuple[Callable[[str, str], str], tuple[dict[str, Any], ...]]] = {
    "openai_chat reasoning_effort high": (
        ask_chat,
        (enabled(3200, "high"), adaptive("high"), adaptive("high"), {"reasoning_effort": "high"}),
    ),
    "responses effort minimal, summary": (
        ask_responses,
        (
            enabled(1024, "low", **SHOWN),
            adaptive("low", **SHOWN),
            adaptive("low", **SHOWN),
            {"reasoning_effort": "minimal"},
        ),
    ),
    "anthropic enabled 31999 of 32000": (
        ask_anthropic,
        (enabled(31999), enabled(31999), adaptive("high"), {"reasoning_effort": "high"}),
    ),
    "google thinkingLevel HIGH, thoughts": (
        ask_google_level,
        (
            enabled(3200, "high", **SHOWN),
            adaptive("high", **SHOWN),
            adaptive("high", **SHOWN),
            {"reasoning_effort": "high"},
        ),
    ),
    "google thinkingBudget 5000": (
        ask_google_budget,
        (enabled(5000), enabled(5000), adaptive("medium"), {"reasoning_effort": "medium"}),
    ),
}


def _cases() -> Iterator[Any]:
    for name, (ask, wanted) in ASKS.items():
        for model, want in zip(MODELS, wanted, strict=True):
            yield pytest.param(ask, model, want, id=f"{name} → {model}")


@pytest.mark.parametrize(("ask", "model", "want"), list(_cases()))
def test_each_clients_ask_reaches_argo_as_the_model_takes_it(
    daemon: Process,
    sim: httpx.Client,
    ask: Callable[[str, str], str],
    model: str,
    want: dict[str, Any],
) -> None:
    assert ask(daemon.url, model) == f"Echo: {PROMPT}"  # the simulator's policy let it by
    body = last_sent(sim, MESSAGES if model.startswith("claude") else CHAT)["body"]
    assert {k: body[k] for k in REASONING_KEYS if k in body} == want


def test_what_a_model_does_not_take_is_never_sent(daemon: Process, sim: httpx.Client) -> None:
    """Same-format clients: the simulator would refuse each of these values as sent."""
    with _openai(daemon.url) as client:
        for model, effort, sent in (
            ("gpt5", "xhigh", "high"),
            ("gpto3", "none", "low"),
            ("gpt51", "minimal", "low"),
            ("gpt4o", "high", None),
        ):
            reply = client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": PROMPT}],
                reasoning_effort=effort,  # type: ignore[arg-type]  # xhigh: newer than the SDK
            )
            assert reply.choices[0].message.content == f"Echo: {PROMPT}", model
            assert last_sent(sim, CHAT)["body"].get("reasoning_effort") == sent, model
    with _anthropic(daemon.url) as claude:
        reply = claude.messages.create(
            model="claudesonnet46",
            max_tokens=2000,
            thinking={"type": "adaptive"},  # type: ignore[typeddict-item]
            messages=[{"role": "user", "content": PROMPT}],
            extra_body={"output_config": {"effort": "xhigh"}},
        )
    assert reply.content[-1].text == f"Echo: {PROMPT}"  # type: ignore[union-attr]
    assert last_sent(sim, MESSAGES)["body"]["output_config"] == {"effort": "high"}


# -------------------------------------------------------- reasoning tokens, clients

LIMIT = 50  # below the simulator's 128: a reasoning model spends it all on reasoning


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_gpt5_reasoning_tokens_reach_each_clients_usage(daemon: Process, stream: bool) -> None:
    messages: Any = [{"role": "user", "content": PROMPT}]
    with _openai(daemon.url) as client:
        if stream:
            chunks = client.chat.completions.create(
                model="gpt5",
                messages=messages,
                max_completion_tokens=LIMIT,
                stream=True,
                stream_options={"include_usage": True},
            )
            (usage,) = [chunk.usage for chunk in chunks if chunk.usage]
        else:
            usage = client.chat.completions.create(
                model="gpt5", messages=messages, max_completion_tokens=LIMIT
            ).usage
        assert usage is not None and usage.completion_tokens_details is not None
        assert usage.completion_tokens_details.reasoning_tokens == LIMIT
        if stream:
            with client.responses.stream(
                model="gpt5", input=PROMPT, max_output_tokens=LIMIT
            ) as events:
                response = events.get_final_response()
        else:
            response = client.responses.create(
                model="gpt5", input=PROMPT, max_output_tokens=LIMIT, store=False
            )
        assert response.usage is not None
        assert response.usage.output_tokens_details.reasoning_tokens == LIMIT
    chunks = _generate(
        daemon.url, "gpt5", types.GenerateContentConfig(max_output_tokens=LIMIT), stream
    )
    meta = _last_usage(chunks)
    assert meta is not None
    # Google counts thoughts apart from the candidates (B17)
    assert (meta.thoughts_token_count, meta.candidates_token_count or 0) == (LIMIT, 0)
    assert meta.total_token_count == (meta.prompt_token_count or 0) + LIMIT


def _claude_chat(url: str, stream: bool) -> tuple[str, int, int]:
    """(the thinking text the client got, its reasoning count, its output count)."""
    messages: Any = [{"role": "user", "content": PROMPT}]
    with _openai(url) as client:
        if not stream:
            reply = client.chat.completions.create(
                model="claudeopus46", messages=messages, reasoning_effort="low"
            )
            thought = (reply.choices[0].message.model_extra or {})["reasoning_content"]
            usage = reply.usage
        else:
            thought, usage = "", None
            for chunk in client.chat.completions.create(
                model="claudeopus46",
                messages=messages,
                reasoning_effort="low",
                stream=True,
                stream_options={"include_usage": True},
            ):
                usage = chunk.usage or usage
                for choice in chunk.choices:
                    thought += (choice.delta.model_extra or {}).get("reasoning_content") or ""
    assert usage is not None and usage.completion_tokens_details is not None
    reasoning = usage.completion_tokens_details.reasoning_tokens or 0
    return thought, reasoning, usage.completion_tokens


def _claude_responses(url: str, stream: bool) -> tuple[str, int, int]:
    with _openai(url) as client:
        if stream:
            with client.responses.stream(
                model="claudeopus46", input=PROMPT, reasoning={"effort": "low", "summary": "auto"}
            ) as events:
                response = events.get_final_response()
        else:
            response = client.responses.create(
                model="claudeopus46",
                input=PROMPT,
                reasoning={"effort": "low", "summary": "auto"},
                store=False,
            )
    thought = "".join(
        part.text for item in response.output if item.type == "reasoning" for part in item.summary
    )
    assert response.usage is not None
    usage = response.usage
    return thought, usage.output_tokens_details.reasoning_tokens, usage.output_tokens


def _generate(url: str, model: str, config: Any, stream: bool) -> list[Any]:
    """What a google-genai user gets: one answer, or every chunk of a stream."""
    with _google(url) as google:
        if stream:
            return list(
                google.models.generate_content_stream(model=model, contents=PROMPT, config=config)
            )
        return [google.models.generate_content(model=model, contents=PROMPT, config=config)]


def _last_usage(chunks: list[Any]) -> Any:
    metas = [
        c.usage_metadata for c in chunks if c.usage_metadata and c.usage_metadata.total_token_count
    ]
    assert metas, chunks
    return metas[-1]


def _claude_google(url: str, stream: bool) -> tuple[str, int, int]:
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(thinking_budget=-1, include_thoughts=True)
    )
    chunks = _generate(url, "claudeopus46", config, stream)
    thought = "".join(
        part.text or ""
        for chunk in chunks
        for candidate in chunk.candidates or []
        for part in (candidate.content.parts if candidate.content else None) or []
        if part.thought
    )
    last = _last_usage(chunks)
    thoughts = last.thoughts_token_count or 0
    # Google's candidates leave the thoughts out; Claude's output_tokens held both
    assert (
        last.total_token_count
        == (last.prompt_token_count or 0) + (last.candidates_token_count or 0) + thoughts
    )
    return thought, thoughts, (last.candidates_token_count or 0) + thoughts


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("client", [_claude_chat, _claude_responses, _claude_google])
def test_claudes_thinking_shows_as_estimated_reasoning_tokens(
    daemon: Process, client: Callable[[str, bool], tuple[str, int, int]], stream: bool
) -> None:
    """Claude reports no thinking count: the daemon's estimate of its text (tokens.py)."""
    thought, reasoning, output = client(daemon.url, stream)
    assert thought.startswith("The user wrote")
    assert reasoning == min(estimate_text_tokens(thought), output) > 0


# -------------------------------------------------------- reasoning tokens, records


@pytest.fixture()
def stdio_daemon(start_stdio_daemon: StartStdioDaemon) -> StdioDaemon:
    daemon = start_stdio_daemon()
    daemon.notification("models.refreshed")
    return daemon


def _recorded(daemon: StdioDaemon, model: str, stream: bool) -> dict[str, Any]:
    record: dict[str, Any] = daemon.notification(
        "request.finished", lambda p: p["model"] == model and p["stream"] is stream
    )
    assert record["status"] == 200, record
    return record


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_reasoning_tokens_are_recorded_on_every_path(
    stdio_daemon: StdioDaemon, stream: bool
) -> None:
    url = stdio_daemon.url
    messages: Any = [{"role": "user", "content": PROMPT}]
    # GPT-5, as ARGO reports it: same format, and converted from each other format
    with _openai(url) as client:
        if stream:  # same format; the client asks for no usage, the record gets it
            for _ in client.chat.completions.create(
                model="gpt5", messages=messages, max_completion_tokens=LIMIT, stream=True
            ):
                pass
        else:
            client.chat.completions.create(
                model="gpt5", messages=messages, max_completion_tokens=LIMIT
            )
        assert _recorded(stdio_daemon, "gpt5", stream)["reasoning_tokens"] == LIMIT
        if stream:
            with client.responses.stream(
                model="gpt5", input=PROMPT, max_output_tokens=LIMIT
            ) as events:
                events.get_final_response()
        else:
            client.responses.create(model="gpt5", input=PROMPT, max_output_tokens=LIMIT)
        assert _recorded(stdio_daemon, "gpt5", stream)["reasoning_tokens"] == LIMIT
    with _anthropic(url) as claude:
        if stream:
            with claude.messages.stream(model="gpt5", max_tokens=LIMIT, messages=messages) as s:
                s.get_final_message()
        else:
            claude.messages.create(model="gpt5", max_tokens=LIMIT, messages=messages)
        assert _recorded(stdio_daemon, "gpt5", stream)["reasoning_tokens"] == LIMIT
        # Claude, estimated from its thinking: same format, and converted
        thinking: Any = {"type": "adaptive"}
        if stream:
            with claude.messages.stream(
                model="claudeopus46", max_tokens=2000, messages=messages, thinking=thinking
            ) as s:
                reply = s.get_final_message()
        else:
            reply = claude.messages.create(
                model="claudeopus46", max_tokens=2000, messages=messages, thinking=thinking
            )
    thought = "".join(b.thinking for b in reply.content if b.type == "thinking")
    record = _recorded(stdio_daemon, "claudeopus46", stream)
    want = min(estimate_text_tokens(thought), record["output_tokens"])
    assert record["reasoning_tokens"] == want > 0
    _, reasoning, _ = _claude_responses(url, stream)
    assert _recorded(stdio_daemon, "claudeopus46", stream)["reasoning_tokens"] == reasoning == want
