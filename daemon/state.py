"""The daemon's shared runtime state: config, model registry, upstream client, counters.

Every request reads `state.config` (and `state.legacy`) once at its start and keeps
that value, so a reload (an atomic swap of the attribute) never changes a request in
flight. Whoever needs to hear about a change — the control plane's notifications —
subscribes here: `daemon/` never imports `control/`
(docs/architecture.md#dependency-direction).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from . import __version__
from .access import AccessGuard, write_new_token
from .breakers import Breakers
from .config import Config
from .dumps import DumpWriter
from .effects import effects_of
from .limits import BodyBudget
from .listeners import Listeners
from .models import CatalogSource, ModelRegistry, RefreshResult
from .request_log import RequestLog
from .routing import models_url
from .thinking import ThinkingStore
from .upstream import Upstream

__all__ = [
    "ConfigReloaded",
    "Counters",
    "DaemonState",
    "LegacyChanged",
    "ModelsRefreshed",
    "StateEvent",
    "StateListener",
    "TokenChanged",
]


@dataclass
class Counters:
    requests: int = 0
    active_streams: int = 0
    errors: int = 0


@dataclass(frozen=True)
class ModelsRefreshed:
    """A model list refresh ended (well or not), whoever started it."""

    result: RefreshResult
    source: CatalogSource  # what the registry serves now: "upstream" or "builtin"
    at: float


@dataclass(frozen=True)
class LegacyChanged:
    """The legacy flag was switched; `reason` says by what (`legacy.set`, `config`)."""

    enabled: bool
    reason: str


@dataclass(frozen=True)
class TokenChanged:
    """The access token (or whether one is needed) changed; clients fetch it again."""

    token_file: str
    reason: str  # "rotated", or "config" for a reload of `auth`/`token_file`


@dataclass(frozen=True)
class ConfigReloaded:
    """A reload of the config file ended: applied (`ok`), or refused whole."""

    ok: bool
    trigger: str  # what asked for it: "watch" (the file changed) or "rpc"
    message: str


StateEvent = ModelsRefreshed | LegacyChanged | TokenChanged | ConfigReloaded
StateListener = Callable[[StateEvent], None]


class _ReportingRegistry(ModelRegistry):
    """A registry that reports every refresh, including its own periodic ones.

    `ModelRegistry.run_periodic` calls `self.refresh`, so overriding it here is the one
    place that sees timer, HTTP and RPC refreshes alike.
    """

    def __init__(self, report: Callable[[RefreshResult], None]) -> None:
        super().__init__()
        self._report = report

    async def refresh(self, fetch: Callable[[], Awaitable[Any]]) -> RefreshResult:
        result = await super().refresh(fetch)
        self._report(result)
        return result


class DaemonState:
    """What every handler shares; built once per daemon."""

    def __init__(
        self,
        config: Config,
        *,
        registry: ModelRegistry | None = None,
        access: AccessGuard | None = None,
        upstream: Upstream | None = None,
    ) -> None:
        self.config = config
        # Reads (or creates) the token file: a ConfigError here stops the start.
        self.access = access or AccessGuard.from_config(config)
        self.legacy = config.use_legacy_argo
        self.registry = registry or _ReportingRegistry(self._note_refresh)
        self.user_agent = f"argo-proxy/{__version__}"
        # The one client towards ARGO; a test may hand in another (a scripted one).
        self.upstream = upstream or Upstream(
            connect_timeout=config.connect_timeout,
            read_timeout=config.request_timeout,
            user_agent=self.user_agent,
            retries=config.retries,
            pool_size=config.upstream_pool_size,
            resolve_overrides=config.resolve_overrides,
        )
        self.counters = Counters()
        self.requests = RequestLog(config.log_size)  # docs/observability.md
        self.dumps = DumpWriter()  # used while `dump_requests` is on
        # Claude's thinking of the tool turns relayed, for clients that drop it
        # (docs/translation.md#thinking); in memory only, gone with the process
        self.thinking = ThinkingStore()
        # request body bytes being read at once, by every listener (docs/security.md#limits)
        self.body_budget = BodyBudget()
        # each ARGO model's circuit breaker (breakers.py): in memory, kept across reloads
        self.breakers = Breakers()
        self.started_at = time.time()
        self.last_refresh: RefreshResult | None = None
        self.last_refresh_at: float | None = None
        self._listeners: Listeners[StateEvent] = Listeners("state event")

    # ------------------------------------------------------------------ listeners

    def subscribe(self, listener: StateListener) -> Callable[[], None]:
        """Call `listener` on every StateEvent; returns a function that unsubscribes."""
        return self._listeners.subscribe(listener)

    def _emit(self, event: StateEvent) -> None:
        self._listeners.notify(event)

    # --------------------------------------------------------------------- models

    async def fetch_models(self) -> Any:
        """GET the upstream model list (no credentials: docs/argo.md#identity)."""
        timeout = self.config.connection_test_timeout
        return await self.upstream.get_json(models_url(self.config), timeout=timeout)

    async def refresh_models(self) -> RefreshResult:
        result = await self.registry.refresh(self.fetch_models)  # logs its own result
        self._note_refresh(result)
        return result

    def _note_refresh(self, result: RefreshResult) -> None:
        # Concurrent callers share one fetch and get the same result object: report it once.
        if result is self.last_refresh:
            return
        self.last_refresh = result
        self.last_refresh_at = time.time()
        self._emit(ModelsRefreshed(result, self.registry.catalog.source, self.last_refresh_at))

    # ---------------------------------------------------------------- live settings

    def set_legacy(self, enabled: bool, reason: str) -> bool:
        """Switch legacy mode for the next request; return whether it changed."""
        if enabled == self.legacy:
            return False
        self.legacy = enabled
        self._emit(LegacyChanged(enabled, reason))
        return True

    def rotate_token(self) -> str:
        """Write a new access token and require it from the next request on."""
        token = write_new_token(self.config.token_path)
        self.access = AccessGuard(self.config, token)
        self._emit(TokenChanged(str(self.config.token_path), "rotated"))
        return token

    def apply_config(self, config: Config, access: AccessGuard | None = None) -> list[str]:
        """Swap in a new config; return the names of the settings that changed.

        Parts that keep a copy of a setting are updated here too: the access guard
        (built by the caller beforehand, as reading the token file may fail), the
        upstream client's timeouts (a request in flight keeps the ones it started
        with) and the legacy flag, which follows the file only when the file's value
        changed.
        """
        old = self.config
        changed = [
            f.name
            for f in dataclasses.fields(Config)
            if f.compare and getattr(old, f.name) != getattr(config, f.name)
        ]
        self.config = config
        if access is not None:
            old_access, self.access = self.access, access
            if (old_access.auth, old_access.token) != (access.auth, access.token):
                self._emit(TokenChanged(str(config.token_path), "config"))
        effects = effects_of(set(changed))
        if "upstream" in effects:
            self.upstream.connect_timeout = config.connect_timeout
            self.upstream.read_timeout = config.request_timeout
            self.upstream.retries = config.retries
        if "legacy" in effects:
            self.set_legacy(config.use_legacy_argo, "config")
        if "records" in effects:
            self.requests.resize(config.log_size)
        return changed

    def note_reload(self, ok: bool, trigger: str, message: str) -> None:
        """The runtime reloaded the config file, or refused to (control/runtime.py)."""
        self._emit(ConfigReloaded(ok, trigger, message))

    async def aclose(self) -> None:
        await self.upstream.aclose()
        await asyncio.to_thread(self.dumps.close)  # the dumps still queued are written
