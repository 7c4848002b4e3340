"""B3 (llm-rosetta 0.13): an error event inside an upstream stream is dropped by the
stream converter, so the client would see its stream just stop
(docs/workarounds.md#b3-in-band-stream-errors). The relay spots the error itself;
this is the event a Responses client gets for it, numbered after what it was sent."""

from __future__ import annotations

from typing import Any

__all__ = ["responses_failed"]


def responses_failed(context: Any, message: str) -> dict[str, Any]:
    """`response.failed` for the stream whose converter state is `context`."""
    return {
        "type": "response.failed",
        "sequence_number": getattr(context, "next_sequence_number", 0),
        "response": {
            "id": getattr(context, "outbound_response_id", None) or "resp_error",
            "object": "response",
            "status": "failed",
            "error": {"code": "server_error", "message": message},
            "output": [],
        },
    }
