"""What a config reload changes, and what each change needs: pure data, no I/O.

The runtime builds a candidate `Config`, asks `diff_configs` what differs, and acts on
the keys listed here: the parts that depend on config are listed in one place, so a
reload touches only what changed (docs/control.md#hot-reload). Every other key is read
per request from `state.config`, so swapping the config is all it takes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from argo_proxy.daemon.config import Config

__all__ = [
    "ACCESS_KEYS",
    "REBIND_KEYS",
    "REFRESH_KEYS",
    "RESTART_KEYS",
    "Change",
    "ReloadReport",
    "Trigger",
    "diff_configs",
]

Trigger = Literal["watch", "rpc"]

# A new listen address: the runtime opens a listener there and lets the old one drain.
REBIND_KEYS = frozenset({"host", "port"})
# Who may use the daemon: a new access guard (token file read first, so a reload whose
# token file cannot be read is refused whole).
ACCESS_KEYS = frozenset({"auth", "token_file", "allowed_hosts", "allowed_origins", "host"})
# Another ARGO, or another ARGO user: the model list may differ.
REFRESH_KEYS = frozenset({"argo_base_url", "native_openai_base_url", "user"})
# Fixed when a listener starts (Sanic reads it per listener): applied at the next start
# or the next change of `port`/`host`, and reported as needing a restart meanwhile.
RESTART_KEYS: Mapping[str, str] = {
    "max_body_mb": "the body size limit is fixed when the HTTP listener starts",
    "socket": "the Unix socket listener is opened at start",
    "tcp": "the TCP listener is opened or left closed at start",
    "upstream_pool_size": "the connection pool to ARGO is built at start",
}


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
