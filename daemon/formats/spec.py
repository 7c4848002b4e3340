"""What a client format is to the daemon: one `FormatSpec` of data and small functions.

Everything that differs between the client APIs lives in that format's module
(`openai_chat.py`, `openai_responses.py`, `anthropic.py`, `google.py`): how a request
carries its conversation, model and stream flag, what it may not ask for, how an
error, a stream event and a token count look, where its images are. The request path
asks the spec and never branches on a format's name (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..field_rules import BodyKind

__all__ = [
    "ClientFormat",
    "ErrorBody",
    "Event",
    "FormatSpec",
    "UpstreamFormat",
    "openai_status_types",
]

ClientFormat = Literal["openai_chat", "openai_responses", "anthropic", "google"]
UpstreamFormat = Literal["openai_chat", "anthropic"]  # the two APIs ARGO serves chat on
Event = dict[str, Any]
# (status, message, code, extra fields) → the error body in the format's envelope
ErrorBody = Callable[[int, str, str | None, dict[str, Any]], Any]

# HTTP status → the error type names OpenAI's SDKs (and Responses clients) understand.
openai_status_types = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",  # OpenAI uses this type with code model_not_found
    413: "invalid_request_error",
    429: "rate_limit_error",
}


def _nothing_to_refuse(body: dict[str, Any]) -> None:
    """Formats whose every field the daemon can honour."""


def _as_is(body: dict[str, Any]) -> dict[str, Any]:
    return body


@dataclass(frozen=True)
class FormatSpec:
    """Everything format-specific about one client API."""

    name: ClientFormat
    body: BodyKind  # the field types its requests may have (field_rules.py)
    serves: Callable[[str], bool]  # whether a URL path is one of its endpoints (for errors)
    turns: str  # the field holding the conversation: required, a non-empty list
    error_body: ErrorBody
    stream_error: Callable[[int, str], bytes]  # an in-stream error event, in this format
    frame: Callable[[Event], bytes]  # one stream event on the wire
    count_answer: Callable[[int], Any]  # the body of a token-count answer
    image_url: Callable[[Any], str | None]  # the http(s) URL of an image part, if it is one
    inline_image: Callable[[dict[str, Any], str, str], dict[str, Any]]  # (part, mime, b64)
    native: UpstreamFormat | None = None  # the ARGO endpoint that speaks it, if any
    parts: str = "content"  # the field of a turn holding its parts
    stream_end: bytes = b""  # what closes a stream after the last event
    refuse: Callable[[dict[str, Any]], None] = _nothing_to_refuse  # fields it cannot honour
    # The request to count tokens of, from a count request's body (Google may wrap it).
    counted: Callable[[dict[str, Any]], dict[str, Any]] = _as_is
    model_in_path: bool = False  # the model (and the stream flag) come from the URL
    # Whether a stream is one JSON array rather than SSE, from the query.
    json_array_stream: Callable[[Mapping[str, str]], bool] = field(default=lambda query: False)

    def error(self, status: int, message: str, code: str | None = None, **extra: Any) -> Any:
        return self.error_body(status, message, code, extra)
