"""What a config reload changed, and the report of it: pure data, no I/O.

The runtime builds a candidate `Config`, asks `diff_configs` what differs, and acts on
the effects of the keys that changed, as one table says (daemon/effects.py), so a
reload touches only what changed (docs/control.md#hot-reload).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from argo_proxy.daemon.config import Config

__all__ = ["Change", "ReloadReport", "Trigger", "diff_configs"]

Trigger = Literal["watch", "rpc"]


@dataclass(frozen=True)
class Change:
    """One setting that differs, with values as `config.get` shows them (no username)."""

    key: str
    old: Any
    new: Any


@dataclass(frozen=True)
class ReloadReport:
    """The outcome of one reload, as `config.reload`, `status` and the notifications tell it."""

    ok: bool
    trigger: Trigger
    at: float  # time.time()
    path: str | None
    message: str
    changes: tuple[Change, ...] = ()
    restart_needed: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()

    @property
    def changed_keys(self) -> frozenset[str]:
        return frozenset(change.key for change in self.changes)


def diff_configs(old: Config, new: Config) -> tuple[Change, ...]:
    """The settings that differ between two configs, in declaration order."""
    old_public, new_public = old.public_dict(), new.public_dict()
    return tuple(
        Change(f.name, old_public.get(f.name), new_public.get(f.name))
        for f in dataclasses.fields(Config)
        if f.compare and getattr(old, f.name) != getattr(new, f.name)
    )
