"""B2 (llm-rosetta 0.13): with an OpenAI upstream, an Anthropic client's stream reuses
block index 0 for a second tool call and never closes the first block; Claude Code then
shows nothing (docs/workarounds.md#b2-anthropic-block-indices)."""

from __future__ import annotations

from typing import Any

__all__ = ["AnthropicBlockFixer"]

Event = dict[str, Any]


class AnthropicBlockFixer:
    """B2: with an OpenAI upstream, a second streamed tool call reuses block index 0 and
    the first block is never closed. Renumber blocks in order and close each one before
    the next opens (tool-call deltas are not interleaved on OpenAI streams)."""

    def __init__(self) -> None:
        self._next = 0
        self._open: int | None = None

    def _close(self) -> list[Event]:
        if self._open is None:
            return []
        index, self._open = self._open, None
        return [{"type": "content_block_stop", "index": index}]

    def feed(self, event: Event) -> list[Event]:
        kind = event.get("type")
        if kind == "content_block_start":
            out = self._close()
            self._open, self._next = self._next, self._next + 1
            return [*out, {**event, "index": self._open}]
        if kind == "content_block_delta":
            index = self._open if self._open is not None else event.get("index", 0)
            return [{**event, "index": index}]
        if kind == "content_block_stop":
            return self._close()  # a stop for a block already closed is dropped
        if kind in ("message_delta", "message_stop"):
            return [*self._close(), event]
        return [event]
