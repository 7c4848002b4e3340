"""The control plane's JSON-RPC methods and notifications, and the clients connected.

Methods (params → result; docs/control.md has the full shapes):

    status          –              → version, pid, listen URL, uptime, config, legacy, counters…
    refresh         –              → the same figures as POST /refresh
    legacy.get      –              → {"enabled"}
    legacy.set      {"enabled"}    → {"enabled", "changed"}
    config.reload   –              → the reload report (ok, message, changes, …)
    config.get      –              → {"path", "config"} with no secret in it
    config.setEnvironment {"env"}  → {"env", "argo_base_url", "path", "changed"}
    token.get       –              → {"auth", "token", "token_file"}
    token.rotate    –              → the same, with a new token already in force
    models.list     –              → {"models": [...]}: each chat model with its limits
    models.catalog  –              → {"source", "models": [...]}: every model and its aliases
    requests.list   {limit, since, model, client, status}  → {"requests": [record, ...]}
    requests.get    {"id"}         → one record
    usage.get       {since, until, by}  → {"since", "until", "by", "rows", "total"}
    route.explain   {body, client, format}  → the rule, model, URL and fallbacks of a body
    shutdown        –              → {"stopping": true}, then the daemon stops

Notifications to every client: `config.changed`, `config.error`, `models.refreshed`,
`state.changed`, `token.changed`, `request.finished`. The channels are the owner's
only (an owner-only socket, or the pipes of the editor that started the daemon), so
the token may cross them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from argo_proxy.daemon import __version__
from argo_proxy.daemon.config import ENVIRONMENTS, Config
from argo_proxy.daemon.errors import (
    ClientRequestError,
    ConfigError,
    ControlActionError,
    ControlRequestError,
    ControlStateError,
)
from argo_proxy.daemon.model_cards import ModelCard, chat_cards
from argo_proxy.daemon.models import CatalogStats, RefreshResult
from argo_proxy.daemon.record_store import RecordStore, StoreUnavailable
from argo_proxy.daemon.records import RequestRecord
from argo_proxy.daemon.request_log import MAX_LIST_LIMIT
from argo_proxy.daemon.route_explain import explain_route
from argo_proxy.daemon.state import DaemonState, ModelsRefreshed, TokenChanged
from argo_proxy.daemon.usage import GROUPINGS, Grouping, UsageTable

from .config_edit import EnvironmentSwitch
from .framing import FrameReader
from .models_command import model_rows
from .periods import parse_time
from .reload import ReloadReport, Trigger
from .rpc import FrameWriter, Handler, RpcConnection

__all__ = [
    "METHODS",
    "NOTIFICATIONS",
    "ControlServer",
    "refresh_payload",
    "reload_payload",
]

log = logging.getLogger(__name__)

METHODS = (
    "status",
    "refresh",
    "legacy.get",
    "legacy.set",
    "config.reload",
    "config.get",
    "config.setEnvironment",
    "token.get",
    "token.rotate",
    "models.list",
    "models.catalog",
    "requests.list",
    "requests.get",
    "usage.get",
    "route.explain",
    "shutdown",
)
NOTIFICATIONS = (
    "config.changed",
    "config.error",
    "models.refreshed",
    "state.changed",
    "token.changed",
    "request.finished",
)

_NEXT_STEP = {
    "starting": "it is still starting; try again in a moment",
    "stopping": "it is stopping; start it again with `argo-proxy serve`",
    "stopped": "it has stopped; start it again with `argo-proxy serve`",
}


# ------------------------------------------------------------------------- payloads


def _stats(stats: CatalogStats, *, full: bool = True) -> dict[str, int]:
    out = {"unique_models": stats.unique_models, "total_aliases": stats.total_aliases}
    if full:
        out.update(chat_models=stats.chat_models, embed_models=stats.embed_models)
    return out


def refresh_payload(result: RefreshResult) -> dict[str, Any]:
    """The body of POST /refresh (docs/control.md#methods), so scripts read one shape."""
    return {
        "status": "ok" if result.ok else "error",
        "message": result.message,
        "previous": _stats(result.previous, full=False),
        "current": _stats(result.current),
    }


def reload_payload(report: ReloadReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "trigger": report.trigger,
        "at": report.at,
        "path": report.path,
        "message": report.message,
        "changes": [{"key": c.key, "old": c.old, "new": c.new} for c in report.changes],
        "restart_needed": list(report.restart_needed),
        "actions": list(report.actions),
    }


def _card_payload(card: ModelCard) -> dict[str, Any]:
    return {
        "id": card.alias,
        "internal_id": card.internal_id,
        "name": card.name,
        "family": card.family,
        "max_input_tokens": card.max_input_tokens,
        "max_output_tokens": card.max_output_tokens,
        "tool_calling": card.tool_calling,
        "image_input": card.image_input,
    }


def _models_refreshed_payload(event: ModelsRefreshed) -> dict[str, Any]:
    return {**refresh_payload(event.result), "source": event.source, "at": event.at}


def _source(config: Config) -> str | None:
    """The config file's absolute path: a client may run in another directory."""
    return str(config.source.absolute()) if config.source else None


class Runtime(Protocol):
    """What the control plane steers: the runtime (control/runtime.py), seen from here
    so that the runtime, which owns this server, is not imported back."""

    state: DaemonState
    control_socket: Path
    last_reload: ReloadReport | None

    @property
    def record_store(self) -> RecordStore | None: ...

    @property
    def phase(self) -> str: ...

    @property
    def listen_url(self) -> str | None: ...

    @property
    def socket_url(self) -> str | None: ...

    async def reload(self, trigger: Trigger) -> ReloadReport: ...

    async def set_environment(self, env: str) -> EnvironmentSwitch: ...

    def request_stop(self) -> None: ...


def _status_payload(runtime: Runtime) -> dict[str, Any]:
    state = runtime.state
    counters = state.counters
    catalog = state.registry.catalog
    refreshed = state.last_refresh
    return {
        "version": __version__,
        "pid": os.getpid(),
        "phase": runtime.phase,
        "listen_url": runtime.listen_url,
        "socket_url": runtime.socket_url,
        "auth": state.config.auth,
        "token_file": str(state.config.token_path) if state.config.auth == "token" else None,
        "control_socket": str(runtime.control_socket),
        "uptime_s": round(time.time() - state.started_at, 1),
        "config_path": _source(state.config),
        "argo_base_url": state.config.argo_base_url,
        "legacy": state.legacy,
        "models": {"source": catalog.source, **_stats(catalog.stats())},
        "counters": {
            "requests": counters.requests,
            "active_streams": counters.active_streams,
            "errors": counters.errors,
        },
        "last_reload": reload_payload(runtime.last_reload) if runtime.last_reload else None,
        # docs/configuration.md#breaker: those open, half-open or failing lately
        "breakers": state.breakers.snapshot(),
        "fallbacks": {model: list(chain) for model, chain in state.config.fallbacks.items()},
        "last_refresh": (
            {"ok": refreshed.ok, "message": refreshed.message, "at": state.last_refresh_at}
            if refreshed
            else None
        ),
    }


# --------------------------------------------------------------------------- params


def _no_params(method: str, params: Any) -> None:
    if params not in (None, {}, []):
        raise ControlRequestError(f"{method} takes no params; got {params!r}")


def _enabled_param(params: Any) -> bool:
    usage = 'legacy.set needs params {"enabled": true} or {"enabled": false}'
    if not isinstance(params, Mapping) or set(params) != {"enabled"}:
        raise ControlRequestError(f"{usage}; got {params!r}")
    enabled = params["enabled"]
    if not isinstance(enabled, bool):
        raise ControlRequestError(f"{usage}; `enabled` was {enabled!r}")
    return enabled


def _env_param(params: Any) -> str:
    names = "|".join(f'"{name}"' for name in ENVIRONMENTS)
    usage = f'config.setEnvironment needs params {{"env": {names}}}'
    if not isinstance(params, Mapping) or set(params) != {"env"}:
        raise ControlRequestError(f"{usage}; got {params!r}")
    env = params["env"]
    if env not in ENVIRONMENTS:
        raise ControlRequestError(f"{usage}; `env` was {env!r}")
    return str(env)


_LIST_KEYS = {"limit", "since", "model", "client", "status"}


def _requests_query(params: Any) -> dict[str, Any]:
    """requests.list's params: {limit, since, model, client, status}, all optional."""
    if params in (None, [], {}):
        params = {}
    if not isinstance(params, Mapping) or not set(params) <= _LIST_KEYS:
        raise ControlRequestError(
            f"requests.list takes params {{{', '.join(sorted(_LIST_KEYS))}}}; got {params!r}"
        )
    limit = params.get("limit", 100)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIST_LIMIT:
        raise ControlRequestError(
            f"`limit` must be a whole number from 1 to {MAX_LIST_LIMIT}; got {limit!r}"
        )
    query: dict[str, Any] = {"limit": limit}
    if params.get("since") is not None:
        query["since"] = parse_time(params["since"], "since")
    for key in ("model", "client", "status"):
        value = params.get(key)
        if value is None:
            continue
        if isinstance(value, int) and key == "status" and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ControlRequestError(f"`{key}` must be a string; got {value!r}")
        query[key] = value
    return query


_USAGE_KEYS = ("since", "until", "by")


def _usage_query(params: Any, now: float) -> tuple[float, float, Grouping]:
    """usage.get's params: {since, until, by}, all optional (docs/control.md#usage)."""
    if params in (None, [], {}):
        params = {}
    if not isinstance(params, Mapping):
        raise ControlRequestError(f"usage.get takes params {{since, until, by}}; got {params!r}")
    for key in params:
        if key not in _USAGE_KEYS:
            raise ControlRequestError(
                f"usage.get has no param `{key}`; it takes `since`, `until` and `by`"
            )
    since = parse_time(
        "today" if params.get("since") is None else params["since"], "since", now=now
    )
    until = now if params.get("until") is None else parse_time(params["until"], "until", now=now)
    by = params.get("by") or "model"
    if by not in GROUPINGS:
        raise ControlRequestError(f"`by` must be one of {', '.join(GROUPINGS)}; got {by!r}")
    if since > until:
        raise ControlRequestError(
            f"`since` must not be after `until`; got since={params.get('since')!r}, "
            f"until={params.get('until')!r}"
        )
    return since, until, by


# --------------------------------------------------------------------------- server


class ControlServer:
    """The method table over one Runtime, and every client connected to it."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._connections: set[RpcConnection] = set()
        self._count = 0
        self.methods: Mapping[str, Handler] = {
            "status": self._status,
            "refresh": self._refresh,
            "legacy.get": self._legacy_get,
            "legacy.set": self._legacy_set,
            "config.reload": self._config_reload,
            "config.get": self._config_get,
            "config.setEnvironment": self._config_set_environment,
            "token.get": self._token_get,
            "token.rotate": self._token_rotate,
            "models.list": self._models_list,
            "models.catalog": self._models_catalog,
            "requests.list": self._requests_list,
            "requests.get": self._requests_get,
            "usage.get": self._usage_get,
            "route.explain": self._route_explain,
            "shutdown": self._shutdown,
        }

    # ----------------------------------------------------------- connections

    async def serve_connection(
        self, kind: str, reader: FrameReader, writer: FrameWriter, *, linger: bool = False
    ) -> None:
        """Serve one client until it closes its side; notifications reach it meanwhile.

        With `linger` the connection stays open for answers and notifications after
        the client's input ends, until `close_all()`: an editor that closes the
        daemon's stdin still reads its stdout while the daemon stops.
        """
        self._count += 1
        connection = RpcConnection(f"{kind}#{self._count}", reader, writer, self.methods)
        self._connections.add(connection)
        log.debug("control client %s connected", connection.name)
        try:
            await connection.serve()
        finally:
            if linger:
                await connection.finish_calls()
            else:
                self._connections.discard(connection)
                await connection.close()
                log.debug("control client %s disconnected", connection.name)

    def broadcast(self, method: str, params: Mapping[str, Any]) -> None:
        """Send a notification to every connected client."""
        for connection in list(self._connections):
            with contextlib.suppress(ConnectionError):
                connection.notify(method, dict(params))

    def models_refreshed(self, event: ModelsRefreshed) -> None:
        self.broadcast("models.refreshed", _models_refreshed_payload(event))

    def state_changed(self, reason: str) -> None:
        runtime = self._runtime
        self.broadcast(
            "state.changed",
            {
                "phase": runtime.phase,
                "legacy": runtime.state.legacy,
                "listen_url": runtime.listen_url,
                "reason": reason,
            },
        )

    def token_changed(self, event: TokenChanged) -> None:
        """Clients that hand the token to tools (the editor) fetch it again."""
        self.broadcast("token.changed", {"token_file": event.token_file, "reason": event.reason})

    def request_finished(self, record: RequestRecord) -> None:
        """Every API request's record, as it is finished (docs/observability.md)."""
        if self._connections:
            self.broadcast("request.finished", record.to_json())

    def config_reloaded(self, report: ReloadReport) -> None:
        """`config.changed` for an applied change, `config.error` for a refused file."""
        if report.ok and report.changes:
            self.broadcast("config.changed", reload_payload(report))
        elif not report.ok:
            self.broadcast(
                "config.error",
                {**reload_payload(report), "kept": "the last good config stays in effect"},
            )

    async def close_all(self) -> None:
        await asyncio.gather(*(c.close() for c in list(self._connections)))

    # --------------------------------------------------------------- methods

    def _require_running(self, method: str) -> None:
        phase = self._runtime.phase
        if phase != "running":
            raise ControlStateError(f"{method} is not possible now: {_NEXT_STEP.get(phase, phase)}")

    async def _status(self, params: Any) -> dict[str, Any]:
        _no_params("status", params)
        return _status_payload(self._runtime)

    async def _refresh(self, params: Any) -> dict[str, Any]:
        _no_params("refresh", params)
        self._require_running("refresh")
        return refresh_payload(await self._runtime.state.refresh_models())

    async def _legacy_get(self, params: Any) -> dict[str, Any]:
        _no_params("legacy.get", params)
        return {"enabled": self._runtime.state.legacy}

    async def _legacy_set(self, params: Any) -> dict[str, Any]:
        enabled = _enabled_param(params)
        self._require_running("legacy.set")
        changed = self._runtime.state.set_legacy(enabled, "legacy.set")
        return {"enabled": self._runtime.state.legacy, "changed": changed}

    async def _config_reload(self, params: Any) -> dict[str, Any]:
        _no_params("config.reload", params)
        self._require_running("config.reload")
        return reload_payload(await self._runtime.reload("rpc"))

    async def _config_get(self, params: Any) -> dict[str, Any]:
        _no_params("config.get", params)
        state = self._runtime.state
        config = state.config.public_dict()
        config["use_legacy_argo"] = state.legacy  # the live flag (legacy.set is not saved)
        del config["source"]
        return {"path": _source(state.config), "config": config}

    async def _config_set_environment(self, params: Any) -> dict[str, Any]:
        env = _env_param(params)
        self._require_running("config.setEnvironment")
        try:
            switch = await self._runtime.set_environment(env)
        except ConfigError as exc:
            raise ControlActionError(exc.message) from exc
        return {
            "env": switch.env,
            "argo_base_url": switch.argo_base_url,
            "path": str(switch.path.absolute()),
            "changed": switch.changed,
        }

    def _token_payload(self) -> dict[str, Any]:
        state = self._runtime.state
        return {
            "auth": state.config.auth,
            "token": state.access.token,
            "token_file": str(state.config.token_path),
        }

    async def _token_get(self, params: Any) -> dict[str, Any]:
        _no_params("token.get", params)
        return self._token_payload()

    async def _token_rotate(self, params: Any) -> dict[str, Any]:
        _no_params("token.rotate", params)
        self._require_running("token.rotate")
        try:
            self._runtime.state.rotate_token()
        except ConfigError as exc:
            raise ControlActionError(exc.message) from exc
        return self._token_payload()

    async def _models_list(self, params: Any) -> dict[str, Any]:
        _no_params("models.list", params)
        catalog = self._runtime.state.registry.catalog
        return {
            "source": catalog.source,
            "models": [_card_payload(card) for card in chat_cards(catalog)],
        }

    async def _models_catalog(self, params: Any) -> dict[str, Any]:
        """Every model, chat and embedding, with all its aliases: the rows that
        `argo-proxy models --json` prints."""
        _no_params("models.catalog", params)
        catalog = self._runtime.state.registry.catalog
        return {"source": catalog.source, "models": model_rows(catalog)}

    async def _requests_list(self, params: Any) -> dict[str, Any]:
        query = _requests_query(params)
        records = self._runtime.state.requests.recent(**query)
        return {"requests": [record.to_json() for record in records]}

    async def _requests_get(self, params: Any) -> dict[str, Any]:
        if not isinstance(params, Mapping) or not isinstance(params.get("id"), str):
            raise ControlRequestError(
                f'requests.get needs params {{"id": "req_..."}}; got {params!r}'
            )
        record = self._runtime.state.requests.get(params["id"])
        if record is None:
            raise ControlActionError(
                f"no request {params['id']!r} among the last "
                f"{self._runtime.state.requests.size} (`log_size` in the config)"
            )
        return record.to_json()

    async def _usage_get(self, params: Any) -> dict[str, Any]:
        """Totals from the SQLite store (the table and its write queue: a request that
        has just finished counts), or from the ring when nothing is kept on disk."""
        table = UsageTable(*_usage_query(params, time.time()))
        store, ring = self._runtime.record_store, self._runtime.state.requests
        if store is None:
            table.add_records(ring.recent(ring.size, since=table.since))
            return table.result()
        try:
            await asyncio.to_thread(store.tally, table)
        except StoreUnavailable as exc:
            raise ControlActionError(f"usage could not be read: {exc}") from exc
        return table.result()

    async def _route_explain(self, params: Any) -> dict[str, Any]:
        """What a chat request would do, without sending it (daemon/route_explain.py)."""
        if not isinstance(params, Mapping) or not isinstance(params.get("body"), Mapping):
            raise ControlRequestError(
                'route.explain needs params {"body": {...}, "client": ..., "format": ...}; '
                f"got {params!r}"
            )
        client, fmt = params.get("client", "unknown"), params.get("format", "openai")
        if not isinstance(client, str) or not isinstance(fmt, str):
            raise ControlRequestError("route.explain: `client` and `format` are names")
        try:
            return explain_route(self._runtime.state, dict(params["body"]), client, fmt)
        except ClientRequestError as exc:  # a bad body, an unknown format or model
            raise ControlRequestError(f"route.explain: {exc.message}") from exc

    async def _shutdown(self, params: Any) -> dict[str, Any]:
        _no_params("shutdown", params)
        # The answer is queued before the stop begins, and closing a connection
        # flushes it, so the client always hears back.
        self._runtime.request_stop()
        return {"stopping": True}
