"""`POST /v1/chat/completions`: ARGO's OpenAI-compatible endpoint (docs/argo.md#endpoints).

GPT and o-series answers wear Azure's clothes (vendor snapshot `model`, content
filters, a preflight chunk before the stream); Gemini answers come from a thinner
serializer that echoes the internal id; Claude goes through too
(docs/argo.md#chat-completions-answers).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .catalogue import Model
from .delivery import BodyReply, StreamReply, dumps
from .envelopes import (
    model_not_found,
    openai_error,
    openai_vendor_error,
    streaming_required,
    validation_error,
)
from .exchange import CREATED, Exchange
from .faults import Kind
from .identity import auth_notice, bearer, body_user
from .replies import Reply, ToolCall, fragments, plan_reply
from .tools import read_tools

__all__ = ["answer_chat"]

_SAFE = {"filtered": False, "severity": "safe"}
_CLEAN = {"detected": False, "filtered": False}
_FILTERS = {
    "hate": _SAFE,
    "protected_material_code": _CLEAN,
    "protected_material_text": _CLEAN,
    "self_harm": _SAFE,
    "sexual": _SAFE,
    "violence": _SAFE,
}
_PROMPT_FILTERS = [{"prompt_index": 0, "content_filter_results": _FILTERS}]
# Azure may open a stream with content-filter metadata and no choices
# (docs/argo.md#chat-completions-streams).
_PREFLIGHT = (
    b'data: {"id":"","object":"","created":0,"model":"","choices":[],'
    b'"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}\n\n'
)
_DONE = b"data: [DONE]\n\n"
_GEMINI_PARALLEL = (
    "400 INVALID_ARGUMENT: Please ensure that the number of function response parts is "
    "equal to the number of function call parts of the function call turn."
)
_MISSING = object()
# Reasoning spent per `reasoning_effort`, as a multiple of the prompt's share
# (docs/simulator.md#reasoning-tokens); no effort given means medium.
_EFFORT = {"none": 0, "minimal": 0, "low": 1, "medium": 2, "high": 4, "xhigh": 6}
_REASONING_BASE, _REASONING_CAP = 16, 64
_encode_str = json.JSONEncoder(ensure_ascii=False).encode


def _check_messages(model: Model, messages: Sequence[Any]) -> BodyReply | None:
    """ARGO's and the vendors' message-shape rules (docs/argo.md#message-shapes, #gemini)."""
    pending: dict[str, int] = {}
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            return validation_error(
                ["messages", index], "Input should be a valid dictionary", "dict_type", message
            )
        role = message.get("role")
        if role == "developer":
            # ARGO's older OpenAI SDK mangles the unknown role into this misleading text.
            where = f"messages[{index}].tool_calls"
            return openai_vendor_error(
                400, f"Unknown parameter: '{where}'.", param=where, code="unknown_parameter"
            )
        calls = message.get("tool_calls") if role == "assistant" else None
        if message.get("content", _MISSING) is None:
            if model.family == "gemini":
                return openai_error(500, "'NoneType' object is not iterable", "TypeError")
            if not calls:
                return openai_vendor_error(
                    400,
                    "Invalid value for 'content': expected a string, got null.",
                    param=f"messages.[{index}].content",
                )
        structured = isinstance(message.get("content"), list)
        if model.family == "gemini" and role == "system" and structured:
            # ARGO's Gemini adapter wants system text flattened to one string (docs/argo.md#gemini).
            return openai_error(500, "'list' object has no attribute 'strip'", "AttributeError")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in pending:
                return openai_vendor_error(
                    400,
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'.",
                    param=f"messages.[{index}].role",
                )
            del pending[call_id]
            continue
        if pending:
            return _unanswered(pending)
        if isinstance(calls, list) and calls:
            if model.family == "gemini" and len(calls) > 1:
                return openai_error(500, _GEMINI_PARALLEL, "ClientError")
            pending = {str(c.get("id")): index for c in calls if isinstance(c, Mapping)}
    return _unanswered(pending) if pending else None


def _unanswered(pending: Mapping[str, int]) -> BodyReply:
    index = next(iter(pending.values()))
    return openai_vendor_error(
        400,
        "An assistant message with 'tool_calls' must be followed by tool messages responding "
        "to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
        + ", ".join(pending),
        param=f"messages.[{index}].role",
    )


def _call_ids(ex: Exchange, model: Model, calls: Sequence[ToolCall]) -> list[str]:
    if model.family == "gemini":
        return [f"call_{i}" for i in range(len(calls))]  # gateway-made, per answer
    return ["call_" + ex.ident(f"call{i}", 24) for i in range(len(calls))]


def _tool_call_objects(ids: Sequence[str], calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    return [
        {"id": i, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json}}
        for i, c in zip(ids, calls, strict=True)
    ]


def _usage(reply: Reply, prompt: int, azure: bool, cached: int) -> dict[str, Any]:
    """OpenAI usage; `cached` (`[[sim:cached=N]]`) is part of `prompt_tokens`."""
    usage: dict[str, Any] = {
        "completion_tokens": reply.completion_tokens,
        "prompt_tokens": prompt,
        "total_tokens": reply.completion_tokens + prompt,
    }
    if azure:
        usage["completion_tokens_details"] = {
            "accepted_prediction_tokens": 0,
            "audio_tokens": 0,
            "reasoning_tokens": reply.reasoning_tokens,
            "rejected_prediction_tokens": 0,
        }
        usage["prompt_tokens_details"] = {"audio_tokens": 0, "cached_tokens": cached}
    elif cached:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return usage


def _leaked(ex: Exchange, calls: Sequence[ToolCall]) -> str:
    # Claude tool calls leaking into the text as a Python-dict repr
    # (docs/argo.md#claude-through-chat-completions).
    return " ".join(
        repr(
            {
                "id": "toolu_vrtx_01" + ex.ident(f"leak{i}", 22),
                "input": dict(c.arguments),
                "name": c.name,
                "type": "tool_use",
            }
        )
        for i, c in enumerate(calls)
    )


def _reasoning_tokens(model: Model, body: Mapping[str, Any], prompt_tokens: int) -> int:
    """What a reasoning model (`gpt5*`, o-series) thinks before it answers: more for a
    longer prompt and a higher `reasoning_effort`; nothing on other models."""
    if not model.reasoning:
        return 0
    effort = body.get("reasoning_effort")
    factor = _EFFORT.get(effort if isinstance(effort, str) else "medium", _EFFORT["medium"])
    return factor * min(_REASONING_BASE + prompt_tokens, _REASONING_CAP)


def chat_model(ex: Exchange, kind: Kind) -> Model | BodyReply:
    """The chat model the request names, or ARGO's answer to a missing or unknown one."""
    name = ex.body.get("model")
    if not isinstance(name, str):
        return validation_error(["model"], "Field required", "missing")
    model = ex.catalogue.lookup(name)
    if model is None or model.retired or model.family == "embedding":
        return model_not_found(kind, name, ex.catalogue.valid_names)
    return model


def answer_chat(ex: Exchange) -> BodyReply | StreamReply:
    """Validate like ARGO, then answer (JSON body or SSE stream)."""
    body = ex.body
    model = chat_model(ex, "chat")
    if not isinstance(model, Model):
        return model
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return validation_error(["messages"], "Input should be a valid list", "list_type", messages)
    user = body_user(body) or bearer(ex.headers)
    if user is None:
        # Observed as a 500: x-api-key alone does not identify on this endpoint
        # (docs/argo.md#identity).
        return openai_error(500, "'NoneType' object has no attribute 'lower'", "AttributeError")
    variant = ex.notice_variant(user)
    if variant:
        reply = plan_reply(ex.conversation, override=auth_notice(user, variant), verbatim=True)
        return _render(ex, model, reply, prompt=0, blocked=True)
    problem = _check_messages(model, messages)
    if problem is not None:
        return problem
    outcome = ex.state.policy.apply("chat", model.internal_id, body)
    if outcome.rejection is not None:
        r = outcome.rejection
        return openai_vendor_error(r.status, r.message, param=r.param, code=r.code)
    body = outcome.body
    max_tokens = body.get("max_tokens")
    if model.family == "claude":
        # Only `max_tokens` is read for Claude here; missing or too big, non-streamed, it
        # trips "Streaming is required" (docs/argo.md#claude-through-chat-completions).
        limit = max_tokens if isinstance(max_tokens, int) else None
        if not ex.stream and (limit is None or limit > model.nonstream_max_tokens):
            return streaming_required("chat")
    else:
        given = body.get("max_completion_tokens", max_tokens)
        limit = given if isinstance(given, int) else None
    reply = plan_reply(
        ex.conversation,
        tools=read_tools(body.get("tools")),
        tool_choice=body.get("tool_choice"),
        limit=limit,
        override=ex.override_text,
        reasoning_floor=ex.catalogue.reasoning_empty_below if model.reasoning else None,
        reasoning=_reasoning_tokens(model, body, ex.conversation.prompt_tokens),
    )
    if reply.tool_calls and model.family == "claude" and "leak_tools" in ex.faults:
        reply = plan_reply(ex.conversation, override=_leaked(ex, reply.tool_calls), verbatim=True)
    return _render(ex, model, reply, prompt=ex.conversation.prompt_tokens, blocked=False)


def _render(
    ex: Exchange, model: Model, reply: Reply, *, prompt: int, blocked: bool
) -> BodyReply | StreamReply:
    # A blocked (auth-notice) answer never reaches a vendor: thin shape, internal id.
    azure = model.azure and not blocked
    if model.family == "gemini":
        answer_id = ex.ident("gemini", 23, url_safe=True)
    else:
        answer_id = "chatcmpl-" + ex.ident("chat", 29)
    shown_model = model.internal_id if blocked or model.family == "gemini" else model.response_model
    ids = _call_ids(ex, model, reply.tool_calls)
    cached = min(ex.conversation.markers.option_int("cached", 0), prompt)
    usage = _usage(reply, prompt, azure, cached) if "no_usage" not in ex.faults else None
    if ex.stream:
        return _stream(ex, reply, answer_id, shown_model, ids, usage, azure, blocked)
    calls = _tool_call_objects(ids, reply.tool_calls) or None
    content: str | None = None if calls and not reply.text else reply.text
    if azure:
        choice: dict[str, Any] = {
            "finish_reason": reply.finish,
            "index": 0,
            "logprobs": None,
            "message": {
                "content": content,
                "refusal": None,
                "role": "assistant",
                "audio": None,
                "function_call": None,
                "tool_calls": calls,
                "annotations": [],
            },
            # Reasoning models answered with an empty filter block.
            "content_filter_results": {} if model.reasoning else _FILTERS,
        }
        out: dict[str, Any] = {
            "id": answer_id,
            "choices": [choice],
            "created": CREATED,
            "model": shown_model,
            "object": "chat.completion",
            "prompt_filter_results": _PROMPT_FILTERS,
            "service_tier": "default",
            "system_fingerprint": None,
        }
    else:
        out = {
            "id": answer_id,
            "object": "chat.completion",
            "created": CREATED,
            "model": shown_model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "tool_calls": calls},
                    "finish_reason": reply.finish,
                }
            ],
        }
    if usage is not None:
        out["usage"] = usage
    return BodyReply(200, dumps(out))


