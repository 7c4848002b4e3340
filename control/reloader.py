"""Applying a config reload to a running daemon: the file re-read, the changed keys'
effects applied as daemon/effects.py lists them, all or nothing
(docs/control.md#hot-reload).

The steps that change something each leave their undo on one stack
(`contextlib.AsyncExitStack`): a step that fails unwinds those before it, newest
first, and the daemon keeps the config it had. Once the steps that can fail are done,
the stack is dropped and the rest (a model refresh, the record store, the log level)
follows.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from argo_proxy.daemon.access import AccessGuard
from argo_proxy.daemon.config import Config, load_config
from argo_proxy.daemon.effects import EFFECTS, RESTART_REASONS, effects_of
from argo_proxy.daemon.errors import ConfigError
from argo_proxy.daemon.keys import Effect
from argo_proxy.daemon.serving import bind_socket
from argo_proxy.daemon.state import DaemonState

from .http_listeners import HttpListeners, warn_if_reachable
from .record_storage import RecordStorage
from .reload import ReloadReport, Trigger, diff_configs

__all__ = ["Reloader"]

log = logging.getLogger(__name__)


class Reloader:
    """Re-reads the config file and applies it whole, or refuses it whole."""

    def __init__(
        self,
        state: DaemonState,
        overrides: Mapping[str, Any],
        listeners: HttpListeners,
        records: RecordStorage,
        spawn: Callable[[Awaitable[Any]], None],
    ) -> None:
        self._state = state
        self._overrides = overrides  # command-line options win over the file, as at start
        self._listeners = listeners
        self._records = records
        self._spawn = spawn

    def read_config(self) -> Config:
        source = self._state.config.source
        try:
            empty = source is not None and source.is_file() and source.stat().st_size == 0
        except OSError:
            empty = False  # load_config says what is wrong with it
        if empty:
            # Some editors truncate before they write: an empty file is a save in progress
            # far more often than a wish for every default.
            raise ConfigError(f"{source}: the file is empty (a save in progress?)")
        return load_config(source, overrides=self._overrides)

    async def reload(self, trigger: Trigger) -> ReloadReport:
        old = self._state.config
        path = str(old.source.absolute()) if old.source else None
        now = time.time()
        try:
            new = self.read_config()
        except ConfigError as exc:
            log.error("config not reloaded: %s (the last good config stays)", exc.message)
            return ReloadReport(False, trigger, now, path, exc.message)
        except Exception as exc:  # a bug in reading: still refused, and reported as one
            log.exception("config not reloaded: reading %s failed (the last good one stays)", path)
            message = f"{path}: the file could not be read ({type(exc).__name__}: {exc})"
            return ReloadReport(False, trigger, now, path, message)
        # Started without a file, the daemon looks for one again: the report names the
        # file it read (None: still none, the built-in defaults).
        path = str(new.source.absolute()) if new.source else None
        for note in new.notes:
            log.info("config: %s", note)
        changes = diff_configs(old, new)
        if not changes:
            return ReloadReport(True, trigger, now, path, "no setting changed")
        keys = {change.key for change in changes}
        effects = effects_of(keys)
        restart = [key for key in sorted(keys) if "restart" in EFFECTS[key]]
        try:
            actions = await self._apply(new, effects, restart)
        except ConfigError as exc:
            log.error("config not reloaded: %s (the last good config stays)", exc.message)
            return ReloadReport(False, trigger, now, path, exc.message)
        except Exception as exc:  # a bug in applying: undone, refused, reported as one
            log.exception("config not reloaded: applying it failed (the last good one stays)")
            message = f"{path}: the config could not be applied ({type(exc).__name__}: {exc})"
            return ReloadReport(False, trigger, now, path, message)
        for key in restart:
            why = RESTART_REASONS.get(key, "the listener keeps its address until a restart")
            log.warning("config: `%s` takes effect after a restart (%s)", key, why)
        log.info("config reloaded (%s): %s changed", trigger, ", ".join(sorted(keys)))
        message = f"applied: {', '.join(change.key for change in changes)}"
        return ReloadReport(
            True, trigger, now, path, message, changes, tuple(restart), tuple(actions)
        )

    async def _apply(self, new: Config, effects: set[Effect], restart: list[str]) -> list[str]:
        """Apply `new`; says what it did. Raises (with every step undone) if it cannot."""
        state, actions = self._state, []
        async with contextlib.AsyncExitStack() as undo:
            access = AccessGuard.from_config(new) if "access" in effects else None
            sock = self._bind(new, restart) if "rebind" in effects and new.tcp else None
            if sock is not None:
                undo.callback(sock.close)
            old_config, old_access = state.config, state.access
            state.apply_config(new, access)  # the swap: requests see the new config
            undo.callback(state.apply_config, old_config, old_access if access else None)
            if sock is not None:
                actions.append(await self._listeners.switch(sock))
            undo.pop_all()  # the steps that can fail are done: keep them all
        if sock is not None:
            warn_if_reachable(new)
        if access is not None:
            actions.append(f"access: auth {new.auth}")
        if "models" in effects:
            self._spawn(state.refresh_models())
            actions.append("refreshing the model list")
        if "store" in effects:
            actions.append(await self._records.apply_retention(new.log_retention_days))
        if "log_level" in effects:
            logging.getLogger().setLevel(logging.DEBUG if new.verbose else logging.INFO)
            actions.append(f"log level {'DEBUG' if new.verbose else 'INFO'}")
        return actions

    def _bind(self, new: Config, restart: list[str]) -> socket.socket | None:
        """A socket on the new address; None when only the host changed and our own
        listener holds the port (added to `restart`). ConfigError when it is taken."""
        try:
            return bind_socket(new.host, new.port)
        except OSError as exc:
            current = self._listeners.tcp
            if exc.errno == errno.EADDRINUSE and current and new.port == current.port:
                # Only the host changed and our own listener holds the port: moving
                # would mean a moment with no listener at all, so it waits for a restart.
                restart.append("host")
                return None
            still = current.url if current else None
            raise ConfigError(
                f"cannot listen on {new.host}:{new.port}: {exc.strerror or exc}; "
                f"still listening on {still}"
            ) from exc
