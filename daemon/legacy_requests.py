"""Requests to ARGO's legacy gateway, built from each client API's request.

Each chat-like endpoint is one `ChatEndpoint` (data, not a handler): the checks its
client's request must pass, the format its image URLs are found in, and a plan that
builds the gateway request (`chat/` and `streamchat/` bodies, docs/argo.md#legacy-gateway:
`messages` or `system`+`prompt`, `user` in the body) and says how the client gets the
answer (`legacy_shapes.py`). Fields the gateway cannot honour are refused with a reason
rather than dropped in silence.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from .convert import Conversion
from .errors import ClientRequestError, NotFoundError
from .field_rules import BodyKind
from .formats import FORMATS, ClientFormat
from .intake import check_turns
from .legacy_shapes import (
    ChatFramer,
    CompletionsFramer,
    Framer,
    LegacyAnswer,
    Meta,
    RawTextFramer,
    ResponsesFramer,
    chat_completion,
    text_completion,
)
from .legacy_tools import has_tool_traffic, native_tools
from .models import Family
from .tokens import count_request_tokens, estimate_text_tokens
from .workarounds.argo_rules import apply_model_rules

__all__ = [
    "CHAT_ENDPOINTS",
    "GATEWAY_ENDPOINTS",
    "LEGACY_PATHS",
    "ChatEndpoint",
    "ChatEndpointName",
    "legacy_off",
    "Plan",
    "embed_prompts",
    "prompt_tokens",
]

ChatEndpointName = Literal["chat", "completions", "openai_chat", "openai_responses"]

# The legacy-only routes (docs/legacy.md), always registered: each request checks the flag.
LEGACY_PATHS: dict[str, Literal["chat", "embed", "completions"]] = {
    "/v1/chat": "chat",
    "/v1/embed": "embed",
    "/v1/completions": "completions",
}
# The client formats the gateway serves while legacy mode is on (the others keep
# ARGO's chat APIs), and the endpoint of each.
GATEWAY_ENDPOINTS: dict[ClientFormat, ChatEndpointName] = {
    "openai_chat": "openai_chat",
    "openai_responses": "openai_responses",
}


def legacy_off(endpoint: str) -> NotFoundError:
    path = next(p for p, e in LEGACY_PATHS.items() if e == endpoint)
    return NotFoundError(
        f"{path} is served only in legacy mode, and legacy mode is off. Turn it on "
        "with `argo-proxy ctl legacy on`, `use_legacy_argo: true` in the config "
        "file, or `argo-proxy serve --legacy-argo`."
    )


# Client fields with no place in a legacy request, or ones we set ourselves.
_NOT_FORWARDED = frozenset(
    (
        "stream",
        "stream_options",
        "parallel_tool_calls",
        "tools",
        "tool_choice",
        "user",
        "store",
        "metadata",
        "service_tier",
        "prompt_cache_key",
        "safety_identifier",
    )
)


def _many(value: Any) -> bool:
    return value not in (None, 1)


# Fields whose meaning the gateway cannot honour: refused, rather than dropped in silence.
_CHAT_UNSERVABLE: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    ("n", _many, "it gives one answer per request"),
    ("logprobs", bool, "it returns no log probabilities"),
    ("top_logprobs", bool, "it returns no log probabilities"),
    ("audio", lambda v: v is not None, "it answers in text only"),
    ("functions", lambda v: v is not None, "use `tools` instead"),
)
_COMPLETION_UNSERVABLE = (
    *_CHAT_UNSERVABLE[:3],
    ("best_of", _many, "it gives one answer per request"),
    ("echo", bool, "it does not echo the prompt"),
    ("suffix", bool, "it does not insert text"),
)


@dataclass(frozen=True)
class Plan:
    """One request to the gateway, and how its client gets the answer."""

    body: dict[str, Any]
    stream: bool
    answer: Callable[[LegacyAnswer, Meta], Any]  # the non-streamed client body
    framer: Callable[[], Framer]
    content_type: str = "text/event-stream"
    id_prefix: str = "chatcmpl-"

    @property
    def tools(self) -> bool:
        return has_tool_traffic(self.body)


@dataclass(frozen=True)
class ChatEndpoint:
    body: BodyKind  # the field types its client's request may have (field_rules.py)
    check: Callable[[dict[str, Any]], None]
    images: ClientFormat | None  # the format to find image URLs in, if it takes images
    plan: Callable[[dict[str, Any], str, Family, str], Plan]


def prompt_tokens(body: dict[str, Any]) -> int:
    """The offline estimate (tokens.py) of a gateway request's input, whatever its style; tools are
    charged as their JSON, in every vendor's shape alike (docs/legacy.md#usage-is-an-estimate)."""
    prompts = body.get("prompt") or []
    texts = [p for p in prompts if isinstance(p, str)] + [str(body.get("system") or "")]
    if body.get("tools"):
        texts.append(json.dumps(body["tools"], ensure_ascii=False))
    turns = count_request_tokens({"messages": body.get("messages") or []})
    return turns + sum(estimate_text_tokens(t) for t in texts)


def _refuse_unservable(body: dict[str, Any], rules: tuple[tuple[str, Any, str], ...]) -> None:
    for name, applies, reason in rules:
        if name in body and applies(body[name]):
            raise ClientRequestError(
                f"'{name}' cannot be served by the legacy ARGO gateway: {reason}. Leave it "
                "out, or turn legacy mode off (`argo-proxy ctl legacy off`)."
            )


