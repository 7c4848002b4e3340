"""One record per API request: who asked, for which model, where it went, how it
ended, how long it took and how many tokens it used (docs/observability.md).

The request path (`pipeline.py`) opens a record when a request comes in and closes it
once, when the answer's last byte is out (or the request failed). A record is the
request's observer (observer.py): the stages tell it what happened (the model asked
for, the one chosen, each retry, ARGO's answer or stream events, the first byte, a
failure), and it keeps what a record shows. Records hold no prompt or answer text.

Token accounting (docs/observability.md#tokens): `input_tokens` counts every input
token, cached or not, as OpenAI's `prompt_tokens` does; `cached_tokens` is the part
read from a prompt cache (OpenAI `prompt_tokens_details.cached_tokens`, Anthropic
`cache_read_input_tokens`) and `cache_write_tokens` the part written to it
(Anthropic `cache_creation_input_tokens`). Anthropic's own `input_tokens` leaves both
out, so for Claude `input_tokens` here is the sum of the three. `reasoning_tokens` is
OpenAI's `completion_tokens_details.reasoning_tokens`; Claude reports no such count, so
for Claude it is the offline estimate of the thinking text the answer carried.
"""

from __future__ import annotations

import functools
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .argo_replies import event_text
from .model_names import answered_model
from .observer import Observer
from .tokens import count_request_tokens, estimate_text_tokens, weighs_more_than

__all__ = [
    "CANCELLED",
    "INTERRUPTED",
    "KNOWN_CLIENTS",
    "RECORD_FIELDS",
    "STREAM_FAILED",
    "RequestRecord",
    "Usage",
    "client_of",
]

# A record's `error.type` is the class of the error that ended the request, or one of
# these for a stream that had already started: ARGO's stream failed (an error event from
# ARGO, a break, an end without its last event), a stop cut it, the client hung up.
STREAM_FAILED = "UpstreamStreamError"
INTERRUPTED = "Interrupted"
CANCELLED = "Cancelled"


# ------------------------------------------------------------------------- clients

# (product name in records, User-Agent pattern whose group 1 is the version), first
# match wins: coding assistants before the SDKs they are built on.
_CLIENTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("claude-code", r"\bclaude-cli/([\w.+-]+)"),
        ("codex", r"\bcodex[_-](?:cli[_-]rs|exec|tui)?/?([\w.+-]*)"),
        ("gemini-cli", r"\bGeminiCLI(?:-\w+)?/([\w.+-]+)"),
        ("aider", r"\baider/([\w.+-]+)"),
        ("opencode", r"\bopencode/([\w.+-]+)"),
        ("argo-proxy-vscode", r"\bargo-proxy-vscode/([\w.+-]+)"),
        ("ai-sdk", r"\bai-sdk/(?:[\w-]+/)*?([\d][\w.+-]*)"),
        ("litellm", r"\blitellm/([\w.+-]+)"),
        ("openai-python", r"\bOpenAI/Python ([\w.+-]+)"),
        ("openai-node", r"\bOpenAI/JS ([\w.+-]+)"),
        ("anthropic-python", r"\bAnthropic/Python ([\w.+-]+)"),
        ("anthropic-node", r"\bAnthropic/JS ([\w.+-]+)"),
        ("google-genai", r"\bgoogle-genai-sdk/([\w.+-]+)"),
        ("curl", r"\bcurl/([\w.+-]+)"),
        ("httpx", r"\bpython-httpx/([\w.+-]+)"),
        ("requests", r"\bpython-requests/([\w.+-]+)"),
        ("aiohttp", r"\bPython/[\d.]+ aiohttp/([\w.+-]+)"),
    )
)
# Every name `client_of` gives a known client; any other User-Agent is named by its first
# product token, which anyone can choose (metrics.py counts those together).
KNOWN_CLIENTS = frozenset(name for name, _ in _CLIENTS) | {"unknown"}
_PRODUCT = re.compile(r"([A-Za-z][\w.-]*)(?:/([\w.+-]+))?")


