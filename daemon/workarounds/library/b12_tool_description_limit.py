"""B12 (llm-rosetta 0.13): tool descriptions over ARGO's 1,024-character limit are moved
into a system message after the conversation, which becomes the last user turn
(docs/workarounds.md#b12-tool-description-limit). Converting runs with the library's
hoisting off and an explicit limit; late system messages are folded into the first."""

from __future__ import annotations

from typing import Any

__all__ = ["ARGO_TOOL_DESCRIPTION_LIMIT", "gather_late_system_messages"]

# ARGO's OpenAI layer caps tool descriptions; the shim's own limit is never loaded.
ARGO_TOOL_DESCRIPTION_LIMIT = 1024


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
