"""The daemon's shared runtime state: config, model registry, upstream client, counters.

Every request reads `state.config` once at its start and keeps that object, so a
reload (an atomic swap of the attribute) never changes a request in flight.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from . import __version__
from .config import Config
from .models import ModelRegistry, RefreshResult
from .routing import models_url
from .upstream import Upstream

__all__ = ["Counters", "DaemonState"]


@dataclass
class Counters:
    requests: int = 0
    active_streams: int = 0
    errors: int = 0


class DaemonState:
    """What every handler shares; built once per daemon."""

    def __init__(self, config: Config, *, registry: ModelRegistry | None = None) -> None:
        self.config = config
        self.legacy = config.use_legacy_argo
        self.registry = registry or ModelRegistry()
        self.user_agent = f"argo-proxy/{__version__}"
        self.upstream = Upstream(
            connect_timeout=config.connect_timeout,
            read_timeout=config.request_timeout,
            user_agent=self.user_agent,
        )
        self.counters = Counters()
        self.started_at = time.time()
        self.last_refresh: RefreshResult | None = None

    async def fetch_models(self) -> Any:
        """GET the upstream model list (no credentials: argo-upstream.md §2.1)."""
        return await self.upstream.get_json(models_url(self.config), timeout=30)

    async def refresh_models(self) -> RefreshResult:
        result = await self.registry.refresh(self.fetch_models)  # logs its own result
        self.last_refresh = result
        return result

    def apply_config(self, config: Config) -> list[str]:
        """Swap in a new config; return the names of the settings that changed."""
        old = self.config
        changed = [
            f.name
            for f in dataclasses.fields(Config)
            if f.compare and getattr(old, f.name) != getattr(config, f.name)
        ]
        self.config = config
        if "use_legacy_argo" in changed:
            self.legacy = config.use_legacy_argo
        return changed

    async def aclose(self) -> None:
        await self.upstream.aclose()
