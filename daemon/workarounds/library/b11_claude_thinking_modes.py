"""B11 (llm-rosetta 0.13): the ARGO Anthropic shim turns a client's reasoning effort into
`adaptive` thinking for Claude 4.5 models, which accept only `enabled`, and into no
thinking at all for `claudehaiku45` and `claudesonnet4`
(docs/workarounds.md#b11-claude-thinking-modes). For those models the shim here maps
the effort to `enabled` with a budget of 0.8 × `max_tokens`. What ARGO accepts on every
path (no budget beside `adaptive`; `enabled` only for these models) is ARGO's rule
(`workarounds/argo_rules.py`), not repeated here."""

from __future__ import annotations

import dataclasses

from llm_rosetta import ProviderShim

from .shims import builtin_shim

__all__ = ["ARGO_ANTHROPIC_SHIM"]

_ENABLED_ONLY_MODELS = (
    "claudeopus45",
    "claudesonnet45",
    "claudehaiku45",
    "claudesonnet4",
    "claudeopus41",
)


def _shim() -> ProviderShim:
    base = builtin_shim("argo--anthropic")
    if base.reasoning is None:  # pragma: no cover - set for ARGO's Anthropic shim in 0.13
        raise RuntimeError("llm-rosetta's argo--anthropic shim has no reasoning settings")
    enabled_only = dataclasses.replace(
        base.reasoning,
        thinking_modes={"auto": "enabled", "enabled": "enabled", "disabled": "disabled"},
        budget_ratio=0.8,
    )
    per_model = dict(base.model_reasoning or {})
    for model in _ENABLED_ONLY_MODELS:
        per_model[model] = enabled_only
    return dataclasses.replace(base, name="argo-proxy--anthropic", model_reasoning=per_model)


ARGO_ANTHROPIC_SHIM = _shim()
