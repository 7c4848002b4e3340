"""The llm-rosetta glue: the only module (with its workarounds) that uses the library.

Same format on both sides: a `ConversionPipeline` with `force_conversion=False` and
ARGO's shim applies only ARGO's body fixes (developer→system, null content→"",
max_tokens→max_completion_tokens, Gemini system flattening) and the Anthropic
"OpenAI-shaped reply" repair (docs/workarounds.md#same-format-requests).
Different formats: the full request → IR → target conversion, and back, with the workarounds from
`rosetta_fixes.py` (docs/workarounds.md#llm-rosetta-013). Never import `llm_rosetta.gateway` or
`llm_rosetta._vendor` (they hijack sys.path: docs/workarounds.md#b1-vendored-imports).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any

from llm_rosetta import ConversionError, ConversionPipeline

from .errors import ArgoProxyError, ClientRequestError, UpstreamError
from .formats import ClientFormat, UpstreamFormat
from .models import Family
from .rosetta_fixes import (
    ARGO_ANTHROPIC_SHIM,
    ARGO_OPENAI_SHIM,
    GOOGLE_SOURCE_SHIM,
    AnthropicBlockFixer,
    ResponsesDedup,
    gather_late_system_messages,
    join_tool_result_turns,
    strip_provider_metadata,
)

__all__ = ["Conversion", "StreamConverter"]

log = logging.getLogger(__name__)

Event = dict[str, Any]

_SAME_FORMAT_SHIMS: dict[UpstreamFormat, str] = {
    "openai_chat": "argo--openai_chat",
    "anthropic": "argo--anthropic",
}
# Responses tools that are functions; built-in ones (web_search, …) would become empty function
# tools ARGO cannot run (docs/workarounds.md#responses-built-in-tools), so they are left out.
_RESPONSES_TOOL_TYPES = ("function", "custom")


def _without_builtin_tools(body: dict[str, Any]) -> dict[str, Any]:
    tools = body.get("tools")
    if not isinstance(tools, list):
        return body
    kept = [t for t in tools if isinstance(t, dict) and t.get("type") in _RESPONSES_TOOL_TYPES]
    if len(kept) != len(tools):
        dropped = [t.get("type") for t in tools if isinstance(t, dict) and t not in kept]
        log.info("leaving out built-in Responses tools ARGO cannot run: %s", dropped)
    return {**body, "tools": kept} if kept else {k: v for k, v in body.items() if k != "tools"}


def _library_step(
    step: Callable[[Any], Any],
    arg: Any,
    failure: Callable[[Exception], ArgoProxyError],
    *,
    log_notes: bool = False,
) -> Any:
    """Run one llm-rosetta step: its errors become ours (the one boundary,
    docs/architecture.md#errors), the fields it drops are logged (it reports them as warnings,
    docs/workarounds.md#dropped-fields), and its `_provider_metadata` is stripped (B9). Sync, on
    the loop thread, as it must be."""
    try:
        with warnings.catch_warnings(record=True) as dropped:
            warnings.simplefilter("always")
            out = step(arg)
    except (ConversionError, ValueError, TypeError, LookupError, AttributeError) as exc:
        # The library trusts its input's shape: on a shape it does not expect it fails
        # with whatever Python raises (an AttributeError on a str, an IndexError ...).
        raise failure(exc) from exc
    if log_notes:
        for warning in dropped:
            log.info("conversion note: %s", warning.message)
    strip_provider_metadata(out)
    return out


class Conversion:
    """One request's conversion, client format ↔ ARGO format; build one per request."""

    def __init__(
        self, source: ClientFormat, target: UpstreamFormat, model: str, family: Family
    ) -> None:
        self.source = source
        self.target = target
        self.model = model
        self.same_format = source == target
        if self.same_format:
            self._pipeline = ConversionPipeline(
                source, target, target_shim=_SAME_FORMAT_SHIMS[target], force_conversion=False
            )
        else:
            is_openai = target == "openai_chat"
            self._pipeline = ConversionPipeline(
                source,
                target,
                target_shim=ARGO_OPENAI_SHIM if is_openai else ARGO_ANTHROPIC_SHIM,
                source_shim=GOOGLE_SOURCE_SHIM if source == "google" else None,
                upstream_model=model,
                # B12: the shim's own limit is never loaded; ARGO's OpenAI layer caps at 1024
                max_tool_description_length=1024 if is_openai else None,
                # Codex's custom tools (apply_patch) only work natively on GPT models
                supports_custom_tools=family == "openai",
                hoist_system_messages=False,  # late system text is folded in instead (B12)
            )

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body to send to ARGO. `body` must be ours to change (B10 mutates it)."""
        # shim transforms read the model (docs/workarounds.md#the-model-first)
        body["model"] = self.model
        if self.source == "openai_responses":
            body = _without_builtin_tools(body)
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
            fix = (
                gather_late_system_messages
                if self.target == "openai_chat"
                else join_tool_result_turns
            )
            out = fix(out)
        return out

    def response(self, upstream_json: dict[str, Any]) -> dict[str, Any]:
        """ARGO's non-streamed answer, in the client's format."""
        out: dict[str, Any] = _library_step(
            self._pipeline.convert_response,
            upstream_json,
            lambda exc: UpstreamError(f"ARGO's answer could not be converted: {exc}"),
        )
        return out

    def stream(self, *, include_usage: bool) -> StreamConverter:
        return StreamConverter(self, include_usage=include_usage)

    def _processor(self) -> Any:
        return self._pipeline.create_stream_processor()


class StreamConverter:
    """Turns ARGO stream chunks into client-format events, with the fixes of docs/workarounds.md."""

    def __init__(self, conversion: Conversion, *, include_usage: bool) -> None:
        self._source = conversion.source
        self._target = conversion.target
        self._proc = conversion._processor()
        pair = (conversion.source, conversion.target)
        self._blocks = AnthropicBlockFixer() if pair == ("anthropic", "openai_chat") else None
        self._dedup = ResponsesDedup() if pair == ("openai_responses", "anthropic") else None
        # The library always emits an OpenAI usage-only chunk; send it only if asked.
        self._drop_usage_chunk = conversion.source == "openai_chat" and not include_usage

    @property
    def ended(self) -> bool:
        return bool(self._proc.source_context.is_ended)

    def feed(self, chunk: Event) -> list[Event]:
        events: list[Event] = _library_step(
            self._proc.process_chunk,
            chunk,
            lambda exc: UpstreamError(f"ARGO's stream could not be converted: {exc}"),
        )
        return self._fix(events)

    def finish(self) -> list[Event]:
        """B5: the upstream ended without its tail (usage chunk / message_stop): flush."""
        if self.ended:
            return []
        tail: Event = {"choices": []} if self._target == "openai_chat" else {"type": "message_stop"}
        return self.feed(tail)

    def error(self, status: int, message: str) -> list[Event]:
        """B3: the library drops in-band errors; the client gets its format's error event."""
        if self._source == "openai_responses":
            context = self._proc.source_context
            response_id = getattr(context, "outbound_response_id", None) or "resp_error"
            return [
                {
                    "type": "response.failed",
                    "sequence_number": getattr(context, "next_sequence_number", 0),
                    "response": {
                        "id": response_id,
                        "object": "response",
                        "status": "failed",
                        "error": {"code": "server_error", "message": message},
                        "output": [],
                    },
                }
            ]
        return []  # the other formats' error events are plain envelopes (formats.py)

    def _fix(self, events: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in events:
            fixed = self._blocks.feed(event) if self._blocks else [event]
            for item in fixed:
                if self._dedup is not None and not self._dedup.keep(item):
                    continue
                if self._drop_usage_chunk and item.get("choices") == [] and "usage" in item:
                    continue
                out.append(item)
        return out
