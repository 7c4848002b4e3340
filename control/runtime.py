"""One process, one event loop: the HTTP server, the control channels and the config
watcher, started and stopped together (docs/architecture.md#one-process-one-loop).

`Runtime.startup()` takes the control socket (the instance lock), binds the HTTP port
and serves before the model list is fetched (the built-in list answers until the fetch
lands); `serve()` waits for a stop request; `shutdown()` undoes startup in reverse
order. SIGINT, SIGTERM, the `shutdown` method and EOF on stdin all call
`request_stop()`; a second request while stopping cuts the grace period short.

The lifecycle is one `contextlib.AsyncExitStack`: each part pushes its stop as it
starts, so a start that fails half-way and a shutdown unwind the same steps, newest
first. The parts live in their own modules: where the HTTP API listens
(http_listeners.py), the record store (record_storage.py), a reload (reloader.py) and
an environment switch (env_switch.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from argo_proxy.daemon.config import Config, control_socket_path
from argo_proxy.daemon.convert import warm_up
from argo_proxy.daemon.errors import ConfigError, StartupError
from argo_proxy.daemon.metrics import DaemonMetrics
from argo_proxy.daemon.record_store import RecordStore
from argo_proxy.daemon.serving import RunningServer
from argo_proxy.daemon.state import (
    DaemonState,
    LegacyChanged,
    ModelsRefreshed,
    StateEvent,
    TokenChanged,
)

from .channels import CHANNELS, Channel, ControlMode
from .config_edit import EnvironmentSwitch
from .env_switch import set_environment
from .http_listeners import HttpListeners, warn_if_reachable
from .record_storage import RecordStorage
from .reload import ReloadReport, Trigger
from .reloader import Reloader
from .server import ControlServer
from .watch import ConfigWatcher

__all__ = ["Phase", "Runtime", "RuntimeOptions"]

log = logging.getLogger(__name__)

Phase = Literal["starting", "running", "stopping", "stopped"]


@dataclass(frozen=True)
class RuntimeOptions:
    """How to run, beyond the config: the control channels, and how to re-read config."""

    control: ControlMode = "socket"
    control_socket: Path | None = None  # None: the default (daemon/config.py)
    # Applied over the file at every reload, as at start: command-line options win.
    overrides: Mapping[str, Any] = field(default_factory=dict)
    watch: bool = True
    shutdown_grace: float | None = None  # None: the config's `shutdown_grace`
    # `serve`: the lines to print on stderr once listening, from (listen URL, auth).
    next_steps: Callable[[str, str], list[str]] | None = None


class Runtime:
    """Owns the daemon's parts for one run."""

    def __init__(self, config: Config, options: RuntimeOptions | None = None) -> None:
        self.options = options or RuntimeOptions()
        explicit = self.options.control_socket
        # First: this may refuse the runtime directory (FolderError), before anything opens.
        self.control_socket = control_socket_path(explicit)
        try:
            self.state = DaemonState(config)  # reads or creates the access token
        except ConfigError as exc:
            raise StartupError(exc.message) from exc
        self.metrics = DaemonMetrics(self.state)  # GET /metrics (docs/observability.md)
        self.phase: Phase = "starting"
        self.control = ControlServer(self)
        hint = f" --control-socket {self.control_socket}" if explicit else ""
        self.channels: list[Channel] = [
            make(self.control, self.control_socket, hint, self.request_stop)
            for make in CHANNELS[self.options.control]
        ]
        self.listeners = HttpListeners(self.state, self.metrics)  # TCP, Unix socket, draining
        self.records = RecordStorage(self.state)  # the SQLite record store, when kept
        self.reloader = Reloader(
            self.state, self.options.overrides, self.listeners, self.records, self._spawn
        )
        self.last_reload: ReloadReport | None = None
        self._watcher: ConfigWatcher | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Future[Any]] = []
        self._on_stop: list[Callable[[], Awaitable[None]]] = []
        self._reload_lock = asyncio.Lock()
        self._unsubscribe = self.state.subscribe(self._on_state_event)
        self._unsubscribe_records = self.state.requests.subscribe(self.control.request_finished)
        # The stops of what startup() started, in the order it started them.
        self._started = contextlib.AsyncExitStack()
        self._grace = 0.0  # for requests in flight: shutdown's grace; none when a start fails

    @property
    def config(self) -> Config:
        return self.state.config

    @property
    def server(self) -> RunningServer | None:
        """The TCP listener (None with `tcp: false`)."""
        return self.listeners.tcp

    @property
    def unix_server(self) -> RunningServer | None:
        """The HTTP API on `socket`, if set."""
        return self.listeners.unix

    @property
    def record_store(self) -> RecordStore | None:
        """The SQLite record store (None: `log_retention_days: 0`, or the file is unusable)."""
        return self.records.store

    @property
    def listen_url(self) -> str | None:
        """Where the HTTP server listens now (the real port), or None before it does."""
        return self.server.url if self.server else None

    @property
    def socket_url(self) -> str | None:
        """`unix:PATH` when the HTTP API is also served on a Unix socket."""
        return self.unix_server.url if self.unix_server else None

    @property
    def shutdown_grace(self) -> float:
        chosen = self.options.shutdown_grace
        return self.config.shutdown_grace if chosen is None else chosen

    # -------------------------------------------------------------------- startup

    async def startup(self) -> None:
        warm_up()  # before the first client, not during its request (a few ms)
        async with contextlib.AsyncExitStack() as stops:
            # Pushed in start order, run in reverse: at shutdown, or from wherever a
            # start fails. The last to run comes first.
            stops.push_async_callback(self._release)
            for channel in self.channels:
                await channel.start()
                stops.push_async_callback(channel.close)
            stops.push_async_callback(self.control.close_all)
            stops.callback(self._set_stopped)
            stops.push_async_callback(self._run_stop_hooks)
            # After the instance lock (a second daemon touches nothing), before the
            # listener: requests.list shows the last run's records from the first call.
            self.records.start(restore=True)
            stops.push_async_callback(self.records.stop)  # once every request has ended
            stops.push_async_callback(self._cancel_tasks)
            stops.push_async_callback(self._stop_listeners)
            if self.config.tcp:
                await self.listeners.start_tcp()
            if self.config.socket:
                await self.listeners.start_unix()
            stops.callback(self._stop_accepting)
            self._announce()
            if self.options.watch and self.config.source is not None:
                self._watcher = ConfigWatcher(self.config.source, self._reload_from_watch)
                self._watcher.start()
                stops.push_async_callback(self._watcher.stop)
            self._spawn(self.state.refresh_models())
            self._spawn(
                self.state.registry.run_periodic(
                    self.state.fetch_models, lambda: self.state.config.model_refresh_interval_hours
                )
            )
            self._started = stops.pop_all()  # started: shutdown() unwinds it
        self.phase = "running"
        self.control.state_changed("started")

    def _announce(self) -> None:
        """Listening: freeze what start-up made, and tell the log and the terminal."""
        # What start-up made (libraries, the app, the warmed converters: ~90,000 objects)
        # lives as long as the daemon; frozen, the collector stops walking it on every
        # full collection, which cost tens of µs per request (bench/README.md, recording.py).
        gc.collect()
        gc.freeze()
        warn_if_reachable(self.config)  # before "listening on": what readers wait for
        for server in (self.server, self.unix_server):
            if server is not None:
                log.info("listening on %s (ARGO at %s)", server.url, self.config.argo_base_url)
        if self.config.auth == "token":
            log.info(
                "clients send the access token in %s as their API key: `argo-proxy run -- "
                "COMMAND` sets it up, `argo-proxy token` prints it (docs/security.md)",
                self.config.token_path,
            )
        if self.options.next_steps is not None and self.server is not None:
            # Not logged: for the person at the terminal, not for the log file.
            lines = self.options.next_steps(self.server.url, self.config.auth)
            print("\n".join(lines), file=sys.stderr, flush=True)

    def add_stop_hook(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run `hook` at shutdown, after the HTTP server stopped (reverse order)."""
        self._on_stop.append(hook)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        """Run `coro` in the background until it ends or shutdown cancels it."""
        task = asyncio.ensure_future(coro)
        self._tasks.append(task)
        task.add_done_callback(self._tasks.remove)

    def _on_state_event(self, event: StateEvent) -> None:
        if isinstance(event, ModelsRefreshed):
            self.control.models_refreshed(event)
        elif isinstance(event, TokenChanged):
            log.info("access token changed (%s, %s)", event.reason, event.token_file)
            self.control.token_changed(event)
        elif isinstance(event, LegacyChanged):
            log.info("legacy mode %s (%s)", "on" if event.enabled else "off", event.reason)
            self.control.state_changed(f"legacy mode switched by {event.reason}")

    # --------------------------------------------------------------------- reload

    async def _reload_from_watch(self) -> None:
        if self.phase == "running":
            await self.reload("watch")

    async def reload(self, trigger: Trigger) -> ReloadReport:
        """Re-read the config file and apply it whole, or refuse it whole."""
        async with self._reload_lock:
            listening = self.listen_url
            report = await self.reloader.reload(trigger)
            self.last_reload = report
            self.state.note_reload(report.ok, report.trigger, report.message)
            self.control.config_reloaded(report)
            if self.listen_url != listening:  # told after config.changed: cause, then effect
                self.control.state_changed("listen address changed")
        return report

    async def set_environment(self, env: str) -> EnvironmentSwitch:
        """Point the daemon's config file at ARGO's `env` environment and apply it now
        (control/env_switch.py; raises ConfigError when it cannot)."""
        return await set_environment(
            self.config, self.options.overrides, env, self._reload_lock, self.reload
        )

    # ------------------------------------------------------------------- stopping

    def request_stop(self) -> None:
        """The one way to stop: signals, RPC `shutdown` and stdin EOF all call this."""
        self._stop.set()

    def _on_signal(self) -> None:
        """SIGINT/SIGTERM: stop; a second one while stopping cuts in-flight requests now."""
        if self._stop.is_set() and self.phase == "stopping":
            log.warning("stopping now: in-flight requests are cut")
            self.listeners.hurry(0)
        self.request_stop()

    async def serve(self) -> None:
        await self._stop.wait()

    async def shutdown(self, grace: float | None = None) -> None:
        """Undo startup, newest first: stop accepting, give requests in flight `grace`
        seconds, cancel background work, write the records, close the channels."""
        if self.phase == "stopped":  # stopped already, or its start failed and unwound
            return
        self._grace = self.shutdown_grace if grace is None else grace
        self.phase = "stopping"
        self.control.state_changed("stopping")
        await self._started.aclose()

    # The steps startup() pushes, in the order shutdown runs them.

    def _stop_accepting(self) -> None:
        for channel in self.channels:
            channel.stop_accepting()

    async def _stop_listeners(self) -> None:
        await self.listeners.stop(self._grace)

    async def _cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run_stop_hooks(self) -> None:
        for hook in reversed(self._on_stop):
            await hook()

    def _set_stopped(self) -> None:
        self.phase = "stopped"
        self.control.state_changed("stopped")

    async def _release(self) -> None:
        """Last: the listeners of state events, the metrics, the HTTP client."""
        self._unsubscribe()
        self._unsubscribe_records()
        self.metrics.close()
        await self.state.aclose()

    async def run(self) -> None:
        """startup → serve until SIGINT/SIGTERM or request_stop() → shutdown."""
        loop = asyncio.get_running_loop()
        # Installed before startup, so a signal while starting also stops in order.
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal)
        try:
            await self.startup()
            try:
                await self.serve()
                log.info("stopping (up to %gs for requests in flight)", self.shutdown_grace)
            finally:
                await self.shutdown()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
