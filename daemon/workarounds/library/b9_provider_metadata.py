"""B9 (llm-rosetta 0.13): the library leaves its internal `_provider_metadata` keys in
what it converts, and they would reach ARGO (docs/workarounds.md#b9-provider-metadata-leak)."""

from __future__ import annotations

from typing import Any

__all__ = ["strip_provider_metadata"]


def strip_provider_metadata(obj: Any) -> None:
    """B9: delete the library's internal `_provider_metadata` keys, in place."""
    if isinstance(obj, dict):
        obj.pop("_provider_metadata", None)
        for value in obj.values():
            strip_provider_metadata(value)
    elif isinstance(obj, list):
        for value in obj:
            strip_provider_metadata(value)
