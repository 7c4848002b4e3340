"""`POST /v1/messages`: ARGO's native Anthropic endpoint, Claude only (docs/argo.md#endpoints).

Bodies carry Vertex ids (`msg_vrtx_`, `toolu_vrtx_`), the vendor model id, the full usage
block and no `stop_sequence` key; streams are Anthropic SSE with `event:` lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .catalogue import Model
from .delivery import BodyReply, StreamReply, dumps
from .envelopes import (
    anthropic_error,
    anthropic_vendor_error,
    model_not_found,
    streaming_required,
)
from .exchange import CREATED, Exchange
from .identity import auth_notice, bearer, body_user
from .replies import Reply, fragments, plan_reply, split_deltas
from .signing import (
    redacted_data,
    redacted_data_valid,
    sign_thinking,
    thinking_signature_valid,
)
from .tools import read_tools

__all__ = ["answer_messages"]

_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
_THINKING_TYPES = ("thinking", "redacted_thinking")


def _identity(ex: Exchange) -> str | None:
    metadata = ex.body.get("metadata")
    from_metadata = metadata.get("user_id") if isinstance(metadata, Mapping) else None
    return (
        body_user(ex.body)
        or (from_metadata if isinstance(from_metadata, str) and from_metadata else None)
        or ex.headers.get("x-api-key")
        or bearer(ex.headers)
    )


def _vendor(ex: Exchange, message: str) -> BodyReply:
    return anthropic_vendor_error(400, message, "req_vrtx_01" + ex.ident("req", 22))


def _check_messages(ex: Exchange, messages: Sequence[Any], thinking: bool) -> BodyReply | None:
    """Shape rules of ARGO's gateway and of Anthropic (docs/argo.md#message-shapes);
    `thinking` is whether the request turns thinking on (docs/simulator.md#thinking)."""
    open_uses: list[str] = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            return anthropic_error(
                400,
                "invalid_request_error",
                f"messages.{index}: Input should be a valid dictionary",
            )
        if message.get("content") is None:
            return anthropic_error(
                400,
                "invalid_request_error",
                f"messages.{index}.content: Input should be a valid list",
            )
        role = message.get("role")
        if role not in ("user", "assistant"):
            return _vendor(
                ex,
                f'messages.{index}.role: Unexpected role "{role}". '
                'Allowed roles are "user" or "assistant".',
            )
        content = message["content"]
        blocks = [b for b in content if isinstance(b, Mapping)] if isinstance(content, list) else []
        if role == "user":
            problem = _check_user_blocks(ex, index, blocks, open_uses)
            if problem is not None:
                return problem
            open_uses = []
            continue
        if open_uses:
            return _unanswered(ex, index - 1, open_uses)
        for number, block in enumerate(blocks):
            problem = _check_thinking_block(ex, f"messages.{index}.content.{number}", block)
            if problem is not None:
                return problem
        open_uses = [str(b.get("id")) for b in blocks if b.get("type") == "tool_use"]
    if open_uses:
        return _unanswered(ex, len(messages) - 1, open_uses)
    return _check_tool_loop(ex, messages) if thinking else None


def _check_user_blocks(
    ex: Exchange, index: int, blocks: Sequence[Mapping[str, Any]], open_uses: Sequence[str]
) -> BodyReply | None:
    """A user turn: no thinking of its own, and results for exactly the open tool uses."""
    for number, block in enumerate(blocks):
        if block.get("type") in _THINKING_TYPES:
            # Thinking is the model's: only an assistant turn can hand it back.
            return _vendor(
                ex,
                f"messages.{index}.content.{number}: `{block.get('type')}` blocks are only "
                "allowed in `assistant` messages",
            )
    results = [str(b.get("tool_use_id")) for b in blocks if b.get("type") == "tool_result"]
    stray = [r for r in results if r not in open_uses]
    if stray:
        return _vendor(
            ex,
            f"messages.{index}.content: unexpected `tool_use_id` found in "
            f"`tool_result` blocks: {', '.join(stray)}. Each `tool_result` block must "
            "have a corresponding `tool_use` block in the previous message.",
        )
    missing = [u for u in open_uses if u not in results]
    return _unanswered(ex, index - 1, missing) if missing else None


def _check_thinking_block(ex: Exchange, where: str, block: Mapping[str, Any]) -> BodyReply | None:
    """A thinking block handed back must be the one the model sent: its signature (or, for
    redacted thinking, its data) must verify (docs/simulator.md#thinking)."""
    kind = block.get("type")
    if kind == "thinking":
        if "signature" not in block:
            return _vendor(ex, f"{where}.thinking.signature: Field required")
        if not block.get("thinking"):
            # Vertex rejects history thinking blocks whose text is empty.
            return _vendor(ex, f"{where}.thinking: each thinking block must contain thinking")
        text, signature = block.get("thinking"), block.get("signature")
        if not (
            isinstance(text, str)
            and isinstance(signature, str)
            and thinking_signature_valid(text, signature)
        ):
            return _vendor(ex, f"{where}: Invalid `signature` in `thinking` block")
    elif kind == "redacted_thinking":
        if "data" not in block:
            return _vendor(ex, f"{where}.redacted_thinking.data: Field required")
        data = block.get("data")
        if not (isinstance(data, str) and redacted_data_valid(data)):
            return _vendor(ex, f"{where}: Invalid `data` in `redacted_thinking` block")
    return None


def _check_tool_loop(ex: Exchange, messages: Sequence[Any]) -> BodyReply | None:
    """With thinking on, a conversation that ends in a tool loop (an assistant turn with
    `tool_use`, then the user turn with its results) needs that assistant turn to start
    with its thinking; earlier turns may drop theirs (docs/simulator.md#thinking)."""
    if len(messages) < 2:
        return None
    last, previous = messages[-1], messages[-2]
    if last.get("role") != "user" or previous.get("role") != "assistant":
        return None
    if not _has_block(last.get("content"), "tool_result"):
        return None
    content = previous.get("content")
    if not _has_block(content, "tool_use"):
        return None
    first = content[0] if isinstance(content, list) and content else None
    found = first.get("type") if isinstance(first, Mapping) else None
    if found in _THINKING_TYPES:
        return None
    return _vendor(
        ex,
        f"messages.{len(messages) - 2}.content.0.type: Expected `thinking` or "
        f"`redacted_thinking`, but found `{found}`. When `thinking` is enabled, a final "
        "`assistant` message must start with a thinking block (preceeding the lastmost set "
        "of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks "
        "from previous turns. To avoid this requirement, disable `thinking`. Please consult "
        "our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking",
    )


def _has_block(content: Any, kind: str) -> bool:
    return isinstance(content, list) and any(
        isinstance(b, Mapping) and b.get("type") == kind for b in content
    )


def _unanswered(ex: Exchange, index: int, ids: Sequence[str]) -> BodyReply:
    return _vendor(
        ex,
        f"messages.{index}: `tool_use` ids were found without `tool_result` blocks "
        f"immediately after: {', '.join(ids)}. Each `tool_use` block must have a "
        "corresponding `tool_result` block in the next message.",
    )


def _wants_thinking(model: Model, thinking: Any) -> bool:
    if not isinstance(thinking, Mapping):
        return False
    kind = thinking.get("type")
    # The policy has already refused `adaptive` where the model lacks it (docs/argo.md#claude).
    return kind == "enabled" or (kind == "adaptive" and model.adaptive_thinking)


def answer_messages(ex: Exchange) -> BodyReply | StreamReply:
    """Validate like ARGO and Anthropic, then answer (JSON body or SSE stream)."""
    body = ex.body
    name = body.get("model")
    if not isinstance(name, str):
        return anthropic_error(400, "invalid_request_error", "model: Field required")
    model = ex.catalogue.lookup(name)
    if model is None or model.retired:
        return model_not_found("messages", name, ex.catalogue.valid_names)
    if model.family != "claude":
        return anthropic_error(
            400,
            "invalid_request_error",
            f"Model '{name}' is not supported on the /v1/messages endpoint",
        )
    if not isinstance(body.get("max_tokens"), int):
        # ARGO answers this itself, fast, before any vendor call (docs/argo.md#messages-answers).
        return anthropic_error(400, "invalid_request_error", "max_tokens is required")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return anthropic_error(400, "invalid_request_error", "messages: Field required")
    user = _identity(ex)
    if user is None:
        return anthropic_error(500, "api_error", "'NoneType' object has no attribute 'lower'")
    variant = ex.notice_variant(user)
    if variant:
        notice = plan_reply(ex.conversation, override=auth_notice(user, variant), verbatim=True)
        return _render(ex, model, notice, blocked_id=f"msg_blocked_{user}_{CREATED}")
    problem = _check_messages(ex, messages, _wants_thinking(model, body.get("thinking")))
    if problem is not None:
        return problem
    outcome = ex.state.policy.apply("messages", model.internal_id, body)
    if outcome.rejection is not None:
        r = outcome.rejection
        return anthropic_vendor_error(r.status, r.message, "req_vrtx_01" + ex.ident("req", 22))
    body = outcome.body
    max_tokens = int(body["max_tokens"])
    if not ex.stream and max_tokens > model.nonstream_max_tokens:
        return streaming_required("messages")  # docs/argo.md#streaming-is-required
    reply = plan_reply(
        ex.conversation,
        tools=read_tools(body.get("tools")),
        tool_choice=body.get("tool_choice"),
        limit=max_tokens,
        override=ex.override_text,
        thinking=_wants_thinking(model, body.get("thinking")),
    )
    if "openai_shape" in ex.faults:
        return _openai_shaped(ex, model, reply)
    return _render(ex, model, reply, blocked_id=None)


def _tool_id(ex: Exchange, index: int) -> str:
    return "toolu_vrtx_01" + ex.ident(f"tool{index}", 22)


def _redacted(ex: Exchange, reply: Reply) -> dict[str, str] | None:
    """The redacted_thinking block `[[sim:redacted]]` asks for, after a thinking block."""
    if reply.thinking is None or ex.conversation.markers.option_int("redacted", 0) <= 0:
        return None
    return {"type": "redacted_thinking", "data": redacted_data(ex.digest)}


def _render(
    ex: Exchange, model: Model, reply: Reply, *, blocked_id: str | None
) -> BodyReply | StreamReply:
    blocked = blocked_id is not None
    message_id = blocked_id or "msg_vrtx_01" + ex.ident("msg", 22)
    # A blocked answer echoes the internal id and reports zero usage
    # (docs/argo.md#the-authentication-notice).
    shown_model = model.internal_id if blocked else model.response_model
    prompt = 0 if blocked else ex.conversation.prompt_tokens
    if ex.stream:
        return _stream(ex, reply, message_id, shown_model, prompt, blocked)
    content: list[dict[str, Any]] = []
    if reply.thinking is not None:
        content.append(
            {
                "type": "thinking",
                "thinking": reply.thinking,
                "signature": sign_thinking(reply.thinking),
            }
        )
    redacted = _redacted(ex, reply)
    if redacted is not None:
        content.append(redacted)
    if reply.text or not reply.tool_calls:
        content.append({"type": "text", "text": reply.text})
    for index, call in enumerate(reply.tool_calls):
        content.append(
            {
                "type": "tool_use",
                "id": _tool_id(ex, index),
                "name": call.name,
                "input": call.arguments,
            }
        )
    usage: dict[str, Any]
    if blocked:
        usage = {"input_tokens": 0, "output_tokens": 0}
    else:
        cache = _cache_usage(ex)
        usage = {
            "cache_creation": {
                "ephemeral_1h_input_tokens": 0,
                "ephemeral_5m_input_tokens": cache["cache_creation_input_tokens"],
            },
            **cache,
            "input_tokens": prompt,
            "output_tokens": reply.completion_tokens,
        }
    out = {
        "id": message_id,
        "content": content,
        "model": shown_model,
        "role": "assistant",
        "stop_reason": _STOP[reply.finish],
        "type": "message",
        "usage": usage,
    }
    return BodyReply(200, dumps(out))


def _event(name: str, payload: Mapping[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + dumps(payload) + b"\n\n"


def _cache_usage(ex: Exchange) -> dict[str, int]:
    """Prompt-cache counts, as `[[sim:cached=N,cache_write=M]]` asks (default none):
    Anthropic counts them apart from `input_tokens`."""
    markers = ex.conversation.markers
    return {
        "cache_creation_input_tokens": markers.option_int("cache_write", 0),
        "cache_read_input_tokens": markers.option_int("cached", 0),
    }


def _stream(
    ex: Exchange, reply: Reply, message_id: str, shown_model: str, prompt: int, blocked: bool
) -> StreamReply:
    start_usage: dict[str, int] = {"input_tokens": prompt, "output_tokens": 0 if blocked else 1}
    if not blocked:
        start_usage.update(_cache_usage(ex))
    if "no_input_tokens" in ex.faults:
        del start_usage["input_tokens"]  # the Vertex backend may omit it
    events = [
        _event(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": shown_model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                },
            },
        )
    ]
    ping = _event("ping", {"type": "ping"})
    index = 0

    def block(opening: Mapping[str, Any], deltas: list[Mapping[str, Any]]) -> None:
        nonlocal index
        events.append(
            _event(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": opening},
            )
        )
        if index == 0:
            events.append(ping)  # as captured: right after the first block opens
        for delta in deltas:
            events.append(
                _event(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
            )
        events.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1

    if reply.thinking is not None:
        thinking_deltas: list[Mapping[str, Any]] = [
            {"type": "thinking_delta", "thinking": piece} for piece in split_deltas(reply.thinking)
        ]
        thinking_deltas.append(
            {"type": "signature_delta", "signature": sign_thinking(reply.thinking)}
        )
        block({"type": "thinking", "thinking": "", "signature": ""}, thinking_deltas)
    redacted = _redacted(ex, reply)
    if redacted is not None:
        block(redacted, [])  # Anthropic sends it whole in content_block_start, no deltas
    if reply.text or not reply.tool_calls:
        block(
            {"type": "text", "text": ""},
            [{"type": "text_delta", "text": piece} for piece in reply.deltas()],
        )
    for number, call in enumerate(reply.tool_calls):
        block(
            {"type": "tool_use", "id": _tool_id(ex, number), "name": call.name, "input": {}},
            [
                {"type": "input_json_delta", "partial_json": p}
                for p in fragments(call.arguments_json)
            ],
        )
    events.append(
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": _STOP[reply.finish], "stop_sequence": None},
                "usage": {"output_tokens": reply.completion_tokens},
            },
        )
    )
    events.append(_event("message_stop", {"type": "message_stop"}))
    first_write, pause = 1, 0.0
    if blocked:
        # message_start, block start, ping and the first text delta in one network write.
        first_write, pause = (1, 0.05) if ex.notice_later else (4, 0.0)
    return StreamReply(events, first_write=first_write, pause_after_first=pause)


def _openai_shaped(ex: Exchange, model: Model, reply: Reply) -> BodyReply:
    """The OpenAI-shaped answer: a chat.completion from /v1/messages
    (docs/argo.md#messages-answers)."""
    calls = [
        {
            "id": _tool_id(ex, i),
            "type": "function",
            "function": {"name": c.name, "arguments": c.arguments_json},
        }
        for i, c in enumerate(reply.tool_calls)
    ]
    prompt = ex.conversation.prompt_tokens
    out = {
        "id": "chatcmpl-" + ex.ident("chat", 29),
        "object": "chat.completion",
        "created": CREATED,
        "model": model.response_model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": reply.text or None,
                    "tool_calls": calls or None,
                },
                "finish_reason": reply.finish,
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": prompt + reply.completion_tokens,
        },
    }
    return BodyReply(200, dumps(out))
