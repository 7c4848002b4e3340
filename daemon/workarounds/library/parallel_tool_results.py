"""Found here (llm-rosetta 0.13): OpenAI `tool` messages answering one turn's parallel
calls become one Anthropic user turn each; Anthropic wants them in one
(docs/workarounds.md#parallel-tool-results-for-claude)."""

from __future__ import annotations

from typing import Any

__all__ = ["join_tool_result_turns"]


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
