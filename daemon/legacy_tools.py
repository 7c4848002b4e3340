"""Tool calls on ARGO's legacy gateway: each vendor's native shapes, out and back.

The legacy `chat/` endpoint takes tools, `tool_choice` and tool-call history only in the model
vendor's own shape (docs/workarounds.md#legacy-tool-shapes): OpenAI function tools for GPT,
Anthropic `{name, description, input_schema}` with `tool_use`/`tool_result` blocks for Claude,
Google `{name, description, parameters}` declarations for Gemini. Its answers carry the calls in
the same per-vendor shapes; `read_response` turns every one of them back into OpenAI
`tool_calls`. Claude's history is converted by llm-rosetta (through `convert.py`), never by hand.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from .convert import Conversion
from .errors import ClientRequestError, UpstreamError
from .models import Family

__all__ = ["has_tool_traffic", "native_tools", "read_response"]

log = logging.getLogger(__name__)

Message = dict[str, Any]

# Anthropic fields llm-rosetta adds for ARGO's /v1/messages that the gateway's shapes do not have.
_MESSAGES_API_ONLY = frozenset(("cache_control", "caller"))


def has_tool_traffic(body: dict[str, Any]) -> bool:
    """Whether a chat request offers tools or carries tool calls or results in its history."""
    if body.get("tools"):
        return True
    return any(
        isinstance(m, dict) and (m.get("tool_calls") or m.get("role") == "tool")
        for m in body.get("messages") or []
    )


def _function_tools(tools: Any) -> list[dict[str, Any]]:
    """The client's OpenAI tools, all of which must be functions (the legacy gateway runs
    nothing else: a custom or built-in tool would be dropped without a word)."""
    if not isinstance(tools, list):
        raise ClientRequestError("'tools' must be a list of function tools.")
    others = sorted({str(t.get("type")) for t in tools if isinstance(t, dict)} - {"function"})
    functions = all(isinstance(t, dict) and isinstance(t.get("function"), dict) for t in tools)
    if others or not functions:
        kinds = ", ".join(others) or "malformed entries"
        raise ClientRequestError(
            f"The legacy ARGO gateway takes only function tools; this request has {kinds}. "
            "Turn legacy mode off (`argo-proxy ctl legacy off`) to use them."
        )
    return tools


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _MESSAGES_API_ONLY}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _system_text(system: Any) -> str:
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        return "\n\n".join(str(b.get("text", "")) for b in system if isinstance(b, dict))
    return ""


def _anthropic(request: dict[str, Any], model: str) -> dict[str, Any]:
    """Messages, tools and tool_choice in Anthropic's shape, with the system prompt as the first
    message: the legacy gateway refuses `system` next to `messages`
    (docs/argo.md#legacy-gateway)."""
    converted = _strip(Conversion("openai_chat", "anthropic", model, "anthropic").request(request))
    # (the conversion already put a turn's tool results in one user message)
    messages = list(converted.get("messages") or [])
    system = _system_text(converted.get("system"))
    if system:
        messages.insert(0, {"role": "system", "content": system})
    out: dict[str, Any] = {"messages": messages}
    for key in ("tools", "tool_choice"):
        if key in converted:
            out[key] = converted[key]
    return out


def _google_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    declarations = []
    for tool in tools:
        function = tool["function"]
        declaration = {"name": function.get("name"), "description": function.get("description", "")}
        if function.get("parameters") is not None:
            declaration["parameters"] = function["parameters"]
        declarations.append(declaration)
    return declarations


def native_tools(body: dict[str, Any], model: str, family: Family) -> dict[str, Any]:
    """`messages`, `tools` and `tool_choice` of an OpenAI chat request (with tool traffic)
    in the shapes the legacy gateway takes for this model's vendor."""
    tools = _function_tools(body["tools"]) if body.get("tools") else None
    messages: list[Message] = body["messages"]
    if family == "anthropic":
        request: dict[str, Any] = {"messages": messages}
        if tools:
            request["tools"] = tools
            if body.get("tool_choice") is not None:
                request["tool_choice"] = body["tool_choice"]
        return _anthropic(request, model)
    if family == "google":
        # (ARGO's rules already gave each parallel call a turn of its own)
        out: dict[str, Any] = {"messages": messages}
        if tools:
            out["tools"] = _google_tools(tools)
    elif family == "openai":
        out = {"messages": messages}
        if tools:
            out["tools"] = tools
    else:
        raise ClientRequestError(
            f"The legacy ARGO gateway takes tools only for GPT, Claude and Gemini models, and "
            f"'{model}' is none of them. Turn legacy mode off to use tools with it."
        )
    # Gemini's choice has no documented legacy shape: it goes as the client sent it.
    if tools and body.get("tool_choice") is not None:
        out["tool_choice"] = body["tool_choice"]
    return out


# ------------------------------------------------------------------------- answers


def _arguments(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value if value is not None else {}, ensure_ascii=False)


def _openai_call(entry: Any, index: int) -> dict[str, Any]:
    """One call in any vendor's shape (docs/argo.md#legacy-gateway) as an OpenAI tool call."""
    if not isinstance(entry, dict):
        raise UpstreamError(f"ARGO's legacy gateway sent a tool call we cannot read: {entry!r}")
    # Gemini's ids are null; argo-proxy numbered them the same way.
    call_id = entry.get("id") or f"call_{index}"
    function = entry.get("function")
    if isinstance(function, dict):  # OpenAI
        name, arguments = function.get("name"), function.get("arguments")
    elif "input" in entry:  # Anthropic tool_use
        name, arguments = entry.get("name"), entry.get("input")
    elif "args" in entry or "arguments" in entry:  # Gemini (or a flat OpenAI-ish call)
        name, arguments = entry.get("name"), entry.get("args", entry.get("arguments"))
    else:
        raise UpstreamError(f"ARGO's legacy gateway sent a tool call we cannot read: {entry!r}")
    if not isinstance(name, str) or not name:
        raise UpstreamError(f"ARGO's legacy gateway sent a tool call without a name: {entry!r}")
    return {
        "id": str(call_id),
        "type": "function",
        "function": {"name": name, "arguments": _arguments(arguments)},
    }


def read_response(response: Any) -> tuple[str, list[dict[str, Any]]]:
    """(text, OpenAI tool calls) of a legacy `response` value: a string, or an object with
    `content` (a string or Anthropic blocks) and per-vendor `tool_calls`."""
    if isinstance(response, str):
        return response, []
    if not isinstance(response, dict):
        raise UpstreamError(f"ARGO's legacy gateway sent an answer we cannot read: {response!r}")
    content = response.get("content")
    entries = list(response.get("tool_calls") or [])
    if isinstance(content, list):  # Claude may answer in blocks, calls included
        texts = [str(b.get("text", "")) for b in content if isinstance(b, dict) and "text" in b]
        entries += [b for b in content if isinstance(b, dict) and b.get("type") == "tool_use"]
        text = "".join(texts)
    else:
        text = content if isinstance(content, str) else ""
    calls = [_openai_call(entry, i) for i, entry in enumerate(entries)]
    log.debug("legacy answer: %d characters, %d tool calls", len(text), len(calls))
    return text, calls