@functools.lru_cache(maxsize=256)  # a client sends the same User-Agent every time
def client_of(user_agent: str | None) -> tuple[str, str]:
    """(product, version) of the client that sent a User-Agent; version may be ""."""
    if not user_agent:
        return "unknown", ""
    for name, pattern in _CLIENTS:
        match = pattern.search(user_agent)
        if match:
            return name, match.group(1) or ""
    match = _PRODUCT.match(user_agent.strip())  # an unknown client: its first product token
    if match is None:
        return "unknown", ""
    return match.group(1).lower()[:40], (match.group(2) or "")[:40]


# -------------------------------------------------------------------------- usage


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


@dataclass(slots=True)
class Usage:
    """The tokens of one request, as ARGO reported them (or estimated, if it did not)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    reported: bool = False  # ARGO sent usage
    estimated: bool = False  # ARGO could not: the counts are the offline estimate
    thinking: list[str] = field(default_factory=list)  # Claude's, until `settle` counts it

    def take(self, upstream: str, body: Any) -> None:
        """The usage of a whole answer from ARGO (`upstream` is the API that sent it)."""
        usage = body.get("usage") if isinstance(body, Mapping) else None
        if isinstance(usage, Mapping):
            if upstream == "anthropic":
                self._anthropic(usage)
                self._thinking_of(body)
            else:
                self._openai(usage)

    def _thinking_of(self, message: Mapping[str, Any]) -> None:
        content = message.get("content")
        for block in content if isinstance(content, list) else ():
            if isinstance(block, Mapping) and block.get("type") == "thinking":
                text = block.get("thinking")
                if isinstance(text, str):
                    self.thinking.append(text)

    def see(self, event: Mapping[str, Any]) -> None:
        """One streamed event from ARGO, in either of its APIs' formats."""
        kind = event.get("type")
        if "usage" not in event and kind != "message_start":
            return  # most events: a text delta (called for every event of every stream)
        if kind == "message_start":
            message = event.get("message")
            if isinstance(message, Mapping) and isinstance(message.get("usage"), Mapping):
                self._anthropic(message["usage"])
        elif kind == "message_delta":
            usage = event.get("usage")
            if isinstance(usage, Mapping):
                self._anthropic(usage)  # cumulative counts: the last one stands
        elif isinstance(event.get("usage"), Mapping):
            self._openai(event["usage"])

    def _openai(self, usage: Mapping[str, Any]) -> None:
        self.reported = True
        self.input_tokens = _int(usage.get("prompt_tokens"))
        self.output_tokens = _int(usage.get("completion_tokens"))
        prompt = usage.get("prompt_tokens_details")
        if isinstance(prompt, Mapping):
            self.cached_tokens = _int(prompt.get("cached_tokens"))
        completion = usage.get("completion_tokens_details")
        if isinstance(completion, Mapping):
            self.reasoning_tokens = _int(completion.get("reasoning_tokens"))

    def _anthropic(self, usage: Mapping[str, Any]) -> None:
        """Anthropic counts arrive in parts (a stream's start, then its deltas): each
        present field replaces the one before, an absent one keeps it."""
        self.reported = True
        if "cache_read_input_tokens" in usage:
            self.cached_tokens = _int(usage["cache_read_input_tokens"])
        if "cache_creation_input_tokens" in usage:
            self.cache_write_tokens = _int(usage["cache_creation_input_tokens"])
        if "input_tokens" in usage:
            self.input_tokens = (
                _int(usage["input_tokens"]) + self.cached_tokens + self.cache_write_tokens
            )
        if "output_tokens" in usage:
            self.output_tokens = _int(usage["output_tokens"])

    def settle(self) -> None:
        """The answer is done: Claude's thinking, which it does not count apart, is
        estimated (tokens.py), at most the output count; the text is let go."""
        if self.thinking:
            if not self.reasoning_tokens:
                thinking = estimate_text_tokens("".join(self.thinking))
                most = self.output_tokens
                self.reasoning_tokens = min(thinking, most) if most else thinking
            self.thinking = []

    def estimate(self, input_tokens: int, output_tokens: int) -> None:
        """ARGO reported nothing: the offline estimate (tokens.py) stands in."""
        self.input_tokens, self.output_tokens = input_tokens, output_tokens
        self.estimated = True


