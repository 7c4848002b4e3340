"""B5 (llm-rosetta 0.13): the stream converter finishes a client's stream only when the
upstream's tail arrives (OpenAI's usage chunk, Anthropic's `message_stop`); an upstream
that ends without it (Gemini through ARGO ignores `include_usage`) would leave the
client's stream unfinished (docs/workarounds.md#b5-stream-usage-tail). The tail is fed
in by hand."""

from __future__ import annotations

from typing import Any

__all__ = ["STREAM_TAIL"]

# Per upstream format: the event that makes the converter finish the client's stream.
STREAM_TAIL: dict[str, dict[str, Any]] = {
    "openai_chat": {"choices": []},
    "anthropic": {"type": "message_stop"},
}