def _forwarded(body: dict[str, Any], model: str, user: str) -> dict[str, Any]:
    out = {k: v for k, v in body.items() if k not in _NOT_FORWARDED}
    if isinstance(out.get("stop"), str):
        out["stop"] = [out["stop"]]  # the gateway's `stop` is a list (docs/argo.md#legacy-gateway)
    out.update(model=model, user=user)
    return out


def _check_chat(body: dict[str, Any]) -> None:
    check_turns(FORMATS["openai_chat"], body)
    _refuse_unservable(body, _CHAT_UNSERVABLE)


def _check_responses(body: dict[str, Any]) -> None:
    check_turns(FORMATS["openai_responses"], body)


def _check_completions(body: dict[str, Any]) -> None:
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str) or not prompt:
        raise ClientRequestError(
            "'prompt' must be one non-empty string: the legacy gateway completes one "
            "prompt per request, and takes text, not token ids."
        )
    _refuse_unservable(body, _COMPLETION_UNSERVABLE)


def _system_as_text(message: Any) -> Any:
    """The gateway takes a system prompt as one string, not a list of text parts."""
    if not isinstance(message, dict) or message.get("role") != "system":
        return message
    content = message.get("content")
    if not isinstance(content, list):
        return message
    text = "\n\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return {**message, "content": text}


def _plan_chat(body: dict[str, Any], model: str, family: Family, user: str) -> Plan:
    out = _forwarded(body, model, user)
    out["messages"] = [_system_as_text(m) for m in out["messages"]]
    # ARGO's per-model rules, as on every backend: developer → system, null content,
    # Gemini's one call per turn, sampling settings (docs/workarounds.md#argo-rules).
    apply_model_rules(
        out, model, "anthropic" if family == "anthropic" else "openai_chat", gateway=True
    )
    if has_tool_traffic(body):  # the client's tools, with the messages as ruled
        out.update(native_tools({**body, "messages": out["messages"]}, model, family))
    messages = out["messages"]
    if family in ("anthropic", "google") and not any(
        isinstance(m, dict) and m.get("role") == "user" for m in messages
    ):
        messages.append({"role": "user", "content": "[continue]"})  # docs/argo.md#legacy-gateway
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    return Plan(
        out,
        body.get("stream") is True,
        lambda answer, meta: chat_completion(
            meta, answer.text, answer.calls, answer.completion_tokens
        ),
        lambda: ChatFramer(include_usage),
    )


def _plan_responses(body: dict[str, Any], model: str, family: Family, user: str) -> Plan:
    # Responses → Chat Completions → the gateway, and back, with llm-rosetta both ways.
    conversion = Conversion("openai_responses", "openai_chat", model, family)
    plan = _plan_chat(conversion.request(body), model, family, user)

    def answer(legacy: LegacyAnswer, meta: Meta) -> Any:
        completion = chat_completion(meta, legacy.text, legacy.calls, legacy.completion_tokens)
        return conversion.response(completion)

    return replace(
        plan,
        answer=answer,
        framer=lambda: ResponsesFramer(conversion.stream(include_usage=True)),
        id_prefix="",
    )


def _plan_completions(body: dict[str, Any], model: str, family: Family, user: str) -> Plan:
    prompt = body["prompt"]
    out = _forwarded(body, model, user)
    for name, _, _ in _COMPLETION_UNSERVABLE:
        out.pop(name, None)
    out["prompt"] = prompt if isinstance(prompt, list) else [prompt]
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    return Plan(
        out,
        body.get("stream") is True,
        lambda answer, meta: text_completion(meta, answer.text, answer.completion_tokens),
        lambda: CompletionsFramer(include_usage),
        id_prefix="cmpl-",
    )


def _plan_direct(body: dict[str, Any], model: str, family: Family, user: str) -> Plan:
    """`/v1/chat`: the body goes as it came, with the model resolved and `user` set."""
    stream = body.get("stream") is True
    if stream and body.get("tools"):
        raise ClientRequestError(
            "The legacy streaming endpoint (streamchat) cannot call tools. "
            'Send this request with "stream": false.'
        )
    out = {**body, "model": model, "user": user}
    if isinstance(out.get("prompt"), str):
        out["prompt"] = [out["prompt"]]
    return Plan(
        out,
        stream,
        lambda answer, meta: answer.body,
        RawTextFramer,
        content_type="text/plain; charset=utf-8",
    )


def _no_check(body: dict[str, Any]) -> None:
    """`/v1/chat` takes the gateway's own body; its field types are all there is to check."""


CHAT_ENDPOINTS: dict[ChatEndpointName, ChatEndpoint] = {
    "openai_chat": ChatEndpoint("openai_chat", _check_chat, "openai_chat", _plan_chat),
    "openai_responses": ChatEndpoint(
        "openai_responses", _check_responses, "openai_responses", _plan_responses
    ),
    "completions": ChatEndpoint("completions", _check_completions, None, _plan_completions),
    "chat": ChatEndpoint("gateway_chat", _no_check, "openai_chat", _plan_direct),
}


def embed_prompts(value: Any) -> list[str]:
    prompts = [value] if isinstance(value, str) else value
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
        raise ClientRequestError(
            "'input' must be a string or a list of strings: the legacy gateway embeds text, "
            "not token ids."
        )
    return prompts
