"""B6 (llm-rosetta 0.13): with an Anthropic upstream, a Responses client's stream
repeats its `.done` events (docs/workarounds.md#b6-duplicate-responses-done-events)."""

from __future__ import annotations

from typing import Any

__all__ = ["ResponsesDedup"]

Event = dict[str, Any]


class ResponsesDedup:
    """B6: with an Anthropic upstream, Responses `output_text.done`/`content_part.done`
    come twice, and after a thinking block also with `item_id ""`/`output_index -1`."""

    _DONE = frozenset(("response.output_text.done", "response.content_part.done"))

    def __init__(self) -> None:
        self._seen: set[tuple[Any, ...]] = set()

    def feed(self, event: Event) -> list[Event]:
        """The event, or nothing when it is a duplicate."""
        if event.get("type") not in self._DONE:
            return [event]
        if not event.get("item_id") or event.get("output_index", 0) < 0:
            return []
        key = (event["type"], event["item_id"], event.get("content_index"))
        if key in self._seen:
            return []
        self._seen.add(key)
        return [event]
