"""llm-rosetta's own ARGO shims: the OpenAI one used as it is, the Anthropic one the
base of B11's (`b11_claude_thinking_modes.py`)."""

from __future__ import annotations

from llm_rosetta import ProviderShim, get_shim

__all__ = ["ARGO_OPENAI_SHIM", "builtin_shim"]


def builtin_shim(name: str) -> ProviderShim:
    shim = get_shim(name)
    if shim is None:  # pragma: no cover - llm-rosetta 0.13 registers both ARGO shims
        raise RuntimeError(f"llm-rosetta has no {name!r} shim; argo-proxy needs 0.13")
    return shim


ARGO_OPENAI_SHIM = builtin_shim("argo--openai_chat")
