"""OpenAI Chat Completions (`POST /v1/chat/completions`)."""

from __future__ import annotations

from typing import Any

from ..sse import frame_data
from .spec import FormatSpec, openai_status_types

__all__ = ["SPEC", "openai_error"]


def openai_error(status: int, message: str, code: str | None, extra: dict[str, Any]) -> Any:
    """OpenAI's envelope (Chat Completions and Responses share it)."""
    kind = openai_status_types.get(
        status, "api_error" if status >= 500 else "invalid_request_error"
    )
    return {"error": {"message": message, "type": kind, "param": None, "code": code, **extra}}


def _stream_error(status: int, message: str) -> bytes:
    # The openai SDK raises APIError on a chunk with an `error` key.
    return frame_data(openai_error(status, message, None, {}))


def _image_url(part: Any) -> str | None:
    if not isinstance(part, dict) or part.get("type") != "image_url":
        return None
    image = part.get("image_url")
    return image.get("url") if isinstance(image, dict) else None


def _inline_image(part: dict[str, Any], mime: str, data: str) -> dict[str, Any]:
    return {**part, "image_url": {**part["image_url"], "url": f"data:{mime};base64,{data}"}}


SPEC = FormatSpec(
    name="openai_chat",
    body="openai_chat",
    serves=lambda path: path.startswith("/v1/chat/completions"),
    turns="messages",
    error_body=openai_error,
    stream_error=_stream_error,
    frame=frame_data,
    count_answer=lambda n: {"input_tokens": n},
    image_url=_image_url,
    inline_image=_inline_image,
    native="openai_chat",
    stream_end=b"data: [DONE]\n\n",
)
