"""Workarounds for llm-rosetta 0.13 bugs our paths reach (docs/workarounds.md#llm-rosetta-013).

Each piece names its bug; each has a regression test in tests/unit/test_rosetta_fixes.py
that fails without it. Part of the conversion concern: only `convert.py` uses these.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from llm_rosetta import ProviderShim, get_shim

__all__ = [
    "ARGO_ANTHROPIC_SHIM",
    "ARGO_OPENAI_SHIM",
    "GOOGLE_SOURCE_SHIM",
    "AnthropicBlockFixer",
    "ResponsesDedup",
    "gather_late_system_messages",
    "join_tool_result_turns",
    "strip_provider_metadata",
]

Event = dict[str, Any]


def strip_provider_metadata(obj: Any) -> None:
    """B9: delete the library's internal `_provider_metadata` keys, in place."""
    if isinstance(obj, dict):
        obj.pop("_provider_metadata", None)
        for value in obj.values():
            strip_provider_metadata(value)
    elif isinstance(obj, list):
        for value in obj:
            strip_provider_metadata(value)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n\n".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("text")
        )
    return ""


def gather_late_system_messages(body: dict[str, Any]) -> dict[str, Any]:
    """B12 (placement): tool descriptions over ARGO's 1024-character limit are moved into a
    system message appended *after* the conversation, which the library then turns into
    a last user turn — so the model's last "user" words are tool manuals, not the
    question. Run with hoisting off and fold every late system message into the
    leading one instead. Copies what it changes."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return body
    lead = 0
    while (
        lead < len(messages)
        and isinstance(messages[lead], dict)
        and messages[lead].get("role") == "system"
    ):
        lead += 1
    late = [m for m in messages[lead:] if isinstance(m, dict) and m.get("role") == "system"]
    if not late:
        return body
    texts = [_text_of(m.get("content")) for m in (*messages[:lead], *late)]
    system = {"role": "system", "content": "\n\n".join(t for t in texts if t)}
    rest = [m for m in messages[lead:] if not (isinstance(m, dict) and m.get("role") == "system")]
    return {**body, "messages": [system, *rest]}


def _only_tool_results(message: Any) -> bool:
    content = message.get("content") if isinstance(message, dict) else None
    return (
        isinstance(message, dict)
        and message.get("role") == "user"
        and isinstance(content, list)
        and bool(content)
        and all(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
    )


def join_tool_result_turns(body: dict[str, Any]) -> dict[str, Any]:
    """Found here: OpenAI `tool` messages answering one turn's parallel calls become one
    Anthropic user turn *each*; Anthropic wants every `tool_result` of a turn in the one
    user message right after it ("tool_use ids were found without tool_result blocks
    immediately after"). Join such consecutive result-only turns. Copies what it changes."""
    messages = body.get("messages")
    if not isinstance(messages, list) or len(messages) < 2:
        return body
    joined: list[Any] = []
    for message in messages:
        if joined and _only_tool_results(joined[-1]) and _only_tool_results(message):
            joined[-1] = {**joined[-1], "content": [*joined[-1]["content"], *message["content"]]}
        else:
            joined.append(message)
    return body if len(joined) == len(messages) else {**body, "messages": joined}


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


class ResponsesDedup:
    """B6: with an Anthropic upstream, Responses `output_text.done`/`content_part.done`
    come twice, and after a thinking block also with `item_id ""`/`output_index -1`."""

    _DONE = frozenset(("response.output_text.done", "response.content_part.done"))

    def __init__(self) -> None:
        self._seen: set[tuple[Any, ...]] = set()

    def keep(self, event: Event) -> bool:
        if event.get("type") not in self._DONE:
            return True
        if not event.get("item_id") or event.get("output_index", 0) < 0:
            return False
        key = (event["type"], event["item_id"], event.get("content_index"))
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


def _fix_google_request(body: dict[str, Any]) -> dict[str, Any]:
    """B4: camelCase `topP`/`topK` are ignored, and a `functionResponse.response` without
    an `output`/`error` key becomes an empty tool result. Found here (call it B15):
    `parametersJsonSchema`, which google-genai and Gemini CLI send instead of
    `parameters`, is dropped, so ARGO would get tools without arguments.
    Copies; never mutates."""
    body = _with_parameters(body)
    config = body.get("generationConfig")
    if isinstance(config, dict):
        config = dict(config)
        for camel, snake in (("topP", "top_p"), ("topK", "top_k")):
            if camel in config and snake not in config:
                config[snake] = config.pop(camel)
        body = {**body, "generationConfig": config}
    contents = body.get("contents")
    if not isinstance(contents, list):
        return body
    fixed = []
    for content in contents:
        parts = content.get("parts") if isinstance(content, dict) else None
        if isinstance(parts, list):
            content = {**content, "parts": [_wrap_function_response(p) for p in parts]}
        fixed.append(content)
    return {**body, "contents": fixed}


def _with_parameters(body: dict[str, Any]) -> dict[str, Any]:
    tools = body.get("tools")
    if not isinstance(tools, list):
        return body
    fixed_tools = []
    for tool in tools:
        if isinstance(tool, dict):
            key = (
                "functionDeclarations"
                if "functionDeclarations" in tool
                else "function_declarations"
            )
            declarations = tool.get(key)
            if isinstance(declarations, list):
                tool = {**tool, key: [_declaration_parameters(d) for d in declarations]}
        fixed_tools.append(tool)
    return {**body, "tools": fixed_tools}


def _declaration_parameters(declaration: Any) -> Any:
    if not isinstance(declaration, dict) or "parameters" in declaration:
        return declaration
    for key in ("parametersJsonSchema", "parameters_json_schema"):
        if key in declaration:
            rest = {k: v for k, v in declaration.items() if k != key}
            return {**rest, "parameters": declaration[key]}
    return declaration


def _wrap_function_response(part: Any) -> Any:
    reply = part.get("functionResponse") if isinstance(part, dict) else None
    if not isinstance(reply, dict):
        return part
    response = reply.get("response")
    if isinstance(response, dict) and ("output" in response or "error" in response):
        return part
    wrapped = {"output": response if response is not None else ""}
    return {**part, "functionResponse": {**reply, "response": wrapped}}


GOOGLE_SOURCE_SHIM = ProviderShim(
    name="argo-proxy--google-source",
    base="google",
    pre_ir_transforms=(_fix_google_request,),
)


def _drop_budget_on_adaptive(body: dict[str, Any]) -> dict[str, Any]:
    """B11: ARGO rejects `budget_tokens` on adaptive thinking (docs/argo.md#claude)."""
    thinking = body.get("thinking")
    if (
        isinstance(thinking, dict)
        and thinking.get("type") == "adaptive"
        and "budget_tokens" in thinking
    ):
        kept = {k: v for k, v in thinking.items() if k != "budget_tokens"}
        return {**body, "thinking": kept}
    return body


def _builtin_shim(name: str) -> ProviderShim:
    shim = get_shim(name)
    if shim is None:  # pragma: no cover - llm-rosetta 0.13 registers both ARGO shims
        raise RuntimeError(f"llm-rosetta has no {name!r} shim; argo-proxy needs 0.13")
    return shim


def _fixed_anthropic_shim() -> ProviderShim:
    """B11: Claude 4.5 models and haiku reject adaptive thinking (docs/argo.md#claude):
    map auto/enabled to `enabled` with a budget for them; never send adaptive+budget."""
    base = _builtin_shim("argo--anthropic")
    if base.reasoning is None:  # pragma: no cover - set for ARGO's Anthropic shim in 0.13
        raise RuntimeError("llm-rosetta's argo--anthropic shim has no reasoning settings")
    enabled_only = dataclasses.replace(
        base.reasoning,
        thinking_modes={"auto": "enabled", "enabled": "enabled", "disabled": "disabled"},
        budget_ratio=0.8,
    )
    per_model = dict(base.model_reasoning or {})
    for model in (
        "claudeopus45",
        "claudesonnet45",
        "claudehaiku45",
        "claudesonnet4",
        "claudeopus41",
    ):
        per_model[model] = enabled_only
    return dataclasses.replace(
        base,
        name="argo-proxy--anthropic",
        model_reasoning=per_model,
        post_ir_transforms=(*base.post_ir_transforms, _drop_budget_on_adaptive),
    )


ARGO_ANTHROPIC_SHIM = _fixed_anthropic_shim()
ARGO_OPENAI_SHIM = _builtin_shim("argo--openai_chat")
