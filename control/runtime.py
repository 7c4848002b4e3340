"""One process, one event loop: the HTTP server, the control channels and the config
watcher, started and stopped together (docs/architecture.md#one-process-one-loop).

`Runtime.startup()` takes the control socket (the instance lock), binds the HTTP port
and serves before the model list is fetched (the built-in list answers until the fetch
lands); `serve()` waits for a stop request; `shutdown()` undoes startup in reverse
order. SIGINT, SIGTERM, the `shutdown` method and EOF on stdin all call
`request_stop()`; a second request while stopping cuts the grace period short.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from argo_proxy.daemon.access import AccessGuard
from argo_proxy.daemon.app import create_app
from argo_proxy.daemon.config import (
    Config,
    control_socket_path,
    is_loopback,
    load_config,
    override_of,
)
from argo_proxy.daemon.convert import warm_up
from argo_proxy.daemon.effects import EFFECTS, RESTART_REASONS, effects_of
from argo_proxy.daemon.errors import ArgoProxyError, ConfigError, StartupError
from argo_proxy.daemon.folders import own_folder
from argo_proxy.daemon.metrics import DaemonMetrics
from argo_proxy.daemon.record_store import RecordStore, StoreUnavailable, remove_store_files
from argo_proxy.daemon.serving import (
    RunningServer,
    bind_socket,
    bind_unix_socket,
    start_server,
)
from argo_proxy.daemon.state import (
    DaemonState,
    LegacyChanged,
    ModelsRefreshed,
    StateEvent,
    TokenChanged,
)

from .channels import CHANNELS, Channel, ControlMode
from .config_edit import EnvironmentSwitch, switch_environment
from .reload import ReloadReport, Trigger, diff_configs
from .server import ControlServer
from .watch import ConfigWatcher

__all__ = ["Phase", "Runtime", "RuntimeOptions"]

log = logging.getLogger(__name__)

# After a re-bind the old listener keeps serving the streams it has, up to this long
# (the floor of Sanic's response timeout in daemon/app.py): a stream is not cut for a
# port change.
REBIND_DRAIN = 3600.0
# At a stop, the request records still queued get this long to reach the disk.
STORE_FLUSH_WAIT = 10.0

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
        self.server: RunningServer | None = None  # the TCP listener (None with `tcp: false`)
        self.unix_server: RunningServer | None = None  # the HTTP API on `socket`, if set
        self.last_reload: ReloadReport | None = None
        # Old listeners finishing their streams after a re-bind, each with its drain task.
        self._draining: dict[int, tuple[RunningServer, asyncio.Task[None]]] = {}
        self._watcher: ConfigWatcher | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Future[Any]] = []
        self._on_stop: list[Callable[[], Awaitable[None]]] = []
        self._reload_lock = asyncio.Lock()
        self._unsubscribe = self.state.subscribe(self._on_state_event)
        self._unsubscribe_records = self.state.requests.subscribe(self.control.request_finished)
        # The SQLite record store (None: `log_retention_days: 0`, or the file is unusable).
        self.record_store: RecordStore | None = None
        self._unsubscribe_store: Callable[[], None] = lambda: None

    @property
    def config(self) -> Config:
        return self.state.config

    @property
    def listen_url(self) -> str | None:
        """Where the HTTP server listens now (the real port), or None before it does."""
        return self.server.url if self.server else None

    # -------------------------------------------------------------------- startup

    @property
    def shutdown_grace(self) -> float:
        chosen = self.options.shutdown_grace
        return self.config.shutdown_grace if chosen is None else chosen

    @property
    def socket_url(self) -> str | None:
        """`unix:PATH` when the HTTP API is also served on a Unix socket."""
        return self.unix_server.url if self.unix_server else None

    async def startup(self) -> None:
        started: list[Channel] = []
        warm_up()  # before the first client, not during its request (a few ms)
        try:
            for channel in self.channels:
                await channel.start()
                started.append(channel)
            # After the instance lock (a second daemon touches nothing), before the
            # listener: requests.list shows the last run's records from the first call.
            self._start_store(restore=True)
            if self.config.tcp:
                self.server = await start_server(
                    create_app(self.state, self.metrics), await self._bind()
                )
            if self.config.socket:
                app = create_app(self.state, self.metrics, local_socket=True)
                self.unix_server = await start_server(app, self._bind_unix())
        except BaseException:
            if self.server is not None:
                await self.server.stop(0)
                self.server = None
            await self._stop_store()
            await self._close_channels(started)
            await self.state.aclose()
            raise
        # What start-up made (libraries, the app, the warmed converters: ~90,000 objects)
        # lives as long as the daemon; frozen, the collector stops walking it on every
        # full collection, which cost tens of µs per request (bench/README.md, recording.py).
        gc.collect()
        gc.freeze()
        self._warn_if_reachable(self.config)  # before "listening on": what readers wait for
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
        if self.options.watch and self.config.source is not None:
            self._watcher = ConfigWatcher(self.config.source, self._reload_from_watch)
            self._watcher.start()
        self._spawn(self.state.refresh_models())
        self._spawn(
            self.state.registry.run_periodic(
                self.state.fetch_models, lambda: self.state.config.model_refresh_interval_hours
            )
        )
        self.phase = "running"
        self.control.state_changed("started")

    # ------------------------------------------------------------- record store

    def _start_store(self, *, restore: bool) -> str:
        """Keep request records on disk as `log_retention_days` says; with `restore`,
        put the newest `log_size` of them in the ring. Says what it did."""
        path, days = self.config.records_path, self.config.log_retention_days
        if days == 0:
            if remove_store_files(path):
                log.info("removed %s: log_retention_days is 0, nothing is kept on disk", path)
            return "request records are not kept on disk"
        try:
            store = RecordStore.open(path, days)
        except StoreUnavailable as exc:
            log.warning("request records are kept in memory only: %s", exc)
            return f"request records are kept in memory only: {exc}"
        if restore:
            try:
                self.state.requests.restore(store.history(self.config.log_size))
            except StoreUnavailable as exc:  # new records are still written
                log.warning("the last run's request records are not shown: %s", exc)
        self._unsubscribe_store = self.state.requests.subscribe(store.add)
        store.start()
        self.record_store = store
        return f"request records are kept on disk for {days} days"

    async def _stop_store(self) -> None:
        """Stop listening, write what is queued (bounded wait), close the file."""
        store, self.record_store = self.record_store, None
        if store is not None:
            self._unsubscribe_store()
            await asyncio.to_thread(store.close, STORE_FLUSH_WAIT)

    async def _apply_retention(self, days: int) -> str:
        """A reload changed `log_retention_days`."""
        if days and self.record_store is not None:
            self.record_store.set_retention(days)
            return f"request records are kept on disk for {days} days"
        await self._stop_store()
        return self._start_store(restore=False)

    @staticmethod
    def _warn_if_reachable(config: Config) -> None:
        if config.tcp and not is_loopback(config.host):
            guard = (
                "every API request needs the access token"
                if config.auth == "token"
                else "WITHOUT authentication (allow_insecure_network)"
            )
            log.warning(
                "the daemon listens on %s, which other machines can reach: %s (docs/security.md)",
                config.listen_url,
                guard,
            )

    async def _bind(self) -> socket.socket:
        config = self.config
        try:
            return bind_socket(config.host, config.port)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise StartupError(f"Cannot listen on {config.host}:{config.port}: {exc}") from exc
            url = config.listen_url.replace("://0.0.0.0:", "://127.0.0.1:")
            try:
                health = await self.state.upstream.get_json(
                    f"{url}/health", timeout=2, service="the program on that port"
                )
            except ArgoProxyError:
                health = None
            is_daemon = isinstance(health, dict) and health.get("status") == "healthy"
            if config.port_auto:
                sock = bind_socket(config.host, 0)
                holder = (
                    "another argo-proxy daemon (another user's?)"
                    if is_daemon
                    else "another program"
                )
                log.warning(
                    "port %d on %s is taken by %s; listening on free port %d instead "
                    "(`argo-proxy env`, `argo-proxy run` and the editor extension use it)",
                    config.port,
                    config.host,
                    holder,
                    sock.getsockname()[1],
                )
                return sock
            if is_daemon:
                # We hold our control socket, so that daemon uses another one.
                raise StartupError(
                    f"an argo-proxy daemon already listens on {config.listen_url} (with "
                    "another control socket: reach it with `argo-proxy ctl status "
                    "--control-socket ITS_SOCKET` or `curl "
                    f"{url}/health`); stop it, choose another port with --port, or let "
                    "the daemon pick a free one with --port auto"
                ) from exc
            raise StartupError(
                f"Port {config.port} on {config.host} is in use by another program; "
                "choose another port with --port, or --port auto for any free one."
            ) from exc

    def _bind_unix(self) -> socket.socket:
        path = Path(self.config.socket).expanduser().absolute()
        # As the control socket's: in another user's folder, their socket could take its place.
        own_folder(
            path.parent,
            "the HTTP API socket's folder",
            "another user could put a socket of their own in its place; choose `socket: "
            "PATH` in a folder of your own (docs/security.md#private-folders)",
        )
        try:
            return bind_unix_socket(path)
        except OSError as exc:
            raise StartupError(
                f"Cannot serve the HTTP API on {path}: {exc.strerror or exc}"
            ) from exc

    @staticmethod
    async def _close_channels(channels: list[Channel]) -> None:
        for channel in reversed(channels):
            await channel.close()

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
            report = await self._reload(trigger)
            self.last_reload = report
            self.state.note_reload(report.ok, report.trigger, report.message)
            self.control.config_reloaded(report)
            if self.listen_url != listening:  # told after config.changed: cause, then effect
                self.control.state_changed("listen address changed")
        return report

    def _read_config(self) -> Config:
        source = self.config.source
        try:
            empty = source is not None and source.is_file() and source.stat().st_size == 0
        except OSError:
            empty = False  # load_config says what is wrong with it
        if empty:
            # Some editors truncate before they write: an empty file is a save in progress
            # far more often than a wish for every default.
            raise ConfigError(f"{source}: the file is empty (a save in progress?)")
        return load_config(source, overrides=self.options.overrides)

    async def _reload(self, trigger: Trigger) -> ReloadReport:
        old = self.config
        path = str(old.source.absolute()) if old.source else None
        now = time.time()
        try:
            new = self._read_config()
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
        actions: list[str] = []

        # Steps that can fail come first, and a reload is all or nothing.
        access = None
        if "access" in effects:
            try:
                access = AccessGuard.from_config(new)
            except ConfigError as exc:
                log.error("config not reloaded: %s (the last good config stays)", exc.message)
                return ReloadReport(False, trigger, now, path, exc.message)
        sock = None
        if "rebind" in effects and new.tcp:
            try:
                sock = bind_socket(new.host, new.port)
            except OSError as exc:
                current = self.server
                if exc.errno == errno.EADDRINUSE and current and new.port == current.port:
                    # Only the host changed and our own listener holds the port: moving
                    # would mean a moment with no listener at all, so it waits for a restart.
                    restart.append("host")
                else:
                    message = (
                        f"cannot listen on {new.host}:{new.port}: {exc.strerror or exc}; "
                        f"still listening on {self.listen_url}"
                    )
                    log.error("config not reloaded: %s (the last good config stays)", message)
                    return ReloadReport(False, trigger, now, path, message)

        self.state.apply_config(new, access)  # the swap: requests see the new config
        if sock is not None:
            actions.append(await self._switch_listener(sock))
            self._warn_if_reachable(new)
        if access is not None:
            actions.append(f"access: auth {new.auth}")
        if "models" in effects:
            self._spawn(self.state.refresh_models())
            actions.append("refreshing the model list")
        if "store" in effects:
            actions.append(await self._apply_retention(new.log_retention_days))
        if "log_level" in effects:
            logging.getLogger().setLevel(logging.DEBUG if new.verbose else logging.INFO)
            actions.append(f"log level {'DEBUG' if new.verbose else 'INFO'}")
        for key in restart:
            why = RESTART_REASONS.get(key, "the listener keeps its address until a restart")
            log.warning("config: `%s` takes effect after a restart (%s)", key, why)
        log.info("config reloaded (%s): %s changed", trigger, ", ".join(sorted(keys)))
        message = f"applied: {', '.join(change.key for change in changes)}"
        return ReloadReport(
            True, trigger, now, path, message, changes, tuple(restart), tuple(actions)
        )

    async def set_environment(self, env: str) -> EnvironmentSwitch:
        """Point the daemon's config file at ARGO's `env` environment and apply it now,
        without waiting for the watcher (docs/control.md#switching-environment).

        Raises ConfigError when there is no file to edit, when an option or environment
        variable would keep the old URL anyway, or when the file cannot be written.
        """
        source = self.config.source
        if source is None:
            raise ConfigError(
                "the daemon runs on built-in defaults, without a config file, so there is "
                "no file to switch: create one with `argo-proxy config init` and start the "
                "daemon with it"
            )
        beaten = override_of("argo_base_url", self.options.overrides)
        if beaten is not None:
            raise ConfigError(
                f"the daemon's `argo_base_url` comes from its {beaten}, which wins over the "
                f"config file; {source} was left as it is (restart the daemon without it)"
            )
        async with self._reload_lock:  # not while a reload reads the file
            switch = await asyncio.to_thread(switch_environment, source, env)
        if switch.changed:
            report = await self.reload("rpc")
            if not report.ok:
                raise ConfigError(
                    f"{source} now points at {env}, but the daemon refused the file: "
                    f"{report.message}"
                )
        return switch

    async def _switch_listener(self, sock: Any) -> str:
        """Serve on `sock` from now on; the old listener finishes what it has, then closes."""
        old = self.server
        self.server = await start_server(create_app(self.state, self.metrics), sock)
        log.info("listening on %s", self.server.url)
        if old is not None:
            self._draining[id(old)] = (old, asyncio.ensure_future(self._drain(old)))
        was = f" (was {old.url}; requests in flight there finish first)" if old else ""
        return f"now listening on {self.server.url}{was}"

    async def _drain(self, server: RunningServer) -> None:
        try:
            busy = await server.stop(REBIND_DRAIN)
            log.info("stopped listening on %s%s", server.url, f" ({busy} cut)" if busy else "")
        finally:
            self._draining.pop(id(server), None)

    # ------------------------------------------------------------------- stopping

    def request_stop(self) -> None:
        """The one way to stop: signals, RPC `shutdown` and stdin EOF all call this."""
        self._stop.set()

    def _on_signal(self) -> None:
        """SIGINT/SIGTERM: stop; a second one while stopping cuts in-flight requests now."""
        if self._stop.is_set() and self.phase == "stopping":
            log.warning("stopping now: in-flight requests are cut")
            for server, _ in self._draining.values():
                server.hurry(0)
            for listener in (self.server, self.unix_server):
                if listener is not None:
                    listener.hurry(0)
        self.request_stop()

    async def serve(self) -> None:
        await self._stop.wait()

    async def shutdown(self, grace: float | None = None) -> None:
        grace = self.shutdown_grace if grace is None else grace
        self.phase = "stopping"
        self.control.state_changed("stopping")
        if self._watcher is not None:
            await self._watcher.stop()
        for channel in self.channels:
            channel.stop_accepting()
        await self._stop_http(grace)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._stop_store()  # every request has finished: its record is queued
        for hook in reversed(self._on_stop):
            await hook()
        self.phase = "stopped"
        self.control.state_changed("stopped")
        await self.control.close_all()
        await self._close_channels(self.channels)
        self._unsubscribe()
        self._unsubscribe_records()
        self.metrics.close()
        await self.state.aclose()

    async def _stop_http(self, grace: float) -> None:
        for server, _ in self._draining.values():
            server.hurry(grace)
        servers = [s for s in (self.server, self.unix_server) if s is not None]
        cut = await asyncio.gather(*(server.stop(grace) for server in servers))
        busy = sum(cut)
        log.info("HTTP server stopped%s", f" ({busy} request(s) cut)" if busy else "")
        if self.unix_server is not None:
            with contextlib.suppress(OSError):
                Path(self.unix_server.host).unlink()
        if self._draining:
            drains = [task for _, task in self._draining.values()]
            await asyncio.gather(*drains, return_exceptions=True)

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
