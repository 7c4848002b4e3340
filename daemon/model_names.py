"""Answers name the model the client asked for (docs/translation.md#model-names).

ARGO answers with the vendor's id (`claude-sonnet-4-5-20250929` when asked for
`claudesonnet45`, `gpt-5-2025-08-07` for `gpt5`). Clients compare it with the name they
sent: Claude Code sends a turn's thinking back only when the answer's `model` is exactly
the name it asked for. So every answer, JSON or stream, in every format, carries the
client's own name; the record keeps ARGO's (`answered_model`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .formats import ClientFormat

__all__ = ["answered_model", "rename_answer", "rename_data", "rename_event"]

Body = dict[str, Any]


def _top(key: str) -> Callable[[Body], Body | None]:
    return lambda body: body if key in body else None


def _nested(key: str) -> Callable[[Body], Body | None]:
    def holder(body: Body) -> Body | None:
        inner = body.get(key)
        return inner if isinstance(inner, dict) and "model" in inner else None

    return holder


# Where each format's answers name their model: (the key, the object holding it in a
# JSON answer, in a stream event).
_PLACES: dict[
    ClientFormat, tuple[str, Callable[[Body], Body | None], Callable[[Body], Body | None]]
] = {
    "openai_chat": ("model", _top("model"), _top("model")),
    "openai_responses": ("model", _top("model"), _nested("response")),
    "anthropic": ("model", _top("model"), _nested("message")),  # message_start
    "google": ("modelVersion", _top("modelVersion"), _top("modelVersion")),
}


def _rename(fmt: ClientFormat, body: Any, name: str, *, event: bool) -> str | None:
    """Set the model of `body` to `name`; the name it had, if it had another."""
    if not isinstance(body, dict):
        return None
    key, in_answer, in_event = _PLACES[fmt]
    holder = (in_event if event else in_answer)(body)
    if holder is None:
        return None
    old = holder.get(key)
    if old == name or not old:  # an empty one (Azure's preflight chunk) stays empty
        return None
    holder[key] = name
    return old if isinstance(old, str) else None


def rename_answer(fmt: ClientFormat, body: Any, name: str) -> str | None:
    """A whole answer: ARGO's name for the model, if it was replaced."""
    return _rename(fmt, body, name, event=False)


def rename_event(fmt: ClientFormat, event: Any, name: str) -> str | None:
    """One stream event, changed in place."""
    return _rename(fmt, event, name, event=True)


def answered_model(fmt: ClientFormat, body: Any, *, event: bool) -> str | None:
    """The model an answer or event from ARGO names, in ARGO format `fmt`."""
    if not isinstance(body, dict):
        return None
    key, in_answer, in_event = _PLACES[fmt]
    holder = (in_event if event else in_answer)(body)
    value = holder.get(key) if holder is not None else None
    return value if isinstance(value, str) and value else None


def rename_data(data: str, old: str, name: str) -> str:
    """An SSE data string relayed as ARGO sent it, with its model renamed. Only the key's
    own `"model": "old"` is replaced: inside a JSON string a quote is escaped, so the
    pattern cannot match text."""
    new = json.dumps(name, ensure_ascii=False)
    quoted = json.dumps(old, ensure_ascii=False)
    for gap in ("", " "):
        pattern = f'"model":{gap}{quoted}'
        if pattern in data:
            return data.replace(pattern, f'"model":{gap}{new}', 1)
    return data
