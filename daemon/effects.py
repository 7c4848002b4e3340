"""What a change of each config key does to a running daemon, as the keys declare it.

Each key's effects are part of its one declaration in daemon/config.py (`setting(...,
effects=...)`), so no key is accepted and then never read. A reload
(control/runtime.py) acts on the effects of the keys that changed; docs/configuration.md
tells users the same. The tables here are views of those declarations.
"""

from __future__ import annotations

from collections.abc import Mapping

from .config import KEYS
from .keys import Effect

__all__ = ["EFFECTS", "RESTART_REASONS", "Effect", "effects_of"]

EFFECTS: Mapping[str, tuple[Effect, ...]] = {name: spec.effects for name, spec in KEYS.items()}

# Why each "restart" key waits for a restart (a reload reports it).
RESTART_REASONS: Mapping[str, str] = {
    name: spec.restart for name, spec in KEYS.items() if spec.restart
}


def effects_of(keys: set[str]) -> set[Effect]:
    return {effect for key in keys for effect in EFFECTS[key]}
