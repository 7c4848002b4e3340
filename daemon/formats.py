"""What differs between client formats, as data: error envelopes and stream framing.

One dispatch path serves every format (design.md); it asks the `FormatSpec` of the
request's format how to shape an error or frame an event, and never branches on
the format name itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .sse import frame_data, frame_event

__all__ = ["FORMATS", "ClientFormat", "FormatSpec", "UpstreamFormat"]

ClientFormat = Literal["openai_chat", "openai_responses", "anthropic", "google"]
UpstreamFormat = Literal["openai_chat", "anthropic"]

# HTTP status → error type names each vendor's SDK understands.
_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",  # OpenAI uses this type with code model_not_found
    413: "invalid_request_error",
    429: "rate_limit_error",
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
_GOOGLE_STATUS = {  # google.rpc.Code names (behaviour.md §2.2 used INVALID_ARGUMENT for all)
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _openai_error(status: int, message: str, code: str | None, extra: dict[str, Any]) -> Any:
    kind = _OPENAI_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": code, **extra}}


def _anthropic_error(status: int, message: str, code: str | None, extra: dict[str, Any]) -> Any:
    kind = _ANTHROPIC_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message, **extra}}


def _google_error(status: int, message: str, code: str | None, extra: dict[str, Any]) -> Any:
    state = _GOOGLE_STATUS.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
    return {"error": {"code": status, "message": message, "status": state, **extra}}


def _openai_stream_error(status: int, message: str) -> bytes:
    # The openai SDK raises APIError on a chunk with an `error` key.
    return frame_data(_openai_error(status, message, None, {}))


def _anthropic_stream_error(status: int, message: str) -> bytes:
    return frame_event("error", _anthropic_error(status, message, None, {}))


def _responses_stream_error(status: int, message: str) -> bytes:
    # `response.failed` is the terminal event Responses clients (Codex) act on.
    failed = {
        "type": "response.failed",
        "sequence_number": 0,
        "response": {
            "id": "resp_failed",
            "object": "response",
            "status": "failed",
            "error": {"code": "server_error" if status >= 500 else str(status), "message": message},
            "output": [],
        },
    }
    return frame_event("response.failed", failed)


def _google_stream_error(status: int, message: str) -> bytes:
    return frame_data(_google_error(status, message, None, {}))


def _frame_typed(event: dict[str, Any]) -> bytes:
    return frame_event(str(event.get("type", "message")), event)


@dataclass(frozen=True)
class FormatSpec:
    """Everything format-specific about one client API."""

    name: ClientFormat
    error_body: Callable[[int, str, str | None, dict[str, Any]], Any]
    stream_error: Callable[[int, str], bytes]  # an in-stream error event, in this format
    native_upstream: UpstreamFormat | None  # the ARGO endpoint that speaks it, if any
    frame: Callable[[dict[str, Any]], bytes]  # one stream event on the wire
    stream_end: bytes = b""  # what closes a stream after the last event

    def error(self, status: int, message: str, code: str | None = None, **extra: Any) -> Any:
        return self.error_body(status, message, code, extra)


FORMATS: dict[ClientFormat, FormatSpec] = {
    "openai_chat": FormatSpec(
        "openai_chat",
        _openai_error,
        _openai_stream_error,
        "openai_chat",
        frame_data,
        b"data: [DONE]\n\n",
    ),
    # Responses and Anthropic streams name each event; Responses has no [DONE].
    "openai_responses": FormatSpec(
        "openai_responses", _openai_error, _responses_stream_error, None, _frame_typed
    ),
    "anthropic": FormatSpec(
        "anthropic", _anthropic_error, _anthropic_stream_error, "anthropic", _frame_typed
    ),
    "google": FormatSpec("google", _google_error, _google_stream_error, None, frame_data),
}
