"""Switching the running daemon's ARGO environment (`config.setEnvironment`): the
config file edited to point at it (control/config_edit.py), then reloaded at once,
without waiting for the watcher (docs/control.md#switching-environment).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from argo_proxy.daemon.config import Config, override_of
from argo_proxy.daemon.errors import ConfigError

from .config_edit import EnvironmentSwitch, switch_environment
from .reload import ReloadReport, Trigger

__all__ = ["set_environment"]


async def set_environment(
    config: Config,
    overrides: Mapping[str, Any],
    env: str,
    reload_lock: asyncio.Lock,
    reload: Callable[[Trigger], Awaitable[ReloadReport]],
) -> EnvironmentSwitch:
    """Point the daemon's config file at ARGO's `env` environment and apply it now.

    Raises ConfigError when there is no file to edit, when an option or environment
    variable would keep the old URL anyway, when the file cannot be written, or when
    the daemon refuses the edited file (the reload undid its own steps).
    """
    source = config.source
    if source is None:
        raise ConfigError(
            "the daemon runs on built-in defaults, without a config file, so there is "
            "no file to switch: create one with `argo-proxy config init` and start the "
            "daemon with it"
        )
    beaten = override_of("argo_base_url", overrides)
    if beaten is not None:
        raise ConfigError(
            f"the daemon's `argo_base_url` comes from its {beaten}, which wins over the "
            f"config file; {source} was left as it is (restart the daemon without it)"
        )
    async with reload_lock:  # not while a reload reads the file
        switch = await asyncio.to_thread(switch_environment, source, env)
    if switch.changed:
        report = await reload("rpc")
        if not report.ok:
            raise ConfigError(
                f"{source} now points at {env}, but the daemon refused the file: {report.message}"
            )
    return switch
