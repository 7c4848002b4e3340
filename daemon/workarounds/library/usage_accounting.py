"""The usage fixes of one converted answer, B7 (cached tokens) and B17 (reasoning
tokens), as one: `convert.py` feeds it ARGO's events and the client's
(docs/workarounds.md#b7-cached-token-usage, #b17-reasoning-token-usage)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from .b7_cached_token_usage import cache_accounting_for
from .b17_reasoning_token_usage import reasoning_accounting_for

__all__ = ["UsageAccounting", "usage_accounting_for"]

Event = dict[str, Any]


class _Fix(Protocol):
    def upstream(self, event: Mapping[str, Any]) -> None: ...
    def client(self, event: Event) -> Event: ...


class UsageAccounting:
    """Hands each event to every fix the pair of formats needs."""

    def __init__(self, fixes: tuple[_Fix, ...]) -> None:
        self._fixes = fixes

    def upstream(self, event: Mapping[str, Any]) -> None:
        for fix in self._fixes:
            fix.upstream(event)

    def client(self, event: Event) -> Event:
        for fix in self._fixes:
            event = fix.client(event)
        return event


def usage_accounting_for(source: str, target: str) -> UsageAccounting | None:
    """The usage fixes a (client, ARGO) format pair needs, or None."""
    fixes = tuple(
        fix
        for fix in (cache_accounting_for(source, target), reasoning_accounting_for(source, target))
        if fix is not None
    )
    return UsageAccounting(fixes) if fixes else None
