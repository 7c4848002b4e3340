"""The llm-rosetta glue: the only module (with its workarounds) that uses the library.

Same format on both sides: a `ConversionPipeline` with `force_conversion=False` and
ARGO's shim applies only ARGO's body fixes (developer→system, null content→"",
max_tokens→max_completion_tokens, Gemini system flattening) and the Anthropic
"OpenAI-shaped reply" repair (docs/workarounds.md#same-format-requests). Different
formats: the full request → IR → target conversion, and back, with the workarounds of
`workarounds/library/`, chosen from the tables below by format, never by an `if`.
Never import `llm_rosetta.gateway` or `llm_rosetta._vendor` (they hijack sys.path:
docs/workarounds.md#b1-vendored-imports).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any, Protocol

from llm_rosetta import ConversionError, ConversionPipeline, ProviderShim

from .errors import ArgoProxyError, ClientRequestError, UpstreamError
from .formats import ClientFormat, UpstreamFormat
from .model_names import rename_event
from .models import Family
from .thinking import (
    CARRIER_FORMATS,
    StreamThinking,
    UserThinking,
    annotate_answer,
    blocks_of,
    restore,
    take_carriers,
    tool_ids_of,
)
from .workarounds.library import (
    ARGO_ANTHROPIC_SHIM,
    ARGO_OPENAI_SHIM,
    ARGO_TOOL_DESCRIPTION_LIMIT,
    GOOGLE_SOURCE_SHIM,
    STREAM_TAIL,
    AnthropicBlockFixer,
    ResponsesDedup,
    gather_late_system_messages,
    is_usage_only_chunk,
    join_tool_result_turns,
    responses_failed,
    strip_provider_metadata,
    usage_accounting_for,
    without_builtin_tools,
)

__all__ = ["Conversion", "StreamConverter", "warm_up"]

log = logging.getLogger(__name__)

Event = dict[str, Any]
Body = dict[str, Any]


class _EventFix(Protocol):
    def feed(self, event: Event) -> list[Event]: ...


# --- the workarounds each conversion takes (docs/workarounds.md), as data --------------
_SAME_FORMAT_SHIMS: dict[UpstreamFormat, str] = {
    "openai_chat": "argo--openai_chat",
    "anthropic": "argo--anthropic",
}
_TARGET_SHIMS: dict[UpstreamFormat, ProviderShim] = {
    "openai_chat": ARGO_OPENAI_SHIM,
    "anthropic": ARGO_ANTHROPIC_SHIM,
}
_SOURCE_SHIMS: dict[ClientFormat, ProviderShim] = {"google": GOOGLE_SOURCE_SHIM}
# B12: the shim's own limit is never loaded; ARGO's OpenAI layer has one.
_TOOL_DESCRIPTION_LIMITS: dict[UpstreamFormat, int] = {"openai_chat": ARGO_TOOL_DESCRIPTION_LIMIT}
# Before the library reads the client's body, by client format.
_BEFORE: dict[ClientFormat, Callable[[Body], Body]] = {"openai_responses": without_builtin_tools}
# After the library wrote ARGO's body, by ARGO format.
_AFTER: dict[UpstreamFormat, Callable[[Body], Body]] = {
    "openai_chat": gather_late_system_messages,  # B12
    "anthropic": join_tool_result_turns,
}
# On the events of a converted stream, by (client, ARGO) format.
_STREAM_FIXES: dict[tuple[ClientFormat, UpstreamFormat], Callable[[], _EventFix]] = {
    ("anthropic", "openai_chat"): AnthropicBlockFixer,  # B2
    ("openai_responses", "anthropic"): ResponsesDedup,  # B6
}
# B3: a client format whose stream ends with an event the converter must number.
_ERROR_EVENTS: dict[ClientFormat, Callable[[Any, str], Event]] = {
    "openai_responses": responses_failed
}
# Formats whose usage-only chunk the client must have asked for.
_USAGE_ON_REQUEST: frozenset[ClientFormat] = frozenset({"openai_chat"})


def _library_step(
    step: Callable[[Any], Any],
    arg: Any,
    failure: Callable[[Exception], ArgoProxyError],
    *,
    log_notes: bool = False,
) -> Any:
    """Run one llm-rosetta step: its errors become ours (the one boundary,
    docs/architecture.md#errors), and its `_provider_metadata` is stripped (B9). With
    `log_notes` (a request, once per request: catching warnings costs on the hot path),
    the fields it drops are logged (it reports them as warnings,
    docs/workarounds.md#dropped-fields). Sync, on the loop thread, as it must be."""
    try:
        if log_notes:
            with warnings.catch_warnings(record=True) as dropped:
                warnings.simplefilter("always")
                out = step(arg)
            for warning in dropped:
                log.info("conversion note: %s", warning.message)
        else:
            out = step(arg)
    except (ConversionError, ValueError, TypeError, LookupError, AttributeError) as exc:
        # The library trusts its input's shape: on a shape it does not expect it fails
        # with whatever Python raises (an AttributeError on a str, an IndexError ...).
        raise failure(exc) from exc
    strip_provider_metadata(out)
    return out


class Conversion:
    """One request's conversion, client format ↔ ARGO format; build one per request.

    `answer_model` is the name the client asked for, which its answers carry
    (docs/translation.md#model-names). With `thinking` (the thinking store, as this
    request's ARGO user sees it), Claude's signed thinking makes the round trip through
    a client format that has no place for it (thinking.py).
    """

    def __init__(
        self,
        source: ClientFormat,
        target: UpstreamFormat,
        model: str,
        family: Family,
        *,
        answer_model: str | None = None,
        thinking: UserThinking | None = None,
    ) -> None:
        self.source = source
        self.target = target
        self.model = model
        self.same_format = source == target
        self.answer_model = answer_model
        # Claude's thinking needs carrying only into formats that have no place for it.
        carries = target == "anthropic" and source in CARRIER_FORMATS
        self.thinking = thinking if carries else None
        if self.same_format:
            self._pipeline = ConversionPipeline(
                source, target, target_shim=_SAME_FORMAT_SHIMS[target], force_conversion=False
            )
        else:
            self._pipeline = ConversionPipeline(
                source,
                target,
                target_shim=_TARGET_SHIMS[target],
                source_shim=_SOURCE_SHIMS.get(source),
                upstream_model=model,
                max_tool_description_length=_TOOL_DESCRIPTION_LIMITS.get(target),
                # Codex's custom tools (apply_patch) only work natively on GPT models
                supports_custom_tools=family == "openai",
                hoist_system_messages=False,  # late system text is folded in instead (B12)
            )

    def request(self, body: Body) -> Body:
        """The body to send to ARGO. `body` must be ours to change (B10 mutates it)."""
        # shim transforms read the model (docs/workarounds.md#the-model-first)
        body["model"] = self.model
        before = _BEFORE.get(self.source)
        if before is not None:
            body = before(body)
        carried = take_carriers(self.source, body) if self.thinking is not None else {}
        out = dict(
            _library_step(
                self._pipeline.convert_request,
                body,
                lambda exc: ClientRequestError(f"Cannot convert this request for ARGO: {exc}"),
                log_notes=True,
            )
        )
        if not self.same_format:
            # The pipeline keeps its IR of the request for converting the answer, which
            # reads only its tools (llm-rosetta 0.13, `get_custom_tool_names`): drop the
            # messages, or a big request (an image, a long text) is held twice, in the IR
            # and in `out`, until the answer is done (bench/README.md, memory).
            self._pipeline.ir_request.pop("messages", None)
            out = _AFTER[self.target](out)
            if self.target == "openai_chat" and self.source == "anthropic":
                _drop_reasoning_text(out)
        if self.thinking is not None:
            restore(out, carried, self.thinking.get)
        return out

    def response(self, upstream_json: Body) -> Body:
        """ARGO's non-streamed answer, in the client's format."""
        accounting = usage_accounting_for(self.source, self.target)  # B7, B17
        if accounting is not None and isinstance(upstream_json, dict):
            accounting.upstream(upstream_json)
        blocks = self._keep_thinking(upstream_json)
        out: Body = _library_step(
            self._pipeline.convert_response,
            upstream_json,
            lambda exc: UpstreamError(f"ARGO's answer could not be converted: {exc}"),
        )
        annotate_answer(self.source, out, blocks)
        return accounting.client(out) if accounting is not None else out

    def _keep_thinking(self, answer: Any) -> tuple[dict[str, Any], ...]:
        """The signed thinking of a Claude answer, kept for its tool calls."""
        if self.thinking is None or not isinstance(answer, dict):
            return ()
        content = answer.get("content")
        blocks, ids = blocks_of(content), tool_ids_of(content)
        if blocks and ids:
            self.thinking.keep(ids, blocks)
        return blocks

    def stream(self, *, include_usage: bool) -> StreamConverter:
        return StreamConverter(self, include_usage=include_usage)

    def _processor(self) -> Any:
        return self._pipeline.create_stream_processor()


class StreamConverter:
    """Turns ARGO stream chunks into client-format events, with the workarounds."""

    def __init__(self, conversion: Conversion, *, include_usage: bool) -> None:
        self._source = conversion.source
        self._target = conversion.target
        self._proc = conversion._processor()
        fix = _STREAM_FIXES.get((conversion.source, conversion.target))
        self._fix = fix() if fix is not None else None
        self._accounting = usage_accounting_for(conversion.source, conversion.target)  # B7, B17
        # The library always emits a usage-only chunk; some clients get it only if asked.
        self._drop_usage_chunk = conversion.source in _USAGE_ON_REQUEST and not include_usage
        self._name = conversion.answer_model
        memory = conversion.thinking
        self._thinking = (
            StreamThinking(conversion.source, memory.keep, self._name or conversion.model)
            if memory is not None
            else None
        )

    @property
    def ended(self) -> bool:
        return bool(self._proc.source_context.is_ended)

    def feed(self, chunk: Event) -> list[Event]:
        if self._accounting is not None:
            self._accounting.upstream(chunk)
        if self._thinking is not None:
            self._thinking.upstream(chunk)
        events: list[Event] = _library_step(
            self._proc.process_chunk,
            chunk,
            lambda exc: UpstreamError(f"ARGO's stream could not be converted: {exc}"),
        )
        events = self._fixed(events)
        if self._thinking is not None:
            events = self._thinking.client(events)
        if self._name is not None:
            for event in events:
                rename_event(self._source, event, self._name)
        return events

    def finish(self) -> list[Event]:
        """B5: the upstream ended without its tail (usage chunk / message_stop): flush."""
        if self.ended:
            return []
        return self.feed(dict(STREAM_TAIL[self._target]))

    def error(self, status: int, message: str) -> list[Event]:
        """B3: the library drops in-band errors; the events that end the client's stream
        with one. Empty: the format's plain error event will do (formats/)."""
        event = _ERROR_EVENTS.get(self._source)
        return [event(self._proc.source_context, message)] if event is not None else []

    def _fixed(self, events: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in events:
            for item in self._fix.feed(event) if self._fix is not None else (event,):
                if self._drop_usage_chunk and is_usage_only_chunk(item):
                    continue
                out.append(self._accounting.client(item) if self._accounting else item)
        return out


_SAMPLE_REQUESTS: dict[ClientFormat, Body] = {
    "openai_chat": {"messages": [{"role": "user", "content": "hi"}]},
    "openai_responses": {"input": "hi"},
    "anthropic": {"max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
    "google": {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
}
_SAMPLE_ANSWERS: dict[UpstreamFormat, Body] = {
    "openai_chat": {
        "id": "chatcmpl-0",
        "object": "chat.completion",
        "model": "gpt4o",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
        ],
    },
    "anthropic": {
        "id": "msg_0",
        "type": "message",
        "role": "assistant",
        "model": "claudesonnet46",
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    },
}
_SAMPLE_MODELS: dict[UpstreamFormat, tuple[str, Family]] = {
    "openai_chat": ("gpt4o", "openai"),
    "anthropic": ("claudesonnet46", "anthropic"),
}


def _drop_reasoning_text(out: Body) -> None:
    """Claude's thinking blocks, which the library turns into `reasoning_content`, are
    Claude's own: signed for Claude, they are not GPT's input (docs/configuration.md#fallbacks)."""
    for message in out.get("messages") or ():
        if isinstance(message, dict) and message.get("role") == "assistant":
            message.pop("reasoning_content", None)


def warm_up() -> None:
    """Convert a request and an answer once for every pair of formats, so that the
    library's lazy imports and caches are filled at start and the first client's
    request is as fast as the hundredth (a few milliseconds, once)."""
    for source, request in _SAMPLE_REQUESTS.items():
        for target, answer in _SAMPLE_ANSWERS.items():
            model, family = _SAMPLE_MODELS[target]
            conversion = Conversion(source, target, model, family)
            conversion.request(dict(request))
            conversion.response(dict(answer))
            conversion.stream(include_usage=False)
