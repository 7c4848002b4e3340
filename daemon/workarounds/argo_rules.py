"""Per-model parameter rules ARGO enforces, as data, applied to every upstream body.

ARGO rejects some sampling settings and message shapes per model (docs/argo.md#parameter-rules,
docs/workarounds.md#argo-rules): Claude 4.5/4.6 take temperature or top_p but not both, Opus 4.7+
take neither, GPT-5 and o-series take temperature 1 only and no top_p, Gemini takes one tool call
per turn. Reasoning settings (thinking, effort) are the effort table's, `reasoning.py`, which
runs just before these rules. Clients (Gemini CLI, Claude Code) send
what their vendor accepts, so the daemon adjusts the body — on same-format and converted paths
alike (argo-proxy bug #123: a fix-up missing on one path) — and logs what it changed.
"""

from __future__ import annotations

import fnmatch
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..formats import UpstreamFormat

__all__ = ["apply_model_rules"]

log = logging.getLogger(__name__)

Body = dict[str, Any]


def _drop(*keys: str) -> Callable[[Body], list[str]]:
    def rule(body: Body) -> list[str]:
        return [f"dropped {k}" for k in keys if body.pop(k, None) is not None]

    return rule


def _one_of_temperature_top_p(body: Body) -> list[str]:
    if body.get("temperature") is not None and body.get("top_p") is not None:
        del body["top_p"]
        return ["dropped top_p (this model takes temperature or top_p, not both)"]
    return []


def _temperature_one_only(body: Body) -> list[str]:
    notes = _drop("top_p")(body)
    if body.get("temperature") not in (None, 1, 1.0):
        notes.append(f"dropped temperature {body.pop('temperature')} (only 1 is accepted)")
    return notes


def _map_messages(body: Body, fix: Callable[[dict[str, Any]], dict[str, Any] | None]) -> int:
    """Replace each message `fix` returns a new one for; how many it replaced."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 0
    fixed = [fix(m) if isinstance(m, dict) else None for m in messages]
    if not any(f is not None for f in fixed):
        return 0
    body["messages"] = [f if f is not None else m for f, m in zip(fixed, messages, strict=True)]
    return sum(f is not None for f in fixed)


def _no_developer_role(body: Body) -> list[str]:
    """ARGO's OpenAI layer refuses the `developer` role, with a misleading message."""
    count = _map_messages(
        body, lambda m: {**m, "role": "system"} if m.get("role") == "developer" else None
    )
    return [f"developer → system in {count} message(s)"] if count else []


def _no_null_content(body: Body) -> list[str]:
    """ARGO's Gemini adapter crashes on `content: null` (a tool-call turn has it); the
    others take "" as well."""
    count = _map_messages(
        body, lambda m: {**m, "content": ""} if "content" in m and m["content"] is None else None
    )
    return [f'null content → "" in {count} message(s)'] if count else []


