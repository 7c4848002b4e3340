"""llm-rosetta's own ARGO shims, used as they are. What they get wrong for ARGO's Claude
thinking modes (B11) is put right by ARGO's rules, which run on every path
(`workarounds/argo_rules.py`; docs/workarounds.md#b11-claude-thinking-modes)."""

from __future__ import annotations

from llm_rosetta import ProviderShim, get_shim

__all__ = ["ARGO_ANTHROPIC_SHIM", "ARGO_OPENAI_SHIM", "builtin_shim"]


def builtin_shim(name: str) -> ProviderShim:
    shim = get_shim(name)
    if shim is None:  # pragma: no cover - llm-rosetta 0.13 registers both ARGO shims
        raise RuntimeError(f"llm-rosetta has no {name!r} shim; argo-proxy needs 0.13")
    return shim


ARGO_OPENAI_SHIM = builtin_shim("argo--openai_chat")
ARGO_ANTHROPIC_SHIM = builtin_shim("argo--anthropic")
