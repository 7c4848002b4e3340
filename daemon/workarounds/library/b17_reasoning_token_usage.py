"""B17 (llm-rosetta 0.13): reasoning tokens in a converted answer's usage, whole or
streamed (docs/workarounds.md#b17-reasoning-token-usage).

- From ARGO's OpenAI API to a Google client: the library puts `completion_tokens`, which
  include the reasoning tokens, into `candidatesTokenCount`, and the reasoning tokens
  into `thoughtsTokenCount` as well; Google counts thoughts apart from candidates (its
  total is prompt + candidates + thoughts), so they were counted twice. The candidates
  count loses them.
- From ARGO's Anthropic API to an OpenAI Chat, Responses or Google client: Claude reports
  no count of its own for thinking (it is inside `output_tokens`), and the library gives
  the client none (Chat, Google) or 0 (Responses). The thinking text the answer carried
  is estimated offline (`tokens.py`) and reported in the client's field, at most the
  output count: Chat `completion_tokens_details.reasoning_tokens`, Responses
  `output_tokens_details.reasoning_tokens`, Google `thoughtsTokenCount` (the candidates
  count less it).

GPT-5's reasoning count reaches a Responses client right (the library maps it), and an
Anthropic client has no field for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...tokens import estimate_text_tokens
from .b7_cached_token_usage import count, usages_in

__all__ = ["ReasoningAccounting", "reasoning_accounting_for"]

Event = dict[str, Any]

# OpenAI client formats: (the output count, the details object holding reasoning_tokens).
_OPENAI_FIELDS: dict[str, tuple[str, str]] = {
    "openai_chat": ("completion_tokens", "completion_tokens_details"),
    "openai_responses": ("output_tokens", "output_tokens_details"),
}


class ReasoningAccounting:
    """Sets the reasoning count of one converted answer's usage (or a stream's) right."""

    def __init__(self, source: str, target: str) -> None:
        self._google = source == "google"
        self._fields = _OPENAI_FIELDS.get(source)
        self._claude = target == "anthropic"
        self._thinking: list[str] = []  # Claude's thinking text, until the usage comes

    def upstream(self, event: Mapping[str, Any]) -> None:
        """Keep the thinking text of an Anthropic answer, or of one of its stream events."""
        if not self._claude:
            return
        if event.get("type") == "content_block_delta":
            delta = event.get("delta")
            if isinstance(delta, Mapping) and delta.get("type") == "thinking_delta":
                text = delta.get("thinking")
                if isinstance(text, str):
                    self._thinking.append(text)
            return
        content = event.get("content")  # a whole message
        if isinstance(content, list):
            for block in content:
                if isinstance(block, Mapping) and block.get("type") == "thinking":
                    text = block.get("thinking")
                    if isinstance(text, str):
                        self._thinking.append(text)

    def _estimate(self, most: int) -> int:
        if not self._thinking:
            return 0
        return min(estimate_text_tokens("".join(self._thinking)), most)

    def client(self, event: Event) -> Event:
        """Fix the usage in one converted answer or stream event, in place."""
        for usage in usages_in(event):
            if self._google:
                self._google_usage(usage)
            elif self._fields is not None and self._claude:
                output, details_key = self._fields
                details = usage.get(details_key)
                details = details if isinstance(details, dict) else {}
                if count(details.get("reasoning_tokens")):
                    continue  # a count ARGO reported stands
                thinking = self._estimate(count(usage.get(output)))
                if thinking:
                    usage[details_key] = {**details, "reasoning_tokens": thinking}
        return event

    def _google_usage(self, usage: dict[str, Any]) -> None:
        if "candidatesTokenCount" not in usage:
            return
        candidates = count(usage["candidatesTokenCount"])
        if self._claude:
            thoughts = self._estimate(candidates)
            if thoughts:
                usage["thoughtsTokenCount"] = thoughts
        else:  # the library copied OpenAI's reasoning count beside the whole count
            thoughts = min(count(usage.get("thoughtsTokenCount")), candidates)
        usage["candidatesTokenCount"] = candidates - thoughts


def reasoning_accounting_for(source: str, target: str) -> ReasoningAccounting | None:
    """The fix a (client, ARGO) format pair needs, or None (the library is right)."""
    if source == "anthropic" or (target != "anthropic" and source != "google"):
        return None
    return ReasoningAccounting(source, target)