def _no_system_messages(body: Body) -> list[str]:
    """Claude refuses `role: system` in `messages` ("Unexpected role"); Claude Code sends
    one after the tool results when it does not know the model's name (an ARGO id such
    as `claudesonnet45`). Its text joins the `system` prompt, in order."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return []
    late = [m for m in messages if isinstance(m, dict) and m.get("role") == "system"]
    if not late:
        return []
    system = body.get("system")
    blocks: list[Any] = (
        list(system)
        if isinstance(system, list)
        else [{"type": "text", "text": system}]
        if isinstance(system, str) and system
        else []
    )
    for message in late:
        content = message.get("content")
        if isinstance(content, list):
            blocks.extend(b for b in content if isinstance(b, dict) and b.get("type") == "text")
        elif isinstance(content, str) and content:
            blocks.append({"type": "text", "text": content})
    body["system"] = blocks
    body["messages"] = [m for m in messages if not any(m is x for x in late)]
    return [f"moved {len(late)} system message(s) into the system prompt"]


def _unwind_parallel_tool_calls(body: Body) -> list[str]:
    """Gemini via ARGO refuses a turn with several tool calls ("number of function
    response parts is equal to the number of function call parts", argo-proxy #109):
    [assistant(c1, c2), tool(c1), tool(c2)] → [assistant(c1), tool(c1), assistant(c2),
    tool(c2)], results matched by id, else by position."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return []
    out: list[Any] = []
    unwound = 0
    i = 0
    while i < len(messages):
        message = messages[i]
        calls = message.get("tool_calls") if isinstance(message, dict) else None
        if message.get("role") != "assistant" or not isinstance(calls, list) or len(calls) < 2:
            out.append(message)
            i += 1
            continue
        results = []
        j = i + 1
        while (
            j < len(messages)
            and isinstance(messages[j], dict)
            and messages[j].get("role") == "tool"
        ):
            results.append(messages[j])
            j += 1
        ids = {call.get("id") for call in calls}
        matched = {r.get("tool_call_id"): r for r in results if r.get("tool_call_id") in ids}
        spare = [r for r in results if r.get("tool_call_id") not in ids]  # matched by position
        for n, call in enumerate(calls):
            text = message.get("content") if n == 0 else ""
            out.append({**message, "content": text or "", "tool_calls": [call]})
            result = matched.get(call.get("id")) or (spare.pop(0) if spare else None)
            if result is not None:
                out.append(result)
        out.extend(spare)
        unwound += 1
        i = j
    if not unwound:
        return []
    body["messages"] = out
    return [f"unwound {unwound} turn(s) of parallel tool calls (one call per turn)"]


@dataclass(frozen=True)
class _Rule:
    upstream: UpstreamFormat
    models: tuple[str, ...]  # fnmatch patterns on the ARGO internal id
    adjust: Callable[[Body], list[str]]
    # a rule of the API's message shape, not of the model: not for the legacy gateway,
    # whose bodies are OpenAI-shaped for every model
    shape: bool = False


# docs/argo.md#claude (the rules probed on 2026-05-21) and #gpt-and-o-series.
_RULES: tuple[_Rule, ...] = (
    _Rule("anthropic", ("claudeopus47*", "claudeopus48*"), _drop("temperature", "top_p")),
    _Rule("anthropic", ("claude*",), _no_system_messages, shape=True),
    _Rule(
        "anthropic",
        ("claudeopus45*", "claudeopus46*", "claudesonnet45*", "claudesonnet46*", "claudehaiku45*"),
        _one_of_temperature_top_p,
    ),
    _Rule("openai_chat", ("gpt5*", "gpto*"), _temperature_one_only),
    # llm-rosetta's ARGO shim does these two on ARGO's OpenAI API; the legacy gateway
    # has the same needs (docs/argo.md#message-shapes).
    _Rule("openai_chat", ("*",), _no_developer_role),
    _Rule("openai_chat", ("*",), _no_null_content),
    # docs/workarounds.md#gemini-parallel-tool-calls
    _Rule("openai_chat", ("gemini*",), _unwind_parallel_tool_calls),
)


@functools.lru_cache(maxsize=256)
def _rules_for(
    model: str, upstream: UpstreamFormat, gateway: bool
) -> tuple[Callable[[Body], list[str]], ...]:
    """The adjustments for one model, looked up once (this runs on every request)."""
    return tuple(
        rule.adjust
        for rule in _RULES
        if rule.upstream == upstream
        and not (gateway and rule.shape)
        and any(fnmatch.fnmatchcase(model, p) for p in rule.models)
    )


def apply_model_rules(
    body: Body, model: str, upstream: UpstreamFormat, *, gateway: bool = False
) -> None:
    """Adjust `body` (ours to change at the top level) to what ARGO accepts for `model`;
    `gateway`: the body goes to the legacy gateway (OpenAI-shaped for every model)."""
    for adjust in _rules_for(model, upstream, gateway):
        for note in adjust(body):
            log.info("%s: %s", model, note)
