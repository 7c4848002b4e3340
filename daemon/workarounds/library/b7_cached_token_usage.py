"""B7 (llm-rosetta 0.13): usage numbers are copied across formats unchanged, but the
vendors count input differently: OpenAI's `prompt_tokens` (and Responses'
`input_tokens`, Google's `promptTokenCount`) include cached tokens, Anthropic's
`input_tokens` leaves out both the tokens read from the cache and those written to it
(docs/workarounds.md#b7-cached-token-usage). A converted answer's input count is set
right here, whole or streamed:

- to an Anthropic client from ARGO's OpenAI API: `input_tokens` less the cached tokens;
- to any other client from ARGO's Anthropic API: the input count plus the cache reads
  and writes, which only the upstream's usage carries (the write count has no field of
  its own in the other formats).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["CacheAccounting", "cache_accounting_for", "count", "usages_in"]

Event = dict[str, Any]

# Per client format: (the usage object's key, its input field, its total field or None).
_INPUT_FIELDS: dict[str, tuple[str, str, str | None]] = {
    "openai_chat": ("usage", "prompt_tokens", "total_tokens"),
    "openai_responses": ("usage", "input_tokens", "total_tokens"),
    "google": ("usageMetadata", "promptTokenCount", "totalTokenCount"),
}


def count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def usages_in(event: Any) -> list[dict[str, Any]]:
    """The usage objects in a client event: at its top, or one level down (Anthropic's
    `message_start.message`, Responses' `response.completed.response`)."""
    found: list[dict[str, Any]] = []
    if not isinstance(event, dict):
        return found
    for holder in (event, *(v for v in event.values() if isinstance(v, dict))):
        for key in ("usage", "usageMetadata"):
            usage = holder.get(key)
            if isinstance(usage, dict):
                found.append(usage)
    return found


class CacheAccounting:
    """Sets the input count of one answer's usage (or a stream's) right."""

    def __init__(self, source: str) -> None:
        self._fields = _INPUT_FIELDS.get(source)  # None: an Anthropic client
        self._cache = 0  # from an Anthropic upstream: cache reads + writes seen so far

    def upstream(self, event: Mapping[str, Any]) -> None:
        """Note the cache counts an Anthropic upstream event (or answer) carries."""
        message = event.get("message")
        for usage in (
            event.get("usage"),
            message.get("usage") if isinstance(message, dict) else None,
        ):
            if isinstance(usage, Mapping) and (
                "cache_read_input_tokens" in usage or "cache_creation_input_tokens" in usage
            ):
                self._cache = count(usage.get("cache_read_input_tokens")) + count(
                    usage.get("cache_creation_input_tokens")
                )

    def client(self, event: Event) -> Event:
        """Fix the usage in one converted answer or stream event, in place."""
        for usage in usages_in(event):
            if self._fields is None:
                cached = count(usage.get("cache_read_input_tokens"))
                if cached and "input_tokens" in usage:
                    usage["input_tokens"] = max(0, count(usage["input_tokens"]) - cached)
            elif self._cache:
                _, field, total = self._fields
                if field in usage:
                    usage[field] = count(usage[field]) + self._cache
                    if total is not None and total in usage:
                        usage[total] = count(usage[total]) + self._cache
        return event


def cache_accounting_for(source: str, target: str) -> CacheAccounting | None:
    """The fix a (client, ARGO) format pair needs, or None (same vendor accounting)."""
    if (source == "anthropic") == (target == "anthropic"):
        return None
    return CacheAccounting(source)