# ------------------------------------------------------------------------- record


def new_request_id() -> str:
    # Not a secret (it names a record for requests.get): no system call per request.
    return f"req_{random.getrandbits(64):016x}"


@dataclass(slots=True)  # a thousand of them live in the ring
class RequestRecord(Observer):
    """What one API request did (docs/observability.md#records)."""

    id: str
    started_at: float  # Unix time, seconds
    endpoint: str  # the path the client called, e.g. /v1/messages
    client_format: str  # openai_chat, openai_responses, anthropic, google, embeddings, legacy
    client: str
    client_version: str
    model: str | None = None  # as the client asked for it
    argo_model: str | None = None
    answered_model: str | None = None  # as ARGO's answer named it (the vendor's id)
    upstream: str | None = None  # the ARGO API: openai_chat, anthropic, embeddings, gateway
    converted: bool = False
    stream: bool = False
    status: int = 0
    error: dict[str, str] | None = None  # {"type": class name, "message": ...}
    latency_ms: float = 0.0  # to the answer's last byte
    ttft_ms: float | None = None  # to a stream's first byte of content
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    estimated: bool = False  # token counts are the offline estimate: ARGO gave none
    retries: int = 0
    # Claude's thinking was turned off for this request: a tool turn's thinking could not
    # be restored (docs/translation.md#thinking)
    thinking_off: bool = False
    route: str | None = None  # the `routes:` rule that chose the model: its name, or "rule N"
    # with fallbacks: each model of the chain, in order, and how it went ("ok", "HTTP 429",
    # "timed out", "skipped: breaker open"); the last one tried is `argo_model`
    attempts: list[dict[str, str]] | None = None
    # not part of the record's JSON: where stages leave what the record is built from
    usage: Usage = field(default_factory=Usage, repr=False)
    # the body sent to ARGO: its input tokens are estimated if ARGO reports no usage
    sent: dict[str, Any] | None = field(default=None, repr=False)
    output_text: list[str] = field(default_factory=list, repr=False)
    _t0: float = field(default_factory=time.perf_counter, repr=False)
    _ended: float | None = field(default=None, repr=False)
    _closed: bool = field(default=False, repr=False)
    _thinking_block: bool = field(default=False, repr=False)  # in a Claude thinking block

    @classmethod
    def open(cls, endpoint: str, client_format: str, user_agent: str | None) -> RequestRecord:
        client, version = client_of(user_agent)
        return cls(new_request_id(), time.time(), endpoint, client_format, client, version)

    # ------------------------------------------------- the observer's events (observer.py)

    def asked(self, model: str, stream: bool) -> None:
        self.model, self.stream = model, stream

    def chose(self, model: str, upstream: str, rule: str | None = None) -> None:
        self.argo_model, self.upstream, self.route = model, upstream, rule

    def tried(self, attempts: list[dict[str, str]]) -> None:
        self.attempts = attempts

    def prepared(self, body: dict[str, Any] | None, *, converted: bool, thinking_off: bool) -> None:
        self.sent = body  # its input is estimated if ARGO reports no usage
        self.converted, self.thinking_off = converted, thinking_off

    def retried(self) -> None:
        self.retries += 1

    def completed(self, upstream: str, body: Any) -> None:
        self.usage.take(upstream, body)
        self.answered_model = answered_model(upstream, body, event=False)  # type: ignore[arg-type]

    def event(self, event: dict[str, Any]) -> None:
        """One event of ARGO's stream: the model it names, its usage, Claude's thinking
        text (which Claude does not count apart: the record estimates it), and the
        answer's text, kept for the estimate only until ARGO's usage makes it needless
        (Claude's comes first, in message_start)."""
        kind = event.get("type")
        if self.answered_model is None:
            self.answered_model = _model_of(event, kind)
        usage = self.usage
        if kind == "message_start" or "usage" in event:
            usage.see(event)
        if self._thinking_block:  # a thinking block's deltas: its text
            self._thinking_block = self._thinking(event, kind)
        elif kind == "content_block_start":
            block = event.get("content_block")
            self._thinking_block = isinstance(block, dict) and block.get("type") == "thinking"
        if not usage.reported:
            text = event_text(event)
            if text:
                self.output_text.append(text)

    def _thinking(self, event: dict[str, Any], kind: object) -> bool:
        """Keep a thinking delta's text; whether the thinking block goes on."""
        if kind != "content_block_delta":
            return kind != "content_block_stop"
        delta = event.get("delta")
        if isinstance(delta, dict) and delta.get("type") == "thinking_delta":
            text = delta.get("thinking")
            if isinstance(text, str):
                self.usage.thinking.append(text)
        return True

    def usage_estimated(self, input_tokens: int, output_tokens: int) -> None:
        self.usage.estimate(input_tokens, output_tokens)

    def streamed(self, chunk: bytes) -> None:
        self.first_byte()

    def failed(self, status: int, kind: str, message: str) -> None:
        self.fail(status, kind, message)

    def ended(self, answer: Any = None) -> None:
        if answer is not None and self.error is None:
            self.status = answer.status
        self.end()

    # ------------------------------------------------------------------------------

    def first_byte(self) -> None:
        if self.ttft_ms is None:
            self.ttft_ms = round((time.perf_counter() - self._t0) * 1000, 2)

    def fail(self, status: int, exc_type: str, message: str) -> None:
        """The request failed; the first failure is the one kept."""
        if self._closed or self.error is not None:
            return
        self.status = status
        self.error = {"type": exc_type, "message": message[:500]}

    def end(self) -> float:
        """The answer is out: the latency ends now, and nothing more is recorded, even
        if `close` comes later (its estimates take long on a big request)."""
        self._closed = True
        if self._ended is None:
            self._ended = time.perf_counter()
        return self._ended

    def estimates_more_than(self, limit: int) -> bool:
        """Whether `close` would estimate the tokens of more than `limit` characters
        (tokens.weighs_more_than: found in bounded time)."""
        usage = self.usage
        texts: list[Any] = []
        if not (usage.reported or usage.estimated) and self.sent is not None:
            texts += [self.sent, self.output_text]
        if usage.thinking and not usage.reasoning_tokens:
            texts.append(usage.thinking)
        return weighs_more_than(texts, limit)

    def close(self) -> None:
        """Fix the latency (at `end`, if that came first) and the token counts. Only
        the record is touched: it may run in a worker thread (pipeline.py)."""
        self.latency_ms = round((self.end() - self._t0) * 1000, 2)
        if not self.status:
            self.status = 200
        usage = self.usage
        if not (usage.reported or usage.estimated) and self.sent is not None:
            text = "".join(self.output_text)
            output = estimate_text_tokens(text) if text else 0
            usage.estimate(count_request_tokens(self.sent), output)
        usage.settle()
        self.sent = None
        self.output_text = []
        self.estimated = usage.estimated
        self.input_tokens = usage.input_tokens
        self.output_tokens = usage.output_tokens
        self.cached_tokens = usage.cached_tokens
        self.cache_write_tokens = usage.cache_write_tokens
        self.reasoning_tokens = usage.reasoning_tokens

    def to_json(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in RECORD_FIELDS}
        if self.error is not None:
            out["error"] = dict(self.error)
        if self.attempts is not None:
            out["attempts"] = [dict(attempt) for attempt in self.attempts]
        return out


def _model_of(event: dict[str, Any], kind: Any) -> str | None:
    """The model ARGO's event names: Claude's in message_start, OpenAI's in each chunk
    (empty in Azure's preflight chunk)."""
    holder = event.get("message") if kind == "message_start" else event
    model = holder.get("model") if isinstance(holder, dict) else None
    return model if isinstance(model, str) and model else None


# The fields of a record as clients see it (JSON-RPC, `ctl requests --json`, SQLite).
RECORD_FIELDS: tuple[str, ...] = tuple(
    f.name for f in fields(RequestRecord) if f.repr and not f.name.startswith("_")
)
