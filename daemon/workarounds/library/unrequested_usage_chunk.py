"""llm-rosetta 0.13 ends every OpenAI Chat stream it writes with a usage-only chunk
(`choices: []`); a client that did not ask for it with `stream_options.include_usage`
may not expect it (docs/workarounds.md#the-unrequested-usage-chunk)."""

from __future__ import annotations

from typing import Any

__all__ = ["is_usage_only_chunk"]


def is_usage_only_chunk(event: dict[str, Any]) -> bool:
    return event.get("choices") == [] and "usage" in event
