"""The tools a client offers, in any vendor's shape, and arguments built from their schemas.

ARGO takes OpenAI function tools, Anthropic `{name, input_schema}` tools and Gemini
declarations (the legacy endpoint, docs/argo.md#legacy-gateway); the simulated model
calls them with arguments derived deterministically from each tool's JSON schema.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ToolSpec", "build_arguments", "read_tool_choice", "read_tools"]


@dataclass(frozen=True)
class ToolSpec:
    """A tool the client offered, in any vendor's shape (OpenAI, Anthropic, Gemini)."""

    name: str
    schema: Mapping[str, Any]


def read_tools(tools: Any) -> tuple[ToolSpec, ...]:
    """Tools from `tools`, whatever vendor shape each entry has."""
    if not isinstance(tools, list):
        return ()
    found: list[ToolSpec] = []
    for tool in tools:
        if not isinstance(tool, Mapping):
            continue
        declarations = tool.get("function_declarations") or tool.get("functionDeclarations")
        if isinstance(declarations, list):
            entries: Sequence[Any] = declarations
        elif isinstance(tool.get("function"), Mapping):
            entries = [tool["function"]]
        else:
            entries = [tool]
        for entry in entries:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
                continue
            schema = entry.get("parameters") or entry.get("input_schema") or {}
            found.append(ToolSpec(entry["name"], schema if isinstance(schema, Mapping) else {}))
    return tuple(found)


def read_tool_choice(choice: Any) -> tuple[bool, str | None]:
    """(tools may be called, the tool the choice names) for OpenAI or Anthropic choices."""
    if choice == "none":
        return False, None
    if not isinstance(choice, Mapping):
        return True, None
    kind = choice.get("type")
    if kind == "none":
        return False, None
    function = choice.get("function")
    if isinstance(function, Mapping) and isinstance(function.get("name"), str):
        return True, function["name"]
    if kind in ("tool", "function") and isinstance(choice.get("name"), str):
        return True, choice["name"]
    return True, None


def _value_for(schema: Any, seed_text: str) -> Any:
    if not isinstance(schema, Mapping):
        return seed_text
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return _value_for(options[0], seed_text)
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind in ("number", "integer"):
        minimum = schema.get("minimum")
        return minimum if isinstance(minimum, (int, float)) and minimum > 1 else 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    if kind == "null":
        return None
    return seed_text


def build_arguments(schema: Mapping[str, Any], seed_text: str) -> dict[str, Any]:
    """Arguments for a call: every required property, valued from its JSON schema."""
    properties = schema.get("properties")
    required = schema.get("required")
    if not isinstance(properties, Mapping) or not isinstance(required, list):
        return {}
    return {
        name: _value_for(properties.get(name), seed_text)
        for name in required
        if isinstance(name, str)
    }
