"""Every config key says what changing it does (daemon/effects.py), so none is accepted
and then never read; and what a reload does follows that table."""

from __future__ import annotations

import dataclasses

from argo_proxy.daemon.config import Config
from argo_proxy.daemon.effects import EFFECTS, RESTART_REASONS


def test_every_config_key_has_its_effects() -> None:
    keys = {f.name for f in dataclasses.fields(Config) if f.compare}
    assert set(EFFECTS) == keys, "give each new key its effects in daemon/effects.py"


def test_every_key_a_restart_applies_says_why() -> None:
    restart = {key for key, effects in EFFECTS.items() if "restart" in effects}
    assert restart == set(RESTART_REASONS)
