"""llm-rosetta 0.13 turns Responses built-in tools (`web_search`, `file_search`, ...) into
function tools with no parameters, which ARGO would offer the model but cannot run
(docs/workarounds.md#responses-built-in-tools). They are left out, with a log line."""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["without_builtin_tools"]

log = logging.getLogger(__name__)

_RUNNABLE = ("function", "custom")  # tools the client runs itself


def without_builtin_tools(body: dict[str, Any]) -> dict[str, Any]:
    tools = body.get("tools")
    if not isinstance(tools, list):
        return body
    kept = [t for t in tools if isinstance(t, dict) and t.get("type") in _RUNNABLE]
    if len(kept) != len(tools):
        dropped = [t.get("type") for t in tools if isinstance(t, dict) and t not in kept]
        log.info("leaving out built-in Responses tools ARGO cannot run: %s", dropped)
    return {**body, "tools": kept} if kept else {k: v for k, v in body.items() if k != "tools"}
