"""Anthropic Messages (`POST /v1/messages`, `/v1/messages/count_tokens`)."""

from __future__ import annotations

from typing import Any

from ..errors import ClientRequestError
from ..sse import frame_event
from .spec import Event, FormatSpec

__all__ = ["SPEC"]

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _error(status: int, message: str, code: str | None, extra: dict[str, Any]) -> Any:
    kind = _TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message, **extra}}


def _stream_error(status: int, message: str) -> bytes:
    return frame_event("error", _error(status, message, None, {}))


def _frame(event: Event) -> bytes:
    return frame_event(str(event.get("type", "message")), event)


def _refuse(body: dict[str, Any]) -> None:
    if "max_tokens" not in body:
        raise ClientRequestError("Missing 'max_tokens' field: the Messages API requires it.")


def _image_url(part: Any) -> str | None:
    if not isinstance(part, dict) or part.get("type") != "image":
        return None
    source = part.get("source")
    if not isinstance(source, dict) or source.get("type") != "url":
        return None
    url = source.get("url")
    return url if isinstance(url, str) else None


def _inline_image(part: dict[str, Any], mime: str, data: str) -> dict[str, Any]:
    return {**part, "source": {"type": "base64", "media_type": mime, "data": data}}


SPEC = FormatSpec(
    name="anthropic",
    body="anthropic",
    serves=lambda path: path.startswith("/v1/messages"),
    turns="messages",
    error_body=_error,
    stream_error=_stream_error,
    frame=_frame,
    count_answer=lambda n: {"input_tokens": n},
    image_url=_image_url,
    inline_image=_inline_image,
    native="anthropic",
    refuse=_refuse,
)
