"""Legacy ARGO chat: `POST /api/v1/resource/chat/` and `.../streamchat/`
(docs/argo.md#legacy-gateway, #legacy-streams).

Identity is the body's `user` only. `messages` or `system`+`prompt`, never both (mixing
gets a complaint with HTTP 200). Chat answers `{"response": "..."}`, or an object with
vendor-native `tool_calls` per family; streamchat answers raw UTF-8 text in several
chunks, some ending inside a multi-byte character, gzip-encoded when accepted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .catalogue import Model
from .chat import chat_model
from .delivery import TEXT, BodyReply, StreamReply, dumps
from .envelopes import streaming_required, validation_error
from .exchange import Exchange
from .identity import auth_notice, body_user
from .replies import Reply, ToolCall, plan_reply
from .tools import read_tools

__all__ = ["MIXED_COMPLAINT", "NO_TOOLS_ON_STREAM", "answer_legacy_chat", "answer_legacy_stream"]

MIXED_COMPLAINT = (
    "You passed a messages field along with a system and or prompt field. Please only pass "
    "messages with any system and user prompts included, or only pass system and prompt alone."
)
# The exact text is unknown; only that tools get an informational error.
NO_TOOLS_ON_STREAM = (
    "Tool calling is not supported on the streaming endpoint. Please use the non-streaming "
    "chat endpoint (/api/v1/resource/chat/) for requests with tools."
)


def _common(ex: Exchange) -> tuple[Model, str] | BodyReply | str:
    """Checks shared by chat and streamchat: (model, user), an error, or a text to answer."""
    body = ex.body
    user = body_user(body)
    if user is None:
        return validation_error(["user"], "Field required", "missing")
    model = chat_model(ex, ex.kind)
    if not isinstance(model, Model):
        return model
    has_messages = body.get("messages") is not None
    if has_messages and (body.get("system") is not None or body.get("prompt") is not None):
        return MIXED_COMPLAINT
    if not has_messages and body.get("prompt") is None:
        return validation_error(["prompt"], "Field required", "missing")
    variant = ex.notice_variant(user)
    if variant:
        return auth_notice(user, variant)
    return model, user


def _limit(ex: Exchange) -> int | None:
    for key in ("max_tokens", "max_completion_tokens"):
        value = ex.body.get(key)
        if isinstance(value, int):
            return value
    return None


def _tool_calls(ex: Exchange, model: Model, calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    """The calls in the model vendor's own shape."""
    if model.family == "claude":
        return [
            {
                "id": "toolu_vrtx_01" + ex.ident(f"tool{i}", 22),
                "type": "tool_use",
                "name": c.name,
                "input": c.arguments,
            }
            for i, c in enumerate(calls)
        ]
    if model.family == "gemini":
        return [{"id": None, "name": c.name, "args": c.arguments} for c in calls]
    return [
        {
            "id": "call_" + ex.ident(f"call{i}", 24),
            "type": "function",
            "function": {"name": c.name, "arguments": c.arguments_json},
        }
        for i, c in enumerate(calls)
    ]


def _plan(ex: Exchange, model: Model, *, tools: bool) -> Reply:
    return plan_reply(
        ex.conversation,
        tools=read_tools(ex.body.get("tools")) if tools else (),
        tool_choice=ex.body.get("tool_choice"),
        limit=_limit(ex),
        override=ex.override_text,
        reasoning_floor=ex.catalogue.reasoning_empty_below if model.reasoning else None,
    )


def answer_legacy_chat(ex: Exchange) -> BodyReply:
    """`{"response": ...}` with HTTP 200 for answers, complaints and notices alike."""
    checked = _common(ex)
    if isinstance(checked, BodyReply):
        return checked
    if isinstance(checked, str):
        return BodyReply(200, dumps({"response": checked}))
    model, _ = checked
    limit = _limit(ex)
    if model.family == "claude" and limit is not None and limit > model.nonstream_max_tokens:
        return streaming_required("legacy_chat")  # argo-proxy capped max_tokens for this
    reply = _plan(ex, model, tools=True)
    if not reply.tool_calls:
        return BodyReply(200, dumps({"response": reply.text}))
    content = None if model.family == "gpt" else reply.text
    response = {"content": content, "tool_calls": _tool_calls(ex, model, reply.tool_calls)}
    return BodyReply(200, dumps({"response": response}))


def _chunks(text: str, deltas: Sequence[str]) -> list[bytes]:
    """One chunk per delta; a chunk holding a non-ASCII character is cut inside it."""
    chunks: list[bytes] = []
    for delta in deltas or [text]:
        data = delta.encode()
        lead = next((i for i, b in enumerate(data) if b >= 0xC0), -1)
        if lead >= 0:
            chunks.extend((data[: lead + 1], data[lead + 1 :]))  # clients must reassemble
        else:
            chunks.append(data)
    return [c for c in chunks if c]


def _accepts_gzip(ex: Exchange) -> bool:
    accepted = ex.headers.get("accept-encoding", "")
    for item in accepted.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0")
    return False


def answer_legacy_stream(ex: Exchange) -> BodyReply | StreamReply:
    """Raw text, chunked; errors before the stream stay JSON."""
    checked = _common(ex)
    if isinstance(checked, BodyReply):
        return checked
    gzip = _accepts_gzip(ex)
    if isinstance(checked, str):
        # A notice or complaint arrives as ordinary text at the start of the body.
        chunks = [checked.encode()]
        first = 1
        if ex.notice_later:
            chunks, first = (
                _chunks(checked, plan_reply(ex.conversation, override=checked).deltas()),
                1,
            )
        return StreamReply(
            chunks,
            TEXT,
            first_write=first,
            pause_after_first=0.05 if ex.notice_later else 0.0,
            gzip=gzip,
            sse=False,
        )
    model, _ = checked
    if ex.body.get("tools"):
        return StreamReply([NO_TOOLS_ON_STREAM.encode()], TEXT, gzip=gzip, sse=False)
    reply = _plan(ex, model, tools=False)
    return StreamReply(_chunks(reply.text, reply.deltas()), TEXT, gzip=gzip, sse=False)
