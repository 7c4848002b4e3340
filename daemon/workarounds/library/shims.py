"""llm-rosetta's own ARGO shims, used as they are. What the Anthropic one makes of a
reasoning setting (B11, docs/workarounds.md#b11-claude-thinking-modes) the effort table
(`reasoning.py`) writes again, after the conversion."""

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
