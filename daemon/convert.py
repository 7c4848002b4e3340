"""The llm-rosetta glue: the only module that imports the library.

Same-format requests run through a `ConversionPipeline` with `force_conversion=False`
and ARGO's shim, which applies only ARGO's body fixes (developer→system, null
content→"", max_tokens→max_completion_tokens, Gemini system flattening) and the
Anthropic "OpenAI-shaped reply" repair (spec/llm-rosetta.md §0 rule 3, §7.2–7.3).
Never import `llm_rosetta.gateway` or `llm_rosetta._vendor` (§11 B1: they hijack sys.path).
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from llm_rosetta import ConversionError, ConversionPipeline

from .errors import ClientRequestError, UpstreamError
from .formats import ClientFormat, UpstreamFormat

__all__ = ["Conversion"]

log = logging.getLogger(__name__)

_SHIMS: dict[UpstreamFormat, str] = {
    "openai_chat": "argo--openai_chat",
    "anthropic": "argo--anthropic",
}


def _strip_provider_metadata(obj: Any) -> None:
    """Delete llm-rosetta's internal `_provider_metadata` keys in place (§11 B9)."""
    if isinstance(obj, dict):
        obj.pop("_provider_metadata", None)
        for value in obj.values():
            _strip_provider_metadata(value)
    elif isinstance(obj, list):
        for value in obj:
            _strip_provider_metadata(value)


class Conversion:
    """One request's conversion, client format ↔ ARGO format; build one per request."""

    def __init__(self, source: ClientFormat, target: UpstreamFormat, model: str) -> None:
        self.source = source
        self.target = target
        self.same_format = source == target
        if not self.same_format:
            raise ClientRequestError(
                f"Translating {source} requests for {target} models is not available yet.",
                status=501,
            )
        self._pipeline = ConversionPipeline(
            source, target, target_shim=_SHIMS[target], force_conversion=False
        )
        self.model = model

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body to send to ARGO. `body` must be ours to change (B10 mutates it)."""
        body["model"] = self.model  # shim transforms read the model (llm-rosetta.md §0 rule 2)
        try:
            with warnings.catch_warnings(record=True) as dropped:
                warnings.simplefilter("always")
                out = dict(self._pipeline.convert_request(body))
        except ConversionError as exc:
            raise ClientRequestError(f"Cannot read this request: {exc}") from exc
        for warning in dropped:
            log.info("conversion note: %s", warning.message)
        _strip_provider_metadata(out)
        return out

    def response(self, upstream_json: dict[str, Any]) -> dict[str, Any]:
        """ARGO's non-streamed answer, in the client's format."""
        try:
            with warnings.catch_warnings(record=True):
                warnings.simplefilter("always")
                out = self._pipeline.convert_response(upstream_json)
        except ConversionError as exc:
            raise UpstreamError(f"ARGO's answer could not be read: {exc}") from exc
        _strip_provider_metadata(out)
        return out
