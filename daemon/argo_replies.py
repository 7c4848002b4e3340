"""Reading what ARGO sends back: errors hidden in HTTP 200s, the authentication
notice, upstream error bodies, and a forced Anthropic stream folded into one message.

The facts are in docs/argo.md#errors-and-notices.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .errors import UpstreamAuthError, UpstreamError, UpstreamStatusError
from .formats import UpstreamFormat
from .sse import SSEEvent

__all__ = [
    "AUTH_MARKER",
    "NoticeWatch",
    "aggregate_anthropic_stream",
    "auth_error",
    "check_reply",
    "error_from_status",
    "event_error",
    "event_text",
    "is_streaming_required",
]

AUTH_MARKER = "AUTHENTICATION NOTICE FROM ARGO"
_AUTH_RE = re.compile(re.escape(AUTH_MARKER), re.IGNORECASE)
# How both captured variants open (docs/argo.md#the-authentication-notice).
_NOTICE_PREFIX = "IMPORTANT " + AUTH_MARKER
_NOISE = re.compile(r"[\s*⚠️🚫\ufe0f]+")


def auth_error() -> UpstreamAuthError:
    return UpstreamAuthError(
        "ARGO authentication error: the username is not registered in ARGO. Set `user` in "
        "your argo-proxy config (or ARGO_USER) to your ANL username.",
    )


def _message_of(body: Any) -> str:
    """The human message inside an upstream error body of any known shape."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if "detail" in body:  # FastAPI validation errors (docs/argo.md#error-bodies)
            return json.dumps(body["detail"], ensure_ascii=False)[:2000]
        if isinstance(body.get("message"), str):
            return str(body["message"])
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return text.strip()[:2000]


def error_from_status(
    status: int, raw: bytes, headers: Mapping[str, str] | None = None
) -> UpstreamError:
    """An upstream HTTP error, carried inside our envelope (never relayed raw); `headers`
    are the ones the client should still see (Retry-After, rate limits)."""
    text = raw.decode("utf-8", errors="replace")
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
        if "<html" in text.lower():  # nginx "Bad Gateway" page in front of ARGO
            text = re.sub(r"<[^>]+>", " ", text)
            body = " ".join(text.split())
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return UpstreamStatusError(
        f"ARGO returned HTTP {status}: {_message_of(body)}",
        status,
        model_not_found=code == "model_not_found",
        headers=headers,
    )


def is_streaming_required(error: UpstreamError) -> bool:
    """ARGO's fast 500 for long non-streaming Claude calls (docs/argo.md#streaming-is-required)."""
    return (
        isinstance(error, UpstreamStatusError)
        and error.upstream_status == 500
        and "streaming is required" in error.message.lower()
    )


def _reply_text(body: dict[str, Any]) -> str:
    choices = body.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message") or {}
        return str(message.get("content") or "")
    content = body.get("content")
    if isinstance(content, list):
        return "".join(
            str(b.get("text", ""))
            for b in content
            if isinstance(b, dict) and b.get("type") == "text"
        )
    return ""


def check_reply(body: Any, upstream: UpstreamFormat) -> dict[str, Any]:
    """Raise for a 200 that is really an error or an auth notice; else return the body."""
    if not isinstance(body, dict):
        raise UpstreamError(f"ARGO returned an unexpected answer: {str(body)[:200]!r}")
    if body.get("type") == "error" or ("error" in body and "choices" not in body):
        raise UpstreamError(f"ARGO reported an error: {_message_of(body)}")
    if str(body.get("id", "")).startswith("msg_blocked_") or _AUTH_RE.search(_reply_text(body)):
        raise auth_error()
    return body


def event_text(event: dict[str, Any]) -> str | None:
    """Text carried by one upstream stream event; None if it is not a text event."""
    if event.get("type") == "content_block_delta":
        delta = event.get("delta") or {}
        return str(delta.get("text", "")) if delta.get("type") == "text_delta" else None
    choices = event.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        delta = choices[0].get("delta") or {}
        content = delta.get("content")
        return content if isinstance(content, str) else None
    return None


def event_error(event: dict[str, Any]) -> str | None:
    """The message of an in-band stream error (an SSE error event or an `error` chunk)."""
    if event.get("type") == "error" or ("error" in event and "choices" not in event):
        return _message_of(event)
    return None


class NoticeWatch:
    """Decides, from the first text of a stream, whether it is ARGO's auth notice.

    Holding the client's headers until the first *content* arrives (not the first
    network read, as argo-proxy did: the notice may follow a preflight chunk) lets a
    notice still become a 403. Text that cannot be the notice's opening releases the
    stream at once, so the first token is not delayed.
    """

    __slots__ = ("_text", "decided", "is_notice")

    def __init__(self) -> None:
        self._text = ""
        self.decided = False
        self.is_notice = False

    def feed(self, text: str) -> None:
        self._text += text
        if _AUTH_RE.search(self._text):
            self.decided = self.is_notice = True
            return
        opening = _NOISE.sub(" ", self._text).lstrip().upper()
        if opening and not (_NOTICE_PREFIX.startswith(opening) or AUTH_MARKER.startswith(opening)):
            self.decided = True


def aggregate_anthropic_stream(events: list[SSEEvent]) -> dict[str, Any]:
    """Fold an Anthropic SSE stream into one Messages object (anthropic_stream_mode=force).

    An `error` event makes the whole answer an error, rather than a malformed
    message (argo-proxy bug #123).
    """
    message: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    partial_json: dict[int, list[str]] = {}
    for sse in events:
        try:
            event = sse.json()
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        if kind == "error" or "error" in event:
            raise UpstreamError(f"ARGO reported an error: {_message_of(event)}")
        if kind == "message_start":
            message = dict(event.get("message") or {})
            message["content"] = []
        elif kind == "content_block_start":
            index = int(event.get("index", len(blocks)))
            blocks[index] = dict(event.get("content_block") or {})
        elif kind == "content_block_delta":
            index = int(event.get("index", 0))
            block = blocks.setdefault(index, {"type": "text", "text": ""})
            delta = event.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                block["text"] = block.get("text", "") + delta.get("text", "")
            elif dtype == "input_json_delta":
                partial_json.setdefault(index, []).append(delta.get("partial_json", ""))
            elif dtype == "thinking_delta":
                block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
            elif dtype == "signature_delta":
                block["signature"] = block.get("signature", "") + delta.get("signature", "")
        elif kind == "message_delta":
            message.update(event.get("delta") or {})
            usage = event.get("usage")
            if isinstance(usage, dict):
                message["usage"] = {**(message.get("usage") or {}), **usage}
    for index, parts in partial_json.items():
        try:
            blocks[index]["input"] = json.loads("".join(parts)) if "".join(parts) else {}
        except ValueError:
            blocks[index]["input"] = {}
    if not message:
        raise UpstreamError("ARGO's stream ended before it started a message")
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return message
