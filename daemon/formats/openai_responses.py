"""OpenAI Responses (`POST /v1/responses`), served statelessly: the client sends the
whole conversation each time, as Codex does (docs/translation.md)."""

from __future__ import annotations

from typing import Any

from ..errors import ClientRequestError
from ..sse import frame_event
from .openai_chat import openai_error
from .spec import Event, FormatSpec

__all__ = ["SPEC"]


def _stream_error(status: int, message: str) -> bytes:
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


def _frame(event: Event) -> bytes:
    return frame_event(str(event.get("type", "message")), event)


def _refuse(body: dict[str, Any]) -> None:
    if body.get("previous_response_id"):
        raise ClientRequestError(
            "'previous_response_id' is not supported: argo-proxy keeps no conversation "
            "state. Send the whole conversation in 'input' (as Codex does with store=false)."
        )


def _image_url(part: Any) -> str | None:
    if not isinstance(part, dict) or part.get("type") != "input_image":
        return None
    url = part.get("image_url")
    return url if isinstance(url, str) else None


def _inline_image(part: dict[str, Any], mime: str, data: str) -> dict[str, Any]:
    return {**part, "image_url": f"data:{mime};base64,{data}"}


SPEC = FormatSpec(
    name="openai_responses",
    body="openai_responses",
    serves=lambda path: path.startswith("/v1/responses"),
    turns="input",
    error_body=openai_error,
    stream_error=_stream_error,
    frame=_frame,
    count_answer=lambda n: {"object": "response.input_tokens", "input_tokens": n},
    image_url=_image_url,
    inline_image=_inline_image,
    refuse=_refuse,
)