def _stream(
    ex: Exchange,
    reply: Reply,
    answer_id: str,
    shown_model: str,
    ids: Sequence[str],
    usage: dict[str, Any] | None,
    azure: bool,
    blocked: bool,
) -> StreamReply:
    head = (
        f'data: {{"id":{_encode_str(answer_id)},"object":"chat.completion.chunk",'
        f'"created":{CREATED},"model":{_encode_str(shown_model)},"choices":'
    )

    def chunk(rest: str) -> bytes:
        return (head + rest + "}\n\n").encode()

    def delta(payload: str, finish: str = "null") -> bytes:
        return chunk(f'[{{"index":0,"delta":{payload},"finish_reason":{finish}}}]')

    events: list[bytes] = [_PREFLIGHT] if azure else []
    if reply.tool_calls:
        events.append(delta('{"role":"assistant","content":null}'))
        for index, (call_id, call) in enumerate(zip(ids, reply.tool_calls, strict=True)):
            opening = {
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            events.append(delta('{"tool_calls":[' + dumps(opening).decode() + "]}"))
            for piece in fragments(call.arguments_json):
                events.append(
                    delta(
                        f'{{"tool_calls":[{{"index":{index},"function":'
                        f'{{"arguments":{_encode_str(piece)}}}}}]}}'
                    )
                )
    else:
        events.append(delta('{"role":"assistant","content":""}'))
        events.extend(delta('{"content":' + _encode_str(d) + "}") for d in reply.deltas())
    events.append(delta("{}", f'"{reply.finish}"'))
    options = ex.body.get("stream_options")
    if usage is not None and isinstance(options, Mapping) and options.get("include_usage") is True:
        events.append(chunk('[],"usage":' + dumps(usage).decode()))
    if "no_done" not in ex.faults:
        events.append(_DONE)
    first_write, pause = 1, 0.0
    if blocked:
        # The notice goes out in the first network write, unless a test asks for later
        # (docs/argo.md#the-authentication-notice).
        first_write, pause = (1, 0.05) if ex.notice_later else (2, 0.0)
    return StreamReply(events, first_write=first_write, pause_after_first=pause)
